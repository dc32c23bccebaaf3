package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// call runs a backend call, retrying it with exponential backoff while it
// fails with a retryable code, up to Config.Retry.Attempts calls. The error
// it returns is wrapped once, with the stage and op. While the call runs,
// the lease is renewed beside it (see renewDuring), so a call that outlives
// the lease's renewal interval does not let another owner in.
func (r *run) call(backend any, op string, fn func(ctx context.Context) error) error {
	backoff := r.d.cfg.Retry.Initial
	for attempt := 1; ; attempt++ {
		err := r.renewDuring(backend, fn)
		if err == nil {
			return nil
		}
		if isAbort(err) {
			return err
		}
		if r.ctx.Err() != nil {
			if cerr := r.canceled(); cerr != nil {
				return cerr
			}
			attempt-- // a fresh context replaced the canceled one: the call did not really fail
			continue
		}
		err = wrap(backend, r.service, r.stage, op, err)
		if !ErrorCode(err).Retryable() || attempt >= r.d.cfg.Retry.Attempts {
			return err
		}
		r.emit(Event{Kind: EventRetried, Reason: err.Error()})
		select {
		case <-r.clock.After(backoff):
		case <-r.ctx.Done():
			if cerr := r.canceled(); cerr != nil {
				return cerr
			}
		}
		backoff = min(2*backoff, r.d.cfg.Retry.Max)
	}
}

// renewDuring runs fn. If the run holds a lease and fn is a call to
// another backend than the store, a renewer beside it saves the record
// (same state, later expiry) whenever a third of the lease's TTL has passed
// since the last save. If a renewal finds the lease taken, fn's context is
// canceled and the run aborts: another owner now drives the service.
func (r *run) renewDuring(backend any, fn func(ctx context.Context) error) error {
	if r.rec.Lease.Owner == "" || backend == r.d.cfg.Store {
		return fn(r.ctx)
	}
	k := r.keeper()
	ctx := k.begin()
	err := fn(ctx)
	if lerr := k.end(); lerr != nil {
		return &abortSignal{lerr}
	}
	return err
}

// keeper returns the run's lease keeper, made on first use.
func (r *run) keeper() *leaseKeeper {
	if r.lease == nil {
		r.lease = &leaseKeeper{r: r}
	}
	return r.lease
}

// leaseKeeper renews a run's lease while the run's goroutine is inside a
// backend call. One timer per run is armed at each call's start and stopped
// at its end, so a call costs no allocation. While a call runs, the keeper
// alone touches r.rec and r.lastSave; its mutex orders its saves before
// whatever the run does next.
type leaseKeeper struct {
	r *run

	mu     sync.Mutex
	inCall bool
	timer  *time.Timer // with the real clock; else stopTimer
	stopFn func() bool
	lost   error
	// ctx is what calls run with: r.ctx, canceled if the lease is lost.
	ctx, parent context.Context
	cancel      context.CancelFunc
}

// begin marks a call as running, arms the renewal and returns the call's context.
func (k *leaseKeeper) begin() context.Context {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.parent != k.r.ctx { // first call, or the run's context was replaced
		if k.cancel != nil {
			k.cancel()
		}
		k.parent = k.r.ctx
		k.ctx, k.cancel = context.WithCancel(k.parent)
	}
	k.inCall, k.lost = true, nil
	k.arm()
	return k.ctx
}

// arm schedules the next renewal (see renewAt). k.mu must be held.
func (k *leaseKeeper) arm() {
	at, _ := k.r.renewAt()
	due := max(at.Sub(k.r.clock.Now()), 0)
	if _, ok := k.r.clock.(realClock); ok {
		if k.timer == nil {
			k.timer = time.AfterFunc(due, k.fire)
		} else {
			k.timer.Reset(due)
		}
		return
	}
	k.stopFn = afterFunc(k.r.clock, due, k.fire)
}

func (k *leaseKeeper) fire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.inCall {
		return
	}
	if !k.r.renewDue(k.r.clock.Now()) || k.r.renewByHeartbeat(k.ctx) {
		k.arm()
		return
	}
	if err := k.r.save(k.ctx); err != nil {
		if ErrorCode(err) == CodeConflict {
			k.lost = k.r.lostLease(err)
			k.cancel()
			k.parent = nil // the next call gets a fresh context
			return
		}
		// A store that fails now may answer at the next try; the lease is
		// still ours until it expires.
		k.r.lastSave = k.r.clock.Now()
	}
	k.arm()
}

