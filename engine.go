package bluegreen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bluegreen-go/bluegreen/driver"
)

// run drives one deployment. Only its goroutine touches its fields (the
// lease renewer of a long backend call excepted, see call); caller commands
// arrive on dep.cmds and are handled between and during waits. No lock is
// held across a backend call.
type run struct {
	d       *Deployer
	dep     *Deployment
	ctx     context.Context
	service string
	clock   Clock
	rev     Revision
	// member, when set, names the service in a release group's events.
	member string
	// eventID, when set, is the id events are reported under: a deployment
	// left unfinished by a dead owner and settled inside a new deployment's
	// RECONCILE_SERVICE reports its events under its own id.
	eventID string
	// group, when set, marks the deployment as a member of a release group
	// (recorded in its state by RECONCILE_SERVICE).
	group *groupRef

	rec      driver.Record // the record as last saved; rec.Version is current
	stateBuf []byte        // the buffer rec.State is encoded in, reused by every save
	ss       serviceState  // the state document of rec
	st       *deployState  // the deployment being driven (ss.Deployment)
	stage    Stage         // the stage events are reported in
	step     int           // the production step events are reported in

	lease         *leaseKeeper // renews the lease during long backend calls
	lastSave      time.Time
	unsaved       bool // an engine reported a stage or routes not saved yet
	nextMonitor   time.Time
	monitorErrs   []int
	inconclusive  map[string]time.Time // monitors answering inconclusive, since when
	rollingBack   bool                 // commands are answered as during a rollback
	cleaning      bool                 // blue's removal has begun: too late to roll back
	cancelHandled bool
	resumed       bool // the position being run was resumed from a dead owner's state
	promoted      bool // the caller skipped the current wait
	inner         bool // settling an earlier deployment inside a new one's RECONCILE_SERVICE: keep the lease
	started       time.Time
}

// rollbackSignal is returned up the stage machine to start a rollback.
type rollbackSignal struct{ info RollbackInfo }

func (s *rollbackSignal) Error() string { return "rollback: " + s.info.Reason }

// abortSignal stops the deployment without touching backends further: the
// lease was lost, state could not be persisted, or the caller detached.
type abortSignal struct{ err error }

func (s *abortSignal) Error() string { return s.err.Error() }
func (s *abortSignal) Unwrap() error { return s.err }

// main runs a new deployment to its end and returns its result.
func (r *run) main() (Result, error) {
	r.started = r.clock.Now()
	err := r.reconcileStage()
	if err == nil {
		err = r.drive(0)
	}
	return r.conclude(err)
}

// conclude turns how the lifecycle ended into the deployment's result: a
// success, a rollback (run now), or a failure.
func (r *run) conclude(err error) (Result, error) {
	var rb *rollbackSignal
	switch {
	case err == nil:
		return r.finish(OutcomeSucceeded, nil)
	case errors.As(err, &rb):
		return r.rollback(rb.info)
	default:
		return r.finish(OutcomeFailed, unwrapAbort(err))
	}
}

// drive runs the deployment's positions from index from to the end.
func (r *run) drive(from int) error {
	ps := schedule(r.st.Steps, r.st.Blue == nil)
	for i, p := range ps[from:] {
		r.resumed = i == 0 && from > 0
		if err := r.runPosition(p); err != nil {
			return err
		}
	}
	r.resumed = false
	return nil
}

// runPosition runs one stage (at one step) from the stage table.
func (r *run) runPosition(p position) error {
	if ok, err := r.enterPosition(p); !ok || err != nil {
		return err
	}
	def := &lifecycle[p.Stage]
	if def.act != nil {
		if err := def.act(r, p); err != nil {
			return err
		}
	}
	if err := r.runHooks(p.Stage, p.Step, false); err != nil {
		return err
	}
	if def.after != nil {
		if err := def.after(r, p); err != nil {
			return err
		}
	}
	r.emit(Event{Kind: EventStageFinished})
	return nil
}

