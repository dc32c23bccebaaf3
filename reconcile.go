package bluegreen

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// This file is RECONCILE_SERVICE: what a deployment finds when it starts
// (an unfinished deployment of a dead owner, something already serving that
// the store has no record of) and what it does about it, and
// Deployer.Reconcile, which settles a service without deploying anything.

// reconcileStage runs RECONCILE_SERVICE of a new deployment: it settles an
// unfinished earlier deployment, finds what serves production (adopting it
// as blue when the store has no record of it), and persists the new
// deployment's first state before anything else acts.
func (r *run) reconcileStage() error {
	r.stage, r.step = StageReconcileService, 0
	r.emit(Event{Kind: EventStageStarted})
	if old := r.ss.Deployment; old != nil && !old.Phase.finished() {
		if err := r.settleInside(old); err != nil {
			return err
		}
	}
	blue, adopted, cur, greenSlot, err := r.findBlue()
	if err != nil {
		return r.refuse(err)
	}
	r.st = &deployState{
		ID: r.dep.id, Phase: phaseRunning, Stage: StageReconcileService,
		Blue: blue, Adopted: adopted,
		Green:  Environment{Service: r.service, Slot: greenSlot, Revision: r.rev, DeploymentID: r.dep.id},
		Routes: cur, Before: cur, Steps: r.d.steps, BakeTime: r.d.cfg.BakeTime, Started: r.clock.Now(),
		Group: r.group,
	}
	if blue == nil {
		// Without blue there is nothing to share traffic with: one step.
		r.st.Steps = []Step{{Green: Full}}
		r.st.BakeTime = 0
	}
	if adopted {
		r.ss.Live = blue
	}
	r.ss.Deployment = r.st
	if err := r.persist(); err != nil {
		return err
	}
	if adopted {
		r.emit(Event{Kind: EventAdopted, Reason: fmt.Sprintf("adopted %s, serving %v, as blue: the store had no record of it", blue, cur.Production)})
	}
	if err := r.runHooks(StageReconcileService, 0, false); err != nil {
		return err
	}
	r.emit(Event{Kind: EventStageFinished})
	return nil
}

// refuse ends RECONCILE_SERVICE without acting: the lease is given back at
// once, so the caller can settle the service and deploy again.
func (r *run) refuse(err error) error {
	r.releaseLease()
	if perr := r.persist(); perr != nil {
		return perr
	}
	return &abortSignal{err}
}

