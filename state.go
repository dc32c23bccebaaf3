package bluegreen

import (
	"encoding/json"
	"time"
)

// Record is everything persisted about one service: which environment is
// live, who holds the service's lease, and the state of the deployment in
// flight. Lease and state live in one record so that a single
// compare-and-swap changes both.
type Record struct {
	// Service names the service.
	Service string `json:"service"`
	// Version is the stored version, for compare-and-swap; 0 when nothing is
	// stored yet. Stores set it; callers pass back what they loaded.
	Version int64 `json:"version"`
	// Lease is the claim of the deployment in flight, if any.
	Lease Lease `json:"lease,omitzero"`
	// Live is the environment serving production; nil before the first deployment.
	Live *Environment `json:"live,omitempty"`
	// Deployment is the deployment in flight, or the last one to finish.
	Deployment *DeploymentState `json:"deployment,omitempty"`
}

// Phase is where a persisted deployment stands as a whole.
type Phase string

// Deployment phases.
const (
	// PhaseRunning is a deployment going forward.
	PhaseRunning Phase = "RUNNING"
	// PhaseRollingBack is a deployment whose rollback has started.
	PhaseRollingBack Phase = "ROLLING_BACK"
	// PhaseSucceeded is a deployment that finished with green live.
	PhaseSucceeded Phase = "SUCCEEDED"
	// PhaseRolledBack is a deployment that finished with blue live again.
	PhaseRolledBack Phase = "ROLLED_BACK"
)

// Finished reports whether the phase is final.
func (p Phase) Finished() bool { return p == PhaseSucceeded || p == PhaseRolledBack }

// DeploymentState is the persisted state of one deployment: enough for a
// fresh Deployer to find where it stood after a crash and resume it or roll
// it back.
type DeploymentState struct {
	// ID identifies the deployment.
	ID string `json:"id"`
	// Phase is where the deployment stands as a whole.
	Phase Phase `json:"phase"`
	// Stage is the stage the deployment is in (or was in when it finished).
	Stage Stage `json:"stage"`
	// Step is the production traffic step (1-based) reached; 0 before the shift.
	Step int `json:"step,omitempty"`
	// Blue is the environment being replaced; nil on a first deployment.
	Blue *Environment `json:"blue,omitempty"`
	// Green is the environment being deployed.
	Green Environment `json:"green"`
	// Routes are the routes this deployment has set, or is about to set: a
	// transition is written here before the router is called.
	Routes Routes `json:"routes"`
	// Steps is the resolved production shift schedule.
	Steps []Step `json:"steps,omitempty"`
	// BakeTime is the bake time of the deployment.
	BakeTime time.Duration `json:"bakeTime,omitempty"`
	// ShiftDone is set once green has had 100% of production traffic.
	ShiftDone bool `json:"shiftDone,omitempty"`
	// Rollback describes the rollback, once one has started.
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// Prepared is the state returned by the compute backend's Preparer, to be
	// handed back to Restore.
	Prepared json.RawMessage `json:"prepared,omitempty"`
	// Restored is set once Prepared has been handed back to Restore.
	Restored bool `json:"restored,omitempty"`
	// Started is when the deployment started.
	Started time.Time `json:"started"`
	// Updated is when this state was written.
	Updated time.Time `json:"updated"`
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
	// By names the cause: the hook, the alarm, or the caller's reason.
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

// Clone returns a deep copy of r, sharing nothing with it.
func (r Record) Clone() Record {
	r.Live = r.Live.clone()
	if r.Deployment != nil {
		d := *r.Deployment
		d.Blue = d.Blue.clone()
		d.Green = d.Green.cloneValue()
		d.Steps = append([]Step(nil), d.Steps...)
		d.Prepared = cloneRaw(d.Prepared)
		if d.Rollback != nil {
			rb := *d.Rollback
			d.Rollback = &rb
		}
		r.Deployment = &d
	}
	return r
}

func (e *Environment) clone() *Environment {
	if e == nil {
		return nil
	}
	c := e.cloneValue()
	return &c
}

func (e Environment) cloneValue() Environment {
	e.Revision.Spec = cloneRaw(e.Revision.Spec)
	return e
}

func cloneRaw(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