// enterPosition begins position p: it reports a skipped stage (and returns
// false), handles a pending command, records the position (saving it if the
// stage acts) and reports STAGE_STARTED. A release group calls it, and the
// stage's act, hooks and after, for every member in turn (see group.go).
func (r *run) enterPosition(p position) (bool, error) {
	if p.Skip != "" {
		r.stage, r.step = p.Stage, 0
		r.emit(Event{Kind: EventStageSkipped, Reason: p.Skip})
		return false, nil
	}
	if err := r.poll(); err != nil {
		return false, err
	}
	r.stage, r.step = p.Stage, p.Step
	if r.st.Stage != p.Stage || r.st.Step != p.Step {
		r.st.Hooks = nil // IN_PROGRESS hooks of an earlier position are over
	}
	r.st.Stage, r.st.Step = p.Stage, p.Step
	if lifecycle[p.Stage].persist {
		if err := r.persist(); err != nil {
			return false, err
		}
	}
	r.emit(Event{Kind: EventStageStarted})
	return true, nil
}

// prepare (PRE_SCALE_UP) takes the compute backend's snapshot, saves it,
// and only then lets the backend change anything: a successor always finds
// what to restore.
func (r *run) prepare(position) error {
	p, ok := r.d.cfg.Compute.(Preparer)
	if !ok {
		return nil
	}
	green := r.st.Green
	if r.st.Prepared == nil {
		var snap []byte
		if err := r.call(r.d.cfg.Compute, "Compute.Snapshot", func(ctx context.Context) (err error) {
			snap, err = p.Snapshot(ctx, green)
			return err
		}); err != nil {
			return r.fail(TriggerBackend, "Compute.Snapshot", err)
		}
		if snap == nil {
			snap = []byte("null")
		}
		if !json.Valid(snap) {
			return r.fail(TriggerBackend, "Compute.Snapshot", &Error{Code: CodeInvalid, Service: r.service, Stage: r.stage, Op: "Compute.Snapshot",
				Err: fmt.Errorf("the snapshot is not JSON: %.100q", snap)})
		}
		r.st.Prepared = snap
		if err := r.persist(); err != nil {
			return err
		}
	}
	snap := r.st.Prepared
	if err := r.call(r.d.cfg.Compute, "Compute.Prepare", func(ctx context.Context) error {
		return p.Prepare(ctx, green, snap)
	}); err != nil {
		return r.fail(TriggerBackend, "Compute.Prepare", err)
	}
	return nil
}

// scaleUp (SCALE_UP) starts green at full size, with no traffic.
func (r *run) scaleUp(position) error {
	green := r.st.Green
	if err := r.call(r.d.cfg.Compute, "Compute.ScaleUp", func(ctx context.Context) error {
		return r.d.cfg.Compute.ScaleUp(ctx, green)
	}); err != nil {
		return r.fail(TriggerBackend, "Compute.ScaleUp", err)
	}
	return nil
}

// waitGreenHealthy (POST_SCALE_UP) waits for green to pass its health checks.
func (r *run) waitGreenHealthy(position) error { return r.waitHealthy(r.st.Green) }

// shiftTestTraffic (TEST_TRAFFIC_SHIFT) moves the test route to green.
func (r *run) shiftTestTraffic(position) error {
	return r.route(Routes{Production: r.st.Routes.Production, Test: r.st.Green.Slot})
}

// shiftProductionStep (PRODUCTION_TRAFFIC_SHIFT) applies one step's weights.
func (r *run) shiftProductionStep(p position) error {
	to := Routes{Production: Split(r.st.Green.Slot, r.st.Steps[p.Step-1].Green), Test: r.st.Green.Slot}
	if r.st.Routes != to || r.st.StepStarted.IsZero() {
		r.st.StepStarted = r.clock.Now()
	}
	return r.route(to)
}

// bakeStep waits out a production step: monitors checked at once and
// through the step's wait, and the step counts as passed only when no
// monitor is inconclusive.
func (r *run) bakeStep(p position) error {
	if err := r.checkMonitors(); err != nil {
		return err
	}
	if w := r.st.Steps[p.Step-1].Wait; w > 0 {
		// The step's wait runs from now, after its hooks; a successor that
		// resumed at this step waits what is left since its routes were set.
		until := r.clock.Now().Add(w)
		if r.resumed {
			until = r.st.StepStarted.Add(w)
		}
		if err := r.sleep(until, true); err != nil {
			return err
		}
	}
	return r.awaitEvidence()
}