// findBlue finds the environment that serves production now: the live one
// the store records, or, when it records none, what the router and the
// compute backend (Discoverer) report, adopted as blue. It refuses, naming
// what it found, whenever the new green's slot is not free or what serves
// cannot be told apart.
func (r *run) findBlue() (blue *Environment, adopted bool, cur Routes, greenSlot Slot, err error) {
	if err := r.call(r.d.cfg.Router, "Router.Routes", func(ctx context.Context) (err error) {
		cur, err = r.d.cfg.Router.Routes(ctx, r.service)
		return err
	}); err != nil {
		return nil, false, cur, "", unwrapAbort(err)
	}
	precondition := func(format string, args ...any) error {
		return &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: "adopt", Err: fmt.Errorf(format, args...)}
	}
	if live := r.ss.Live; live != nil {
		if w := cur.Production.Of(live.Slot.Other()); w > 0 {
			return nil, false, cur, "", precondition("the router sends %v of production traffic to slot %s, where green would start, but the store records %s as live; route all production traffic to slot %s and deploy again",
				w, live.Slot.Other(), live, live.Slot)
		}
		return live, false, cur, live.Slot.Other(), nil
	}

	var found []Found
	if disc, ok := r.d.cfg.Compute.(Discoverer); ok {
		if err := r.call(r.d.cfg.Compute, "Compute.Discover", func(ctx context.Context) (err error) {
			found, err = disc.Discover(ctx, r.service)
			return err
		}); err != nil {
			return nil, false, cur, "", unwrapAbort(err)
		}
	}
	inSlot := func(s Slot) []Found {
		var out []Found
		for _, f := range found {
			if f.Environment.Slot == s && (f.Status.Desired > 0 || f.Status.Running > 0) {
				out = append(out, f)
			}
		}
		return out
	}
	prod := cur.Production
	switch {
	case prod.Empty():
		// Nothing is routed: a first deployment. Green takes a slot where
		// nothing runs; what runs elsewhere is not the router's and is left alone.
		a, b := inSlot(SlotA), inSlot(SlotB)
		if len(a) > 0 && len(b) > 0 {
			return nil, false, cur, "", precondition("no production traffic is routed, but environments run in both slots (%s; %s), so there is no free slot for green; remove one of them and deploy again",
				describe(a), describe(b))
		}
		if len(a) > 0 {
			return nil, false, cur, SlotB, nil
		}
		return nil, false, cur, SlotA, nil
	case prod.A > 0 && prod.B > 0:
		return nil, false, cur, "", precondition("production traffic is split (%v to slot A, %v to slot B) and the store has no record of a deployment; route all production traffic to one slot (the one that should stay live) and deploy again",
			prod.A, prod.B)
	}
	live := SlotA
	if prod.B > 0 {
		live = SlotB
	}
	if other := inSlot(live.Other()); len(other) > 0 {
		return nil, false, cur, "", precondition("found %s where green would start; it takes no production traffic and no deployment records it: remove it and deploy again",
			describe(other))
	}
	candidates := inSlot(live)
	var pick *Found
	for i := range candidates {
		if candidates[i].Primary {
			pick = &candidates[i]
		}
	}
	switch {
	case pick != nil:
	case len(candidates) == 1:
		pick = &candidates[0]
	case len(candidates) > 1:
		return nil, false, cur, "", precondition("several environments run in slot %s, which takes all production traffic, and none is primary (%s); keep one of them and deploy again",
			live, describe(candidates))
	case pick == nil:
		// The router sends production to a slot where the compute backend
		// finds nothing (or cannot look): there is no environment to adopt
		// or remove, so this is a first deployment, into the other slot. A
		// rollback puts the routes found back (deployState.Before).
		return nil, false, cur, live.Other(), nil
	}
	env := pick.Environment
	env.Service, env.Slot = r.service, live
	if len(env.Revision.Spec) > 0 && !json.Valid(env.Revision.Spec) {
		env.Revision.Spec = nil // the backend's description of it; the name identifies it
	}
	return &env, true, cur, live.Other(), nil
}

// describe lists found environments for an error message.
func describe(fs []Found) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s (%d of %d healthy)", f.Environment, f.Status.Healthy, f.Status.Desired)
	}
	return strings.Join(parts, ", ")
}

// decide returns whether an unfinished deployment is to be settled forward
// (resumed from where it stood) or rolled back, per the policy, after
// asking the compute backend where things really stand: the side it would
// keep must be healthy, or the other side is kept instead; if neither is,
// it refuses and changes nothing.
func (r *run) decide(old *deployState, policy ReconcilePolicy) (forward bool, err error) {
	switch policy {
	case ReconcileRollback:
		forward = false
	case ReconcileResume:
		forward = old.Phase == phaseRunning
	default:
		forward = old.Phase == phaseRunning && old.ShiftDone
	}
	if old.Blue == nil {
		return forward, nil
	}
	// Once SCALE_UP has begun, going forward needs a healthy green: a green
	// half started by a dead owner is rolled back, not waited for, as
	// nothing has moved to it yet.
	greenNeeded := forward && old.Stage >= StageScaleUp
	blueOK, err := r.ready(*old.Blue)
	if err != nil {
		return false, err
	}
	greenOK := true
	if greenNeeded || !blueOK {
		if greenOK, err = r.ready(old.Green); err != nil {
			return false, err
		}
	}
	switch {
	case !blueOK && !greenOK:
		return false, &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: "settle",
			Err: fmt.Errorf("deployment %s was left at %s and neither blue (%s) nor green (%s) is healthy; restore one of them and deploy again", old.ID, old.Stage, old.Blue, old.Green)}
	case forward && greenNeeded && !greenOK:
		return false, nil
	case !forward && !blueOK:
		return old.Phase == phaseRunning || greenOK, nil
	}
	return forward, nil
}

// ready reports whether env runs and passes its health checks now.
func (r *run) ready(env Environment) (bool, error) {
	var s Status
	err := r.call(r.d.cfg.Compute, "Compute.Status", func(ctx context.Context) (err error) {
		s, err = r.d.cfg.Compute.Status(ctx, env)
		return err
	})
	return s.Ready(), unwrapAbort(err)
}