// end marks the call as over, waiting for a renewal in progress, and
// reports a lost lease.
func (k *leaseKeeper) end() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inCall = false
	if k.timer != nil {
		k.timer.Stop()
	}
	if k.stopFn != nil {
		k.stopFn()
		k.stopFn = nil
	}
	return k.lost
}

// close releases the keeper's context when the run ends.
func (k *leaseKeeper) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cancel != nil {
		k.cancel()
	}
	if k.timer != nil {
		k.timer.Stop()
	}
}

// afterFunc calls f in its own goroutine after d by a Clock other than the
// real one, and returns a function that stops it.
func afterFunc(clock Clock, d time.Duration, f func()) (stop func() bool) {
	done := make(chan struct{})
	go func() {
		select {
		case <-clock.After(d):
			f()
		case <-done:
		}
	}()
	var once sync.Once
	return func() bool { once.Do(func() { close(done) }); return true }
}

// canceled handles the caller's context being done, per Config.OnCancel.
// With CancelRollback it swaps in a fresh context bounded by RollbackTimeout
// (once) and asks for a rollback; otherwise the deployment is abandoned.
func (r *run) canceled() error {
	cause := r.ctx.Err()
	if r.d.cfg.OnCancel == CancelDetach || r.cancelHandled || r.st == nil {
		return &abortSignal{&Error{Code: CodeCanceled, Service: r.service, Stage: r.stage, Op: "Deploy",
			Err: fmt.Errorf("context done (%w); state left for the next RECONCILE_SERVICE", cause)}}
	}
	r.cancelHandled = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), RollbackTimeout)
	context.AfterFunc(ctx, cancel) // release the timer's resources when the timeout fires
	r.ctx = ctx
	if r.rollingBack {
		return nil // already rolling back: go on with the fresh context
	}
	return r.rollbackNow(TriggerCanceled, "context", "the caller's context was done: "+cause.Error())
}

// sleep waits until the given time, watching monitors, renewing the lease and
// handling commands. It returns nil at that time (or on Promote if
// promotable), a rollback signal, or an abort.
func (r *run) sleep(until time.Time, promotable bool) error {
	for {
		now := r.clock.Now()
		if !now.Before(until) {
			return nil
		}
		next := r.housekeepingAt(until)
		select {
		case <-r.clock.After(next.Sub(now)):
			if err := r.housekeeping(); err != nil {
				return err
			}
		case c := <-r.dep.cmds:
			if c.kind == cmdPromote && promotable && !r.rollingBack {
				c.reply <- nil
				r.promoted = true
				r.emit(Event{Kind: EventPromoted, Reason: fmt.Sprintf("skipped %v of waiting", until.Sub(now).Round(time.Millisecond))})
				return nil
			}
			if err := r.command(c); err != nil {
				return err
			}
		case <-r.ctx.Done():
			if err := r.canceled(); err != nil {
				return err
			}
		}
	}
}

// pause waits d, for a poll interval, handling commands like sleep does
// except Promote.
func (r *run) pause(d time.Duration) error {
	return r.sleep(r.clock.Now().Add(d), false)
}

// housekeepingAt returns the earlier of until and the next monitor check or
// lease renewal.
func (r *run) housekeepingAt(until time.Time) time.Time {
	next := until
	if r.monitoring() && r.nextMonitor.Before(next) {
		next = r.nextMonitor
	}
	if renew, ok := r.renewAt(); ok && renew.Before(next) {
		next = renew
	}
	return next
}

// housekeeping checks monitors and renews the lease when they are due.
func (r *run) housekeeping() error {
	now := r.clock.Now()
	if r.monitoring() && !now.Before(r.nextMonitor) {
		if err := r.checkMonitors(); err != nil {
			return err
		}
	}
	if r.renewDue(now) && !r.renewByHeartbeat(r.ctx) {
		return r.persist()
	}
	return nil
}

