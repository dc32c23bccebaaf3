package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// run drives one deployment. Only its goroutine touches its fields; caller
// commands arrive on dep.cmds and are handled between and during waits. No
// lock is held across a backend call.
type run struct {
	d       *Deployer
	dep     *Deployment
	ctx     context.Context
	service string
	clock   Clock
	rev     Revision

	rec   Record           // the record as last saved; rec.Version is current
	st    *DeploymentState // the deployment being driven (rec.Deployment)
	stage Stage            // the stage events are reported in
	step  int              // the production step events are reported in

	lastSave      time.Time
	nextMonitor   time.Time
	monitorErrs   []int
	rollingBack   bool // commands are answered as during a rollback
	cleaning      bool // blue's removal has begun: too late to roll back
	cancelHandled bool
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

// main runs the deployment to its end and returns its result.
func (r *run) main() (Result, error) {
	r.started = r.clock.Now()
	err := r.forward()
	var rb *rollbackSignal
	switch {
	case err == nil:
		return r.finish(OutcomeSucceeded, nil)
	case errors.As(err, &rb):
		return r.rollback(rb.info)
	default:
		var ab *abortSignal
		if errors.As(err, &ab) {
			err = ab.err
		}
		return r.finish(OutcomeFailed, err)
	}
}

// forward runs the stages in order. Each stage is persisted before it acts.
func (r *run) forward() error {
	if err := r.reconcileStage(); err != nil {
		return err
	}
	blue, green := r.st.Blue, r.st.Green

	// PRE_SCALE_UP: green not started; blue has all production traffic.
	if err := r.begin(StagePreScaleUp, 0); err != nil {
		return err
	}
	if p, ok := r.d.cfg.Compute.(Preparer); ok {
		var state []byte
		err := r.call(r.d.cfg.Compute, "Compute.Prepare", func(ctx context.Context) (err error) {
			state, err = p.Prepare(ctx, green)
			return err
		})
		if err != nil {
			return r.fail(TriggerBackend, "Compute.Prepare", err)
		}
		r.st.Prepared = state
		if err := r.persist(); err != nil {
			return err
		}
	}
	if err := r.hooksAndEnd(StagePreScaleUp, 0); err != nil {
		return err
	}

	// SCALE_UP: green started at full size, no traffic.
	if err := r.begin(StageScaleUp, 0); err != nil {
		return err
	}
	if err := r.call(r.d.cfg.Compute, "Compute.ScaleUp", func(ctx context.Context) error {
		return r.d.cfg.Compute.ScaleUp(ctx, green)
	}); err != nil {
		return r.fail(TriggerBackend, "Compute.ScaleUp", err)
	}
	r.end(StageScaleUp, 0)

	// POST_SCALE_UP: green running and healthy.
	if err := r.begin(StagePostScaleUp, 0); err != nil {
		return err
	}
	if err := r.waitHealthy(green); err != nil {
		return err
	}
	if err := r.hooksAndEnd(StagePostScaleUp, 0); err != nil {
		return err
	}

	// TEST_TRAFFIC_SHIFT: the test route moves to green.
	if err := r.begin(StageTestTrafficShift, 0); err != nil {
		return err
	}
	if err := r.route(Routes{Production: r.st.Routes.Production, Test: green.Slot}); err != nil {
		return err
	}
	if err := r.hooksAndEnd(StageTestTrafficShift, 0); err != nil {
		return err
	}
	if err := r.begin(StagePostTestTrafficShift, 0); err != nil {
		return err
	}
	if err := r.hooksAndEnd(StagePostTestTrafficShift, 0); err != nil {
		return err
	}

	// PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT, at every step.
	for i, st := range r.st.Steps {
		step := i + 1
		if err := r.begin(StagePreProductionTrafficShift, step); err != nil {
			return err
		}
		if err := r.hooksAndEnd(StagePreProductionTrafficShift, step); err != nil {
			return err
		}
		if err := r.begin(StageProductionTrafficShift, step); err != nil {
			return err
		}
		if err := r.route(Routes{Production: Split(green.Slot, st.Green), Test: green.Slot}); err != nil {
			return err
		}
		if err := r.runHooks(StageProductionTrafficShift, step, false); err != nil {
			return err
		}
		if err := r.checkMonitors(); err != nil {
			return err
		}
		if st.Wait > 0 {
			if err := r.sleep(r.clock.Now().Add(st.Wait), true); err != nil {
				return err
			}
		}
		r.end(StageProductionTrafficShift, step)
	}
	r.st.ShiftDone = true
	r.step = 0

	// POST_PRODUCTION_TRAFFIC_SHIFT: green has all production traffic; blue still runs.
	if err := r.begin(StagePostProductionTrafficShift, 0); err != nil {
		return err
	}
	if err := r.hooksAndEnd(StagePostProductionTrafficShift, 0); err != nil {
		return err
	}

	// BAKE_TIME: both run; monitors watched; rollback is one router call.
	if blue == nil {
		r.skip(StageBakeTime, "first deployment: there is no blue to return to")
	} else {
		if err := r.begin(StageBakeTime, 0); err != nil {
			return err
		}
		if err := r.checkMonitors(); err != nil {
			return err
		}
		if r.st.BakeTime > 0 {
			if err := r.sleep(r.clock.Now().Add(r.st.BakeTime), true); err != nil {
				return err
			}
		}
		r.end(StageBakeTime, 0)
	}

	// CLEAN_UP: blue drained and removed; green recorded as live.
	if err := r.begin(StageCleanUp, 0); err != nil {
		return err
	}
	r.cleaning = true
	if blue != nil {
		if err := r.call(r.d.cfg.Compute, "Compute.ScaleDown", func(ctx context.Context) error {
			return r.d.cfg.Compute.ScaleDown(ctx, *blue)
		}); err != nil {
			// Green has all traffic and is healthy; a blue that will not go
			// away is left for the next deployment's RECONCILE_SERVICE.
			return &abortSignal{err}
		}
	}
	if err := r.restore(); err != nil {
		return &abortSignal{err}
	}
	r.st.Phase = PhaseSucceeded
	live := green
	r.rec.Live = &live
	r.rec.Lease = Lease{}
	if err := r.persist(); err != nil {
		return err
	}
	r.end(StageCleanUp, 0)
	return nil
}

// reconcileStage runs RECONCILE_SERVICE: it settles an unfinished earlier
// deployment, finds where traffic really goes, and persists the new
// deployment's first state.
func (r *run) reconcileStage() error {
	r.stage = StageReconcileService
	r.emit(Event{Kind: EventStageStarted})
	if old := r.rec.Deployment; old != nil && !old.Phase.Finished() {
		if err := r.settle(old); err != nil {
			return &abortSignal{err}
		}
	}
	var cur Routes
	if err := r.call(r.d.cfg.Router, "Router.Routes", func(ctx context.Context) (err error) {
		cur, err = r.d.cfg.Router.Routes(ctx, r.service)
		return err
	}); err != nil {
		return &abortSignal{err}
	}
	blue := r.rec.Live
	greenSlot := SlotA
	if blue != nil {
		greenSlot = blue.Slot.Other()
	} else if !cur.Production.Empty() && cur.Production.A > 0 {
		greenSlot = SlotB
	}
	if w := cur.Production.Of(greenSlot); w > 0 {
		return &abortSignal{&Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: "Router.Routes",
			Err: fmt.Errorf("the router sends %v of production traffic to slot %s, where green would start, but the store records no live environment there; route all traffic to the live slot (or nothing, before a first deployment) and deploy again", w, greenSlot)}}
	}
	now := r.clock.Now()
	r.st = &DeploymentState{
		ID: r.dep.id, Phase: PhaseRunning, Stage: StageReconcileService,
		Blue:   blue,
		Green:  Environment{Service: r.service, Slot: greenSlot, Revision: r.rev, DeploymentID: r.dep.id},
		Routes: cur, Steps: r.d.steps, BakeTime: r.d.cfg.BakeTime, Started: now,
	}
	if blue == nil {
		// Without blue there is nothing to share traffic with: one step.
		r.st.Steps = []Step{{Green: Full}}
		r.st.BakeTime = 0
	}
	if err := r.persist(); err != nil {
		return err
	}
	return r.hooksAndEnd(StageReconcileService, 0)
}