// markShiftDone (POST_PRODUCTION_TRAFFIC_SHIFT) records that green has had
// all production traffic: from then on a crash completes the deployment.
func (r *run) markShiftDone(position) error {
	if r.st.ShiftDone {
		return nil
	}
	r.st.ShiftDone = true
	return r.persist()
}

// bake (BAKE_TIME) keeps both environments running for the bake time, with
// monitors watched. The end of the bake is saved when it begins, so a
// successor waits only what is left of it, monitors watched too.
func (r *run) bake(position) error {
	if r.st.BakeUntil.IsZero() && r.st.BakeTime > 0 {
		r.st.BakeUntil = r.clock.Now().Add(r.st.BakeTime)
		if err := r.persist(); err != nil {
			return err
		}
	}
	if err := r.checkMonitors(); err != nil {
		return err
	}
	if err := r.sleep(r.st.BakeUntil, true); err != nil {
		return err
	}
	return r.awaitEvidence()
}

// cleanUp (CLEAN_UP) makes green primary, removes blue, hands the prepared
// state back and records green as live. Its entry was saved before it acts.
func (r *run) cleanUp(position) error {
	r.cleaning = true
	st := r.st
	if ps, ok := r.d.cfg.Compute.(PrimarySetter); ok {
		green := st.Green
		if err := r.call(r.d.cfg.Compute, "Compute.SetPrimary", func(ctx context.Context) error {
			return ps.SetPrimary(ctx, green)
		}); err != nil {
			return &abortSignal{err}
		}
		st.Primary = true
	}
	if st.Blue != nil {
		blue := *st.Blue
		if err := r.call(r.d.cfg.Compute, "Compute.ScaleDown", func(ctx context.Context) error {
			return r.d.cfg.Compute.ScaleDown(ctx, blue)
		}); err != nil {
			// Green has all traffic and is healthy; a blue that will not go
			// away is left for the next RECONCILE_SERVICE, which completes
			// this deployment.
			return &abortSignal{err}
		}
	}
	if err := r.restore(); err != nil {
		return &abortSignal{err}
	}
	st.Phase = phaseSucceeded
	live := st.Green
	r.ss.Live = &live
	if !r.inner {
		r.releaseLease()
	}
	return r.persist()
}

// route persists routes as the deployment's intent, applies them with one
// router call and waits until the router confirms they are in force.
func (r *run) route(to Routes) error {
	r.st.Routes = to
	if err := r.persist(); err != nil {
		return err
	}
	if err := r.applyRoutes(to); err != nil {
		return r.fail(TriggerTraffic, "Router.SetRoutes", err)
	}
	return nil
}

// applyRoutes calls the router and, if it can, waits for verification.
func (r *run) applyRoutes(to Routes) error {
	if err := r.call(r.d.cfg.Router, "Router.SetRoutes", func(ctx context.Context) error {
		return r.d.cfg.Router.SetRoutes(ctx, r.service, to)
	}); err != nil {
		return err
	}
	rt := to
	r.emit(Event{Kind: EventTrafficShifted, Routes: &rt, DuringRollback: r.rollingBack})
	v, ok := r.d.cfg.Router.(Verifier)
	if !ok {
		return nil
	}
	deadline := r.clock.Now().Add(r.d.cfg.VerifyTimeout)
	for {
		var inForce bool
		if err := r.call(r.d.cfg.Router, "Router.Verify", func(ctx context.Context) (err error) {
			inForce, err = v.Verify(ctx, r.service, to)
			return err
		}); err != nil {
			return err
		}
		if inForce {
			r.emit(Event{Kind: EventTrafficVerified, Routes: &rt, DuringRollback: r.rollingBack})
			return nil
		}
		now := r.clock.Now()
		if !now.Before(deadline) {
			return &Error{Code: CodeTimeout, Service: r.service, Stage: r.stage, Op: "Router.Verify",
				Err: fmt.Errorf("routes %v not in force after %v", to, r.d.cfg.VerifyTimeout)}
		}
		if err := r.pause(min(r.d.cfg.VerifyInterval, deadline.Sub(now))); err != nil {
			return err
		}
	}
}

