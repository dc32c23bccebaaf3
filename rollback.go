package bluegreen

import "context"

// rollback returns production and test traffic to blue with one router
// call, runs the traffic-shift hooks again (told it is a rollback; they
// cannot stop it), removes green, and records blue as live.
func (r *run) rollback(info RollbackInfo) (Result, error) {
	r.rollingBack = true
	st := r.st
	st.Phase = phaseRollingBack
	st.Rollback = &info
	if err := r.persist(); err != nil {
		return r.finish(OutcomeFailed, unwrapAbort(err))
	}
	inf := info
	r.emit(Event{Kind: EventRollbackStarted, Rollback: &inf, Reason: info.Reason})
	if err := r.undo(st); err != nil {
		return r.finish(OutcomeFailed, unwrapAbort(err))
	}
	inf2 := info
	r.emit(Event{Kind: EventRollbackFinished, Rollback: &inf2})
	res, _ := r.finish(OutcomeRolledBack, nil)
	return res, &RollbackError{Service: r.service, Info: info}
}

// backRoutes are the routes a rollback of st applies: everything to blue,
// or, without a blue, what was routed before the deployment. Production is
// never left routed to nothing when something served before.
func backRoutes(st *deployState) Routes {
	if st.Blue != nil {
		return Routes{Production: AllTo(st.Blue.Slot), Test: st.Blue.Slot}
	}
	return st.Before
}

// undo performs the rollback of st: traffic back, rollback hooks, green
// removed, blue made primary again if green had been, prepared state
// restored, blue recorded as live. Every step is saved before it acts and
// is idempotent, so a rollback interrupted by a crash is finished by the
// next RECONCILE_SERVICE.
func (r *run) undo(st *deployState) error {
	if err := r.undoTraffic(st); err != nil {
		return err
	}
	return r.undoGreen(st)
}

// undoTraffic is the first half of undo: traffic back to blue with one
// router call, saved first, then the traffic-shift hooks told it is a
// rollback. A release group runs it for every member before any member's
// undoGreen.
func (r *run) undoTraffic(st *deployState) error {
	back := backRoutes(st)
	if st.Stage >= StageTestTrafficShift || st.Routes != back {
		st.Routes = back
		if err := r.persist(); err != nil {
			return err
		}
		if err := r.applyRoutes(back); err != nil {
			return err
		}
		for _, s := range []Stage{StageTestTrafficShift, StageProductionTrafficShift} {
			if s <= st.Stage {
				if err := r.runHooks(s, 0, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// undoGreen is the second half of undo: green removed, blue made primary
// again if green had been, prepared state restored, blue recorded as live.
func (r *run) undoGreen(st *deployState) error {
	if err := r.call(r.d.cfg.Compute, "Compute.ScaleDown", func(ctx context.Context) error {
		return r.d.cfg.Compute.ScaleDown(ctx, st.Green)
	}); err != nil {
		return err
	}
	if ps, ok := r.d.cfg.Compute.(PrimarySetter); ok && st.Primary && st.Blue != nil {
		blue := *st.Blue
		if err := r.call(r.d.cfg.Compute, "Compute.SetPrimary", func(ctx context.Context) error {
			return ps.SetPrimary(ctx, blue)
		}); err != nil {
			return err
		}
		st.Primary = false
	}
	if err := r.restore(); err != nil {
		return err
	}
	st.Phase = phaseRolledBack
	r.ss.Live = st.Blue
	if !r.inner {
		r.releaseLease()
	}
	return r.persist()
}