// poll handles a command that is waiting, without blocking.
func (r *run) poll() error {
	select {
	case c := <-r.dep.cmds:
		return r.command(c)
	case <-r.ctx.Done():
		return r.canceled()
	default:
		return nil
	}
}

// command answers a caller command that the wait it arrived in does not
// handle itself (a pause handles Continue, a step's wait Promote). It
// returns a rollback signal when the caller asked for a rollback.
func (r *run) command(c command) error {
	refuse := func(why string) error {
		c.reply <- &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: r.stage, Op: c.kind.String(), Err: errors.New(why)}
		return nil
	}
	switch c.kind {
	case cmdRollback:
		switch {
		case r.rollingBack:
			return refuse("already rolling back")
		case r.cleaning:
			return refuse("too late: blue is being removed in CLEAN_UP")
		case r.st == nil:
			return refuse("nothing to roll back yet: RECONCILE_SERVICE has not recorded the deployment")
		}
		c.reply <- nil
		reason := c.reason
		if reason == "" {
			reason = "requested by the caller"
		}
		return r.rollbackNow(TriggerCaller, "caller", reason)
	case cmdHandover:
		c.reply <- nil
		return r.handover()
	case cmdContinue:
		return refuse("not paused")
	case cmdPromote:
		return refuse("not waiting out a traffic step or the bake time")
	}
	return refuse("unknown command")
}

// persist saves the record with the deployment's current state and renews
// the lease. Every side effect is preceded by a persist of what it is about
// to do. A lost compare-and-swap means another owner took the service: the
// deployment stops without touching anything else.
func (r *run) persist() error {
	now := r.clock.Now()
	if r.st != nil {
		r.st.Updated = now
	}
	r.stateBuf = r.ss.appendTo(r.stateBuf[:0])
	r.rec.State = r.stateBuf
	r.rec.Unfinished = r.ss.unfinished()
	r.unsaved = false
	err := r.call(r.d.cfg.Store, "Store.Save", r.save)
	if err != nil {
		var sig *rollbackSignal
		if errors.As(err, &sig) || isAbort(err) {
			return err
		}
		if ErrorCode(err) == CodeConflict {
			err = r.lostLease(err)
		}
		return &abortSignal{err}
	}
	return nil
}

// save writes r.rec with the lease renewed, and records the new version.
func (r *run) save(ctx context.Context) error {
	now := r.clock.Now()
	rec := r.rec
	if rec.Lease.Owner != "" {
		rec.Lease.Expires = now.Add(r.d.cfg.LeaseTTL)
		rec.Lease.Heartbeat = true
	}
	v, err := r.d.cfg.Store.Save(ctx, rec)
	if err != nil {
		return err
	}
	rec.Version = v
	r.rec = rec
	r.lastSave = now
	return nil
}

func (r *run) lostLease(err error) error {
	r.d.metrics.conflicts.Add(1)
	return &Error{Code: CodeConflict, Service: r.service, Stage: r.stage, Op: "Store.Save",
		Err: fmt.Errorf("lease lost: another owner changed the record (%w); stopping without touching traffic", err)}
}

// restore hands the Preparer's snapshot back once.
func (r *run) restore() error {
	p, ok := r.d.cfg.Compute.(Preparer)
	if !ok || r.st.Restored || r.st.Prepared == nil {
		return nil
	}
	green, snap := r.st.Green, r.st.Prepared
	if err := r.call(r.d.cfg.Compute, "Compute.Restore", func(ctx context.Context) error {
		return p.Restore(ctx, green, snap)
	}); err != nil {
		return err
	}
	r.st.Restored = true
	return nil
}

// errHandedOver is the cause of a deployment handed over to another owner.
var errHandedOver = errors.New("handed over: this owner is shutting down and another owner resumes the deployment")

// handover stops driving the deployment where it stands and gives its lease
// up at once, so another owner's Deployer.Run adopts it without waiting for
// the lease to lapse. The state is saved as it is: the successor resumes it.
func (r *run) handover() error {
	r.releaseLease()
	if err := r.persist(); err != nil {
		return err
	}
	r.d.metrics.handedOver.Add(1)
	return &abortSignal{&Error{Code: CodeCanceled, Service: r.service, Stage: r.stage, Op: "Handover", Err: errHandedOver}}
}