// waitHealthy polls green's status until it is ready, fails, or runs out of time.
func (r *run) waitHealthy(green Environment) error {
	deadline := r.clock.Now().Add(r.d.cfg.HealthTimeout)
	var last Status
	for first := true; ; first = false {
		var s Status
		if err := r.call(r.d.cfg.Compute, "Compute.Status", func(ctx context.Context) (err error) {
			s, err = r.d.cfg.Compute.Status(ctx, green)
			return err
		}); err != nil {
			return r.fail(TriggerHealth, "Compute.Status", err)
		}
		if first || s != last {
			st := s
			r.emit(Event{Kind: EventHealthChecked, Status: &st})
			last = s
		}
		switch {
		case s.Ready():
			return nil
		case s.Failed:
			return r.rollbackNow(TriggerHealth, green.Revision.Name, "green failed its health checks: "+orNoReason(s.Reason))
		case s.Desired == 0:
			// Nothing will ever start: waiting out the health timeout would
			// only delay the rollback.
			return r.rollbackNow(TriggerHealth, green.Revision.Name,
				"green's desired count is 0, so it can never become healthy: "+orNoReason(s.Reason)+"; give the service a desired count above 0")
		}
		now := r.clock.Now()
		if !now.Before(deadline) {
			return r.rollbackNow(TriggerHealth, green.Revision.Name,
				fmt.Sprintf("green not healthy after %v (%d of %d healthy): %s", r.d.cfg.HealthTimeout, s.Healthy, s.Desired, orNoReason(s.Reason)))
		}
		if err := r.sleep(now.Add(min(r.d.cfg.HealthInterval, deadline.Sub(now))), false); err != nil {
			return err
		}
	}
}

func orNoReason(s string) string {
	if s == "" {
		return "the compute backend gave no reason"
	}
	return s
}

// fail turns a failed backend call into a rollback, or passes on a signal.
func (r *run) fail(t Trigger, op string, err error) error {
	var sig *rollbackSignal
	if errors.As(err, &sig) || isAbort(err) {
		return err
	}
	return r.rollbackNow(t, op, err.Error())
}

func isAbort(err error) bool {
	var ab *abortSignal
	return errors.As(err, &ab)
}

func unwrapAbort(err error) error {
	var ab *abortSignal
	if errors.As(err, &ab) {
		return ab.err
	}
	return err
}

func (r *run) rollbackNow(t Trigger, by, reason string) error {
	return &rollbackSignal{RollbackInfo{Trigger: t, By: by, Reason: reason, Stage: r.stage, Step: r.step, At: r.clock.Now()}}
}

// releaseLease gives the lease up with the next save.
func (r *run) releaseLease() { r.rec.Lease = driver.Lease{} }

// finish records the end of the deployment and builds its result.
func (r *run) finish(o Outcome, err error) (Result, error) {
	if r.lease != nil {
		r.lease.close()
	}
	var rb *RollbackInfo
	if r.st != nil {
		rb = r.st.Rollback
	}
	r.d.metrics.ended(o, rb)
	res := Result{DeploymentID: r.dep.id, Service: r.service, Outcome: o, Live: r.ss.Live, Started: r.started, Finished: r.clock.Now(), Stage: r.stage}
	if r.st != nil {
		res.DeploymentID = r.st.ID
		res.Blue, res.Green, res.Rollback, res.Adopted = r.st.Blue, r.st.Green, r.st.Rollback, r.st.Adopted
	}
	ev := Event{Kind: EventDone, Outcome: o}
	if err != nil {
		ev.Reason = err.Error()
	}
	r.emit(ev)
	if o == OutcomeFailed && err != nil {
		r.d.log.ErrorContext(context.WithoutCancel(r.ctx), "deployment failed", "service", r.service, "error", err.Error())
	}
	return res, err
}