// settleInside settles an unfinished deployment left by a dead owner inside
// a new deployment's RECONCILE_SERVICE. Its events are reported under its
// own id. By default it is completed if green already had all production
// traffic (the rest of its bake time, monitors watched, then clean-up), and
// rolled back otherwise; ReconcileResume resumes it from its step.
func (r *run) settleInside(old *deployState) error {
	forward, err := r.decide(old, r.d.cfg.Reconcile)
	if err != nil {
		return r.refuse(err)
	}
	c := &run{d: r.d, dep: r.dep, ctx: r.ctx, service: r.service, clock: r.clock, eventID: old.ID,
		rec: r.rec, ss: r.ss, st: old, lastSave: r.lastSave, started: r.started, inner: true, cancelHandled: r.cancelHandled,
		stage: StageReconcileService}
	defer func() {
		r.rec, r.ss, r.lastSave, r.ctx, r.cancelHandled = c.rec, c.ss, c.lastSave, c.ctx, c.cancelHandled
		r.stage, r.step = StageReconcileService, 0
	}()
	if forward {
		err = c.drive(resumeAt(schedule(old.Steps, old.Blue == nil), old.Stage, old.Step))
		if err == nil {
			r.emit(Event{Kind: EventReconciled, Reason: fmt.Sprintf("completed deployment %s, left at %s", old.ID, old.Stage)})
			return nil
		}
		sig, ok := err.(*rollbackSignal)
		if !ok {
			return err
		}
		old.Rollback = &sig.info
	}
	if err := c.rollBackOld(old); err != nil {
		return err
	}
	r.emit(Event{Kind: EventReconciled, Reason: fmt.Sprintf("rolled back deployment %s, left at %s", old.ID, old.Stage)})
	return nil
}

// rollBackOld rolls an unfinished deployment back, reporting its rollback
// events, without ending the run.
func (r *run) rollBackOld(old *deployState) error {
	if old.Rollback == nil {
		old.Rollback = &RollbackInfo{Trigger: TriggerReconcile, By: old.ID, Stage: old.Stage, Step: old.Step, At: r.clock.Now(),
			Reason: fmt.Sprintf("deployment %s was left unfinished at %s by its owner", old.ID, old.Stage)}
	}
	old.Phase = phaseRollingBack
	info := *old.Rollback
	r.emit(Event{Kind: EventRollbackStarted, Rollback: &info, Reason: info.Reason})
	r.rollingBack = true
	defer func() { r.rollingBack = false }()
	if err := r.undo(old); err != nil {
		return err
	}
	r.emit(Event{Kind: EventRollbackFinished, Rollback: &info})
	return nil
}

// reconcileMain is the lifecycle of Deployer.Reconcile: RECONCILE_SERVICE
// decides, then the unfinished deployment is resumed from where it stood
// (its remaining steps, the rest of its bake time with monitors watched, a
// hook still IN_PROGRESS with its attempt, details and deadline) or rolled
// back, with the same events, result and errors as Deploy.
func (r *run) reconcileMain() (Result, error) {
	r.started = r.clock.Now()
	r.stage, r.step = StageReconcileService, 0
	r.emit(Event{Kind: EventStageStarted})
	old := r.st
	policy := r.d.cfg.Reconcile
	if policy == ReconcileDefault || policy == ReconcileRefuse {
		policy = ReconcileResume // settling is what the caller asked for
	}
	forward, err := r.decide(old, policy)
	if err != nil {
		return r.conclude(r.refuse(err))
	}
	r.emit(Event{Kind: EventStageFinished, Reason: map[bool]string{true: "resuming from " + old.Stage.String(), false: "rolling back"}[forward]})
	if !forward {
		info := RollbackInfo{Trigger: TriggerReconcile, By: old.ID, Stage: old.Stage, Step: old.Step, At: r.clock.Now(),
			Reason: fmt.Sprintf("deployment %s was left unfinished at %s by its owner", old.ID, old.Stage)}
		if old.Rollback != nil {
			info = *old.Rollback
		}
		return r.rollback(info)
	}
	return r.conclude(r.drive(resumeAt(schedule(old.Steps, old.Blue == nil), old.Stage, old.Step)))
}
