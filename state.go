package bluegreen

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bluegreen-go/bluegreen/driver"
)

// The Deployer keeps its state of a service in driver.Record.State, as a
// versioned JSON document that stores never interpret. The types below are
// that document; they are unexported so that the engine can change them
// without breaking stores or users. ReadState gives users a stable view.

// stateFormat is the layout of the state document this version writes. A
// document with a higher format was written by a newer version and is
// refused, never half-read.
const stateFormat = 1

// serviceState is the document kept in driver.Record.State.
type serviceState struct {
	Format int `json:"format"`
	// Live is the environment serving production; nil before the first deployment.
	Live *Environment `json:"live,omitempty"`
	// Deployment is the deployment in flight, or the last one to finish.
	Deployment *deployState `json:"deployment,omitempty"`
}

// phase is where a persisted deployment stands as a whole.
type phase string

const (
	phaseRunning     phase = "RUNNING"
	phaseRollingBack phase = "ROLLING_BACK"
	phaseSucceeded   phase = "SUCCEEDED"
	phaseRolledBack  phase = "ROLLED_BACK"
)

func (p phase) finished() bool { return p == phaseSucceeded || p == phaseRolledBack }

// deployState is the persisted state of one deployment: enough for another
// Deployer to find where it stood after a crash and resume it, complete it or
// roll it back.
type deployState struct {
	ID    string `json:"id"`
	Phase phase  `json:"phase"`
	Stage Stage  `json:"stage"`
	// Step is the production traffic step (1-based) reached; 0 before the shift.
	Step  int          `json:"step,omitempty"`
	Blue  *Environment `json:"blue,omitempty"`
	Green Environment  `json:"green"`
	// Adopted is set when blue was found running (Discoverer, Router.Routes)
	// rather than recorded by an earlier deployment.
	Adopted bool `json:"adopted,omitempty"`
	// Routes are the routes this deployment has set, or is about to set: a
	// transition is written here before the router is called.
	Routes Routes `json:"routes"`
	// Before are the routes found in force when the deployment started; a
	// rollback never leaves less than that routed.
	Before Routes `json:"before"`
	// Steps is the resolved production shift schedule.
	Steps    []Step        `json:"steps,omitempty"`
	BakeTime time.Duration `json:"bakeTime,omitempty"`
	// StepStarted is when the current production step's routes were
	// written, so a resumed deployment waits only what is left of the step.
	StepStarted time.Time `json:"stepStarted,omitzero"`
	// BakeUntil is when the bake time ends, once it has begun.
	BakeUntil time.Time `json:"bakeUntil,omitzero"`
	// ShiftDone is set once green has had 100% of production traffic.
	ShiftDone bool `json:"shiftDone,omitempty"`
	// Primary is set once green has been made the backend's primary
	// environment (PrimarySetter), so a rollback makes blue primary again.
	Primary  bool          `json:"primary,omitempty"`
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// Prepared is the Preparer's snapshot, saved before Prepare acts, to be
	// handed back to Restore however the deployment ends.
	Prepared json.RawMessage `json:"prepared,omitempty"`
	Restored bool            `json:"restored,omitempty"`
	// Hooks are the hooks of the current stage still being called back
	// (IN_PROGRESS), so a successor resumes them where they stood.
	Hooks []hookState `json:"hooks,omitempty"`
	// Engine is an Engine's own state of the deployment (the platform's
	// deployment id), so a successor re-attaches to it.
	Engine json.RawMessage `json:"engine,omitempty"`
	// Group is set on the deployments of a release group: on each member's,
	// the group's name; on the group's own record, its members too.
	Group   *groupRef `json:"group,omitempty"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// hookState is a hook that answered IN_PROGRESS, as persisted.
type hookState struct {
	Name     string          `json:"name"`
	Stage    Stage           `json:"stage"`
	Step     int             `json:"step,omitempty"`
	Attempt  int             `json:"attempt"`
	Details  json.RawMessage `json:"details,omitempty"`
	Next     time.Time       `json:"next"`
	Deadline time.Time       `json:"deadline"`
}

// decodeState reads the Deployer's document from rec.
func decodeState(rec driver.Record) (serviceState, error) {
	var s serviceState
	if len(rec.State) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(rec.State, &s); err != nil {
		return serviceState{}, &Error{Code: CodeFailedPrecondition, Service: rec.Service, Op: "decode state",
			Err: fmt.Errorf("the stored state is not a bluegreen state document (%w); look at the record and remove it if it is not the service's", err)}
	}
	if s.Format > stateFormat || s.Format < 1 {
		return serviceState{}, &Error{Code: CodeFailedPrecondition, Service: rec.Service, Op: "decode state",
			Err: fmt.Errorf("the stored state has format %d and this version reads format %d; deploy with the version that wrote it", s.Format, stateFormat)}
	}
	return s, nil
}

func (s serviceState) unfinished() bool {
	return s.Deployment != nil && !s.Deployment.Phase.finished()
}

// Trigger is what started a rollback.
type Trigger string

// Rollback triggers.
const (
	// TriggerHook is a hook that answered FAILED, failed, or timed out with TimeoutRollback.
	TriggerHook Trigger = "HOOK"
	// TriggerMonitor is a monitor that fired (or could not be read).
	TriggerMonitor Trigger = "MONITOR"
	// TriggerHealth is green failing its health checks.
	TriggerHealth Trigger = "HEALTH"
	// TriggerTraffic is a traffic change that failed or could not be verified.
	TriggerTraffic Trigger = "TRAFFIC"
	// TriggerBackend is another backend call that failed for good.
	TriggerBackend Trigger = "BACKEND"
	// TriggerCaller is an explicit Rollback call.
	TriggerCaller Trigger = "CALLER"
	// TriggerCanceled is the caller's context canceled.
	TriggerCanceled Trigger = "CANCELED"
	// TriggerReconcile is a deployment found unfinished by a later Deployer
	// and rolled back in RECONCILE_SERVICE.
	TriggerReconcile Trigger = "RECONCILE"
)

// RollbackInfo says why, where and by whom a deployment was rolled back.
type RollbackInfo struct {
	// Trigger is the kind of cause.
	Trigger Trigger `json:"trigger"`
	// By names the cause: the hook, the monitor, or the caller's reason.
	By string `json:"by,omitempty"`
	// Reason says what happened.
	Reason string `json:"reason"`
	// Stage is the stage at which the rollback started.
	Stage Stage `json:"stage"`
	// Step is the production traffic step at which it started, if any.
	Step int `json:"step,omitempty"`
	// At is when it started.
	At time.Time `json:"at"`
}

// ServiceState is what the store holds about a service, for tools that show
// it (a status command, a dashboard). It is a view: changing it changes
// nothing stored.
type ServiceState struct {
	// Service names the service.
	Service string `json:"service"`
	// Version is the record's version in the store; 0 if there is no record.
	Version int64 `json:"version"`
	// LeaseOwner holds the service's lease until LeaseExpires; empty if free.
	LeaseOwner   string    `json:"leaseOwner,omitempty"`
	LeaseExpires time.Time `json:"leaseExpires,omitzero"`
	// LeaseHeartbeat is set when the owner's heartbeat (see ReplicaKey)
	// keeps the lease held beyond LeaseExpires.
	LeaseHeartbeat bool `json:"leaseHeartbeat,omitempty"`
	// Live is the environment serving production; nil before the first deployment.
	Live *Environment `json:"live,omitempty"`
	// Deployment is the deployment in flight, or the last one to finish.
	Deployment *DeploymentState `json:"deployment,omitempty"`
}

// DeploymentState describes a deployment as the store holds it.
type DeploymentState struct {
	// ID identifies the deployment.
	ID string `json:"id"`
	// Finished is false while the deployment is in flight or was left
	// unfinished by an owner that died.
	Finished bool `json:"finished"`
	// Outcome is how it finished; empty while unfinished.
	Outcome Outcome `json:"outcome,omitempty"`
	// RollingBack is set while an unfinished deployment is rolling back.
	RollingBack bool `json:"rollingBack,omitempty"`
	// Stage and Step are where it stands (or stood when it finished).
	Stage Stage `json:"stage"`
	Step  int   `json:"step,omitempty"`
	// Blue is the environment being replaced; nil on a first deployment.
	Blue *Environment `json:"blue,omitempty"`
	// Green is the environment being deployed.
	Green Environment `json:"green"`
	// Adopted is set when blue was found running rather than recorded.
	Adopted bool `json:"adopted,omitempty"`
	// Routes are the routes it set last (or is about to set).
	Routes Routes `json:"routes"`
	// Rollback says why it was rolled back, once a rollback started.
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// Started and Updated are when it started and when its state was last written.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// view returns the public view of a stored record.
func view(rec driver.Record, s serviceState) ServiceState {
	v := ServiceState{Service: rec.Service, Version: rec.Version, LeaseOwner: rec.Lease.Owner, LeaseExpires: rec.Lease.Expires, LeaseHeartbeat: rec.Lease.Heartbeat, Live: s.Live}
	if d := s.Deployment; d != nil {
		v.Deployment = &DeploymentState{ID: d.ID, Finished: d.Phase.finished(), RollingBack: d.Phase == phaseRollingBack,
			Stage: d.Stage, Step: d.Step, Blue: d.Blue, Green: d.Green, Adopted: d.Adopted, Routes: d.Routes,
			Rollback: d.Rollback, Started: d.Started, Updated: d.Updated}
		switch d.Phase {
		case phaseSucceeded:
			v.Deployment.Outcome = OutcomeSucceeded
		case phaseRolledBack:
			v.Deployment.Outcome = OutcomeRolledBack
		}
	}
	return v
}
