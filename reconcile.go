package bluegreen

import (
	"context"
	"errors"
)

// Reconcile settles an unfinished deployment of service left by an owner
// that died (its lease has expired) or detached, without starting a new
// one: per Config.Reconcile it is completed if green already had all
// production traffic, and rolled back otherwise. A platform service calls it
// for each of its services when it restarts. The result describes the
// settled deployment; a service with nothing to settle gets a result with
// Outcome OutcomeSucceeded or OutcomeRolledBack as last recorded, or an
// error with CodeNotFound if it was never deployed.
func (d *Deployer) Reconcile(ctx context.Context, service string) (Result, error) {
	if err := validateService(service); err != nil {
		return Result{}, err
	}
	dep := &Deployment{id: d.cfg.NewID(), service: service, cmds: make(chan command), done: make(chan struct{}), changed: make(chan struct{})}
	d.mu.Lock()
	if cur, ok := d.active[service]; ok {
		d.mu.Unlock()
		return Result{}, &InProgressError{Service: service, DeploymentID: cur.id, Holder: d.cfg.Owner + " (this process)"}
	}
	d.active[service] = dep
	d.mu.Unlock()
	defer d.release(service)

	cfg := d.cfg
	if d.cfg.Reconcile == ReconcileRefuse {
		cfg.Reconcile = ReconcileDefault // an explicit call is the caller settling it
	}
	r := &run{d: &Deployer{cfg: cfg, steps: d.steps, hooks: d.hooks, log: d.log}, dep: dep, ctx: ctx, service: service, clock: d.cfg.Clock}
	if err := r.acquire(Revision{}); err != nil {
		return Result{}, err
	}
	r.started = r.clock.Now()
	r.stage = StageReconcileService
	old := r.rec.Deployment
	if old == nil {
		r.rec.Lease = Lease{}
		_ = r.persist()
		return Result{}, &Error{Code: CodeNotFound, Service: service, Op: "Reconcile", Err: errors.New("the service has never been deployed")}
	}
	r.st = old
	var err error
	if !old.Phase.Finished() {
		r.emit(Event{Kind: EventStageStarted})
		err = r.settle(old)
	}
	// The lease is released whatever happened: what was done is persisted,
	// and the caller may try again at once.
	r.rec.Lease = Lease{}
	if perr := unwrapAbort(r.persist()); err == nil {
		err = perr
	}
	res := Result{DeploymentID: old.ID, Service: service, Blue: old.Blue, Green: old.Green, Live: r.rec.Live,
		Stage: old.Stage, Rollback: old.Rollback, Started: old.Started, Finished: r.clock.Now()}
	switch {
	case err != nil:
		res.Outcome = OutcomeFailed
	case old.Phase == PhaseSucceeded:
		res.Outcome = OutcomeSucceeded
	default:
		res.Outcome = OutcomeRolledBack
	}
	return res, err
}
