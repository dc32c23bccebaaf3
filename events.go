package bluegreen

import (
	"context"
	"log/slog"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	// EventStageStarted: the deployment entered Stage (at Step, for the shift stages).
	EventStageStarted EventKind = "STAGE_STARTED"
	// EventStageFinished: the deployment left Stage successfully.
	EventStageFinished EventKind = "STAGE_FINISHED"
	// EventStageSkipped: Stage has no meaning for this deployment (Reason says why).
	EventStageSkipped EventKind = "STAGE_SKIPPED"
	// EventHookCalled: Hook is being called (Attempt counts the calls).
	EventHookCalled EventKind = "HOOK_CALLED"
	// EventHookAnswered: Hook answered HookStatus (Reason says why, if it gave one).
	EventHookAnswered EventKind = "HOOK_ANSWERED"
	// EventHealthChecked: green's Status was read while waiting for it to be healthy.
	EventHealthChecked EventKind = "HEALTH_CHECKED"
	// EventTrafficShifted: the router was told Routes.
	EventTrafficShifted EventKind = "TRAFFIC_SHIFTED"
	// EventTrafficVerified: the router confirmed Routes are in force.
	EventTrafficVerified EventKind = "TRAFFIC_VERIFIED"
	// EventMonitorFired: a monitor (Monitor) reported Alarms.
	EventMonitorFired EventKind = "MONITOR_FIRED"
	// EventMonitorInconclusive: a monitor (Monitor) has not enough evidence
	// yet (Reason says what is missing); the step or bake time waits for it.
	EventMonitorInconclusive EventKind = "MONITOR_INCONCLUSIVE"
	// EventAdopted: RECONCILE_SERVICE found an environment serving
	// production that the store had no record of, and adopted it as blue
	// (Reason says what was found).
	EventAdopted EventKind = "ADOPTED"
	// EventPaused: a pause hook (Hook) holds the deployment at Stage.
	EventPaused EventKind = "PAUSED"
	// EventContinued: the caller (or a timeout with CONTINUE) released a pause.
	EventContinued EventKind = "CONTINUED"
	// EventPromoted: the caller skipped the rest of a wait.
	EventPromoted EventKind = "PROMOTED"
	// EventRetried: a backend call failed with a retryable error and is tried again (Reason).
	EventRetried EventKind = "RETRIED"
	// EventRollbackStarted: a rollback began (Rollback says why).
	EventRollbackStarted EventKind = "ROLLBACK_STARTED"
	// EventRollbackFinished: blue has all traffic again and green is gone.
	EventRollbackFinished EventKind = "ROLLBACK_FINISHED"
	// EventReconciled: RECONCILE_SERVICE settled an unfinished earlier
	// deployment (Reason says whether it was completed or rolled back).
	EventReconciled EventKind = "RECONCILED"
	// EventDone: the deployment ended; Outcome says how. Always the last event.
	EventDone EventKind = "DONE"
)

// Outcome is how a deployment ended.
type Outcome string

// Outcomes.
const (
	// OutcomeSucceeded: green is live, blue is gone.
	OutcomeSucceeded Outcome = "SUCCEEDED"
	// OutcomeRolledBack: blue is live again, green is gone.
	OutcomeRolledBack Outcome = "ROLLED_BACK"
	// OutcomeFailed: the deployment stopped without finishing either way (a
	// rollback that could not complete, a lost lease, a detached deployment).
	// Its state is in the store; the next deployment of the service settles
	// it in RECONCILE_SERVICE.
	OutcomeFailed Outcome = "FAILED"
)

// Event is one entry of a deployment's append-only event log.
type Event struct {
	// Seq numbers the events of a deployment from 1.
	Seq int `json:"seq"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// DeploymentID identifies the deployment.
	DeploymentID string `json:"deploymentId"`
	// Member names the service an event is about in a release group's
	// event log (see Deployer.StartGroup); empty for a single service's.
	Member string `json:"member,omitempty"`
	// Kind says what happened.
	Kind EventKind `json:"kind"`
	// Stage is the stage it happened in.
	Stage Stage `json:"stage,omitempty"`
	// Step is the production traffic step (1-based), if any.
	Step int `json:"step,omitempty"`
	// Hook names the hook of hook, pause and continue events.
	Hook string `json:"hook,omitempty"`
	// Attempt counts the calls of Hook at this stage and step.
	Attempt int `json:"attempt,omitempty"`
	// HookStatus is the hook's answer.
	HookStatus HookStatus `json:"hookStatus,omitempty"`
	// Rollback says why, on rollback events.
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// DuringRollback marks hook and traffic events of a rollback.
	DuringRollback bool `json:"duringRollback,omitempty"`
	// Routes are the routes of traffic events.
	Routes *Routes `json:"routes,omitempty"`
	// Status is green's status, for health events.
	Status *Status `json:"status,omitempty"`
	// Monitor names the monitor of monitor events.
	Monitor string `json:"monitor,omitempty"`
	// Alarms are what a monitor reported.
	Alarms []Alarm `json:"alarms,omitempty"`
	// Outcome is set on EventDone.
	Outcome Outcome `json:"outcome,omitempty"`
	// Reason explains the event in words.
	Reason string `json:"reason,omitempty"`
}

// emit records an event, calls the callbacks and logs it.
func (r *run) emit(ev Event) {
	ev.Time = r.clock.Now()
	if ev.Stage == 0 {
		ev.Stage, ev.Step = r.stage, r.step
	}
	ev.DeploymentID = r.eventID
	if ev.Member == "" {
		ev.Member = r.member
	}
	ev = r.dep.append(ev)
	r.dep.stage.Store(uint32(ev.Stage))
	cb := &r.d.cfg.Callbacks
	switch ev.Kind {
	case EventStageStarted, EventStageFinished, EventStageSkipped:
		call(cb.OnStage, ev)
	case EventHookCalled, EventHookAnswered, EventPaused, EventContinued:
		call(cb.OnHook, ev)
	case EventTrafficShifted, EventTrafficVerified:
		call(cb.OnTraffic, ev)
	case EventRollbackStarted, EventRollbackFinished:
		call(cb.OnRollback, ev)
	}
	call(cb.OnEvent, ev)
	if r.d.log.Enabled(r.ctx, slog.LevelInfo) {
		r.d.log.LogAttrs(context.WithoutCancel(r.ctx), slog.LevelInfo, string(ev.Kind), slog.String("service", r.service),
			slog.String("deployment", ev.DeploymentID), slog.String("stage", ev.Stage.String()),
			slog.Int("step", ev.Step), slog.String("hook", ev.Hook), slog.String("reason", ev.Reason))
	}
}

func call(f func(Event), ev Event) {
	if f != nil {
		f(ev)
	}
}