// begin enters a stage: it handles a command that arrived since the last
// wait, persists the stage if the stage is about to act on a backend, and
// reports it. Stages that only run hooks or wait are recorded with the next
// save (the traffic stages save their routes before calling the router), so
// a deployment costs a store write per action, not per stage.
func (r *run) begin(s Stage, step int) error {
	if err := r.poll(); err != nil {
		return err
	}
	r.stage, r.step = s, step
	r.st.Stage, r.st.Step = s, max(step, r.st.Step)
	if persistOnEntry[s] {
		if err := r.persist(); err != nil {
			return err
		}
	}
	r.emit(Event{Kind: EventStageStarted})
	return nil
}

// persistOnEntry marks the stages whose entry is saved before they act:
// SCALE_UP starts green, POST_PRODUCTION_TRAFFIC_SHIFT records that green
// had all production traffic (so that a crash from then on completes the
// deployment), and CLEAN_UP removes blue.
var persistOnEntry = [numStages + 1]bool{
	StageScaleUp:                    true,
	StagePostProductionTrafficShift: true,
	StageCleanUp:                    true,
}

func (r *run) hooksAndEnd(s Stage, step int) error {
	if err := r.runHooks(s, step, false); err != nil {
		return err
	}
	r.end(s, step)
	return nil
}

