package bluegreen

import (
	"context"
	"fmt"
)

// rollback returns production and test traffic to blue with one router
// call, runs the traffic-shift hooks again (told it is a rollback; they
// cannot stop it), removes green, and records blue as live.
func (r *run) rollback(info RollbackInfo) (Result, error) {
	r.rollingBack = true
	st := r.st
	st.Phase = PhaseRollingBack
	st.Rollback = &info
	if err := r.persist(); err != nil {
		return r.finish(OutcomeFailed, unwrapAbort(err))
	}
	inf := info
	r.emit(Event{Kind: EventRollbackStarted, Rollback: &inf, Reason: info.Reason})
	if err := r.undo(st, true); err != nil {
		return r.finish(OutcomeFailed, err)
	}
	inf2 := info
	r.emit(Event{Kind: EventRollbackFinished, Rollback: &inf2})
	res, _ := r.finish(OutcomeRolledBack, nil)
	return res, &RollbackError{Service: r.service, Info: info}
}

// undo performs the rollback of st: traffic to blue, rollback hooks, green
// removed, prepared state restored, blue recorded as live. Each step is
// idempotent, so a rollback interrupted by a crash is finished by the next
// deployment's RECONCILE_SERVICE.
func (r *run) undo(st *DeploymentState, release bool) error {
	back := Routes{}
	if st.Blue != nil {
		back = Routes{Production: AllTo(st.Blue.Slot), Test: st.Blue.Slot}
	}
	shifted := st.Stage >= StageTestTrafficShift || st.Routes != back
	if shifted {
		st.Routes = back
		if err := r.persist(); err != nil {
			return unwrapAbort(err)
		}
		if err := r.applyRoutes(back); err != nil {
			return unwrapAbort(err)
		}
		if st.Stage >= StageTestTrafficShift {
			for _, s := range []Stage{StageTestTrafficShift, StageProductionTrafficShift} {
				if s > st.Stage {
					continue
				}
				if err := r.runHooks(s, 0, true); err != nil {
					return unwrapAbort(err)
				}
			}
		}
	}
	if err := r.call(r.d.cfg.Compute, "Compute.ScaleDown", func(ctx context.Context) error {
		return r.d.cfg.Compute.ScaleDown(ctx, st.Green)
	}); err != nil {
		return unwrapAbort(err)
	}
	if err := r.restore(); err != nil {
		return unwrapAbort(err)
	}
	st.Phase = PhaseRolledBack
	r.rec.Live = st.Blue
	if release {
		r.rec.Lease = Lease{}
	}
	if err := r.persist(); err != nil {
		return unwrapAbort(err)
	}
	return nil
}

// complete finishes st forward: green keeps all traffic, blue is removed,
// prepared state restored, green recorded as live.
func (r *run) complete(st *DeploymentState) error {
	forward := Routes{Production: AllTo(st.Green.Slot), Test: st.Green.Slot}
	if st.Routes != forward {
		st.Routes = forward
		if err := r.persist(); err != nil {
			return unwrapAbort(err)
		}
		if err := r.applyRoutes(forward); err != nil {
			return unwrapAbort(err)
		}
	}
	if st.Blue != nil {
		if err := r.call(r.d.cfg.Compute, "Compute.ScaleDown", func(ctx context.Context) error {
			return r.d.cfg.Compute.ScaleDown(ctx, *st.Blue)
		}); err != nil {
			return unwrapAbort(err)
		}
	}
	if err := r.restore(); err != nil {
		return unwrapAbort(err)
	}
	st.Phase = PhaseSucceeded
	live := st.Green
	r.rec.Live = &live
	return unwrapAbort(r.persist())
}

// settle finishes an unfinished deployment left by a dead owner, in
// RECONCILE_SERVICE, per Config.Reconcile: by default forward if green
// already had all production traffic, back otherwise. It asks the compute
// backend where things really stand first: the side it would keep must be
// healthy, or the other side is kept instead; if neither is, it refuses and
// changes nothing.
func (r *run) settle(old *DeploymentState) error {
	saved := r.st
	r.st = old
	defer func() { r.st = saved }()
	forward := old.ShiftDone && old.Phase == PhaseRunning && r.d.cfg.Reconcile == ReconcileDefault
	if old.Blue != nil {
		blueOK, err := r.ready(*old.Blue)
		if err != nil {
			return err
		}
		greenOK, err := r.ready(old.Green)
		if err != nil {
			return err
		}
		switch {
		case !blueOK && !greenOK:
			return &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: "Reconcile",
				Err: fmt.Errorf("deployment %s was left at %s and neither blue (%s) nor green (%s) is healthy; restore one of them and deploy again", old.ID, old.Stage, old.Blue, old.Green)}
		case forward && !greenOK:
			forward = false
		case !forward && !blueOK:
			forward = true
		}
	}
	if forward {
		if err := r.complete(old); err != nil {
			return err
		}
		r.emit(Event{Kind: EventReconciled, Reason: fmt.Sprintf("completed deployment %s, left at %s", old.ID, old.Stage)})
		return nil
	}
	if old.Rollback == nil {
		old.Rollback = &RollbackInfo{Trigger: TriggerReconcile, By: old.ID, Stage: old.Stage, Step: old.Step, At: r.clock.Now(),
			Reason: fmt.Sprintf("deployment %s was left unfinished at %s by its owner", old.ID, old.Stage)}
	}
	old.Phase = PhaseRollingBack
	info := *old.Rollback
	r.emit(Event{Kind: EventRollbackStarted, Rollback: &info, Reason: "rolling back unfinished deployment " + old.ID})
	was := r.rollingBack
	r.rollingBack = true
	defer func() { r.rollingBack = was }()
	if err := r.undo(old, false); err != nil {
		return err
	}
	r.emit(Event{Kind: EventRollbackFinished, Rollback: &info})
	r.emit(Event{Kind: EventReconciled, Reason: fmt.Sprintf("rolled back deployment %s, left at %s", old.ID, old.Stage)})
	return nil
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

func unwrapAbort(err error) error {
	if ab, ok := err.(*abortSignal); ok {
		return ab.err
	}
	return err
}