func (r *run) end(s Stage, step int) {
	r.emit(Event{Kind: EventStageFinished, Stage: s, Step: step})
}

func (r *run) skip(s Stage, reason string) {
	r.stage, r.step = s, 0
	r.emit(Event{Kind: EventStageSkipped, Reason: reason})
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
			return r.rollbackNow(TriggerHealth, green.Revision.Name, "green failed its health checks: "+s.Reason)
		}
		now := r.clock.Now()
		if !now.Before(deadline) {
			return r.rollbackNow(TriggerHealth, green.Revision.Name,
				fmt.Sprintf("green not healthy after %v (%d of %d healthy): %s", r.d.cfg.HealthTimeout, s.Healthy, s.Desired, s.Reason))
		}
		if err := r.sleep(now.Add(min(r.d.cfg.HealthInterval, deadline.Sub(now))), false); err != nil {
			return err
		}
	}
}

// checkMonitors asks every monitor once. Any alarm rolls back, as do
// MonitorErrorLimit consecutive failures of one monitor.
func (r *run) checkMonitors() error {
	mons := r.d.cfg.Monitors
	if len(mons) == 0 {
		return nil
	}
	if r.monitorErrs == nil {
		r.monitorErrs = make([]int, len(mons))
	}
	r.nextMonitor = r.clock.Now().Add(r.d.cfg.MonitorInterval)
	in := MonitorInput{DeploymentID: r.dep.id, Started: r.st.Started, Stage: r.stage, Blue: r.st.Blue, Green: r.st.Green, Routes: r.st.Routes}
	for i, m := range mons {
		var alarms []Alarm
		err := r.call(m, "Monitor.Check", func(ctx context.Context) (err error) {
			alarms, err = m.Check(ctx, in)
			return err
		})
		if err != nil {
			var sig *rollbackSignal
			if errors.As(err, &sig) || isAbort(err) {
				return err
			}
			r.monitorErrs[i]++
			r.emit(Event{Kind: EventRetried, Reason: err.Error()})
			if r.monitorErrs[i] >= r.d.cfg.MonitorErrorLimit {
				return r.rollbackNow(TriggerMonitor, fmt.Sprintf("monitor %d", i),
					fmt.Sprintf("monitor failed %d checks in a row: %v", r.monitorErrs[i], err))
			}
			continue
		}
		r.monitorErrs[i] = 0
		if len(alarms) > 0 {
			r.emit(Event{Kind: EventMonitorFired, Alarms: alarms})
			by, reason := alarms[0].Name, alarms[0].Reason
			if reason == "" {
				reason = "alarm " + by + " fired"
			}
			return r.rollbackNow(TriggerMonitor, by, reason)
		}
	}
	return nil
}

// monitoring reports whether monitors are to be watched: once green has
// production traffic.
func (r *run) monitoring() bool {
	return len(r.d.cfg.Monitors) > 0 && !r.rollingBack && r.st != nil && r.st.Routes.Production.Of(r.st.Green.Slot) > 0
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

func (r *run) rollbackNow(t Trigger, by, reason string) error {
	return &rollbackSignal{RollbackInfo{Trigger: t, By: by, Reason: reason, Stage: r.stage, Step: r.step, At: r.clock.Now()}}
}

// emit records an event, calls the callbacks and logs it.
func (r *run) emit(ev Event) {
	ev.Time = r.clock.Now()
	if ev.Stage == 0 {
		ev.Stage, ev.Step = r.stage, r.step
	}
	ev = r.dep.append(ev)
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
		r.d.log.LogAttrs(r.ctx, slog.LevelInfo, string(ev.Kind), slog.String("service", r.service),
			slog.String("deployment", ev.DeploymentID), slog.String("stage", ev.Stage.String()),
			slog.Int("step", ev.Step), slog.String("hook", ev.Hook), slog.String("reason", ev.Reason))
	}
}

func call(f func(Event), ev Event) {
	if f != nil {
		f(ev)
	}
}

// finish records the end of the deployment and builds its result.
func (r *run) finish(o Outcome, err error) (Result, error) {
	res := Result{DeploymentID: r.dep.id, Service: r.service, Outcome: o, Live: r.rec.Live, Started: r.started, Finished: r.clock.Now(), Stage: r.stage}
	if r.st != nil {
		res.Blue, res.Green, res.Rollback = r.st.Blue, r.st.Green, r.st.Rollback
	}
	ev := Event{Kind: EventDone, Outcome: o}
	if err != nil {
		ev.Reason = err.Error()
	}
	r.emit(ev)
	if o == OutcomeFailed && err != nil {
		r.d.log.LogAttrs(context.Background(), slog.LevelError, "deployment failed", slog.String("service", r.service), slog.String("error", err.Error()))
	}
	return res, err
}
