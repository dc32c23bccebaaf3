package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/bluegreen-go/bluegreen/driver"
)

// Deployer runs blue/green deployments of services through the ECS lifecycle
// stages. One Deployer can run deployments of many services at once; it
// refuses a second deployment of a service while one is in flight, in this
// process (at once) and across processes (through the store's lease).
type Deployer struct {
	cfg   Config
	steps []Step
	hooks [numStages + 1][]LifecycleHook // hooks by stage
	log   *slog.Logger

	mu     sync.Mutex
	active map[string]*Deployment

	metrics deployerMetrics
	hb      *heartbeat // shared with the Deployers of a release group's members
}

// New validates cfg and returns a Deployer. An invalid configuration is
// refused with a *ConfigError naming the field and the fix.
func New(cfg Config) (*Deployer, error) {
	steps, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Deployer{cfg: cfg, steps: steps, log: cfg.Logger, active: map[string]*Deployment{}}
	d.hb = newHeartbeat(d)
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	for _, h := range cfg.Hooks {
		for _, s := range h.Stages {
			d.hooks[s] = append(d.hooks[s], h)
		}
	}
	if c, ok := cfg.Engine.(EngineChecker); ok {
		if err := c.CheckConfig(d.engineSpec()); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Deploy deploys rev as the new revision of service and blocks until the
// deployment ends, calling cfg.Callbacks as it goes. It returns the result
// and nil after a success; errors.Is(err, ErrRolledBack) after a rollback;
// another error (with its Code) when the deployment could not start or
// failed. See Start for the meaning of ctx.
func (d *Deployer) Deploy(ctx context.Context, service string, rev Revision) (Result, error) {
	dep, err := d.Start(ctx, service, rev)
	if err != nil {
		return Result{}, err
	}
	<-dep.Done()
	return dep.Wait(context.Background())
}

// Start validates the request, takes the service's lease and starts the
// deployment in the background, returning its handle.
//
// ctx governs the deployment: when it is canceled, the deployment follows
// cfg.OnCancel — by default it rolls back (traffic returns to blue and green
// is removed, with a fresh context bounded by RollbackTimeout); with
// CancelDetach it stops where it is and leaves traffic and state for the
// next RECONCILE_SERVICE.
func (d *Deployer) Start(ctx context.Context, service string, rev Revision) (*Deployment, error) {
	if err := validateService(service); err != nil {
		return nil, err
	}
	if err := rev.Validate("Revision"); err != nil {
		return nil, err
	}
	r, err := d.begin(ctx, service, "Start")
	if err != nil {
		return nil, err
	}
	if err := r.inUnfinishedGroup("Start"); err != nil {
		return nil, r.abandon(err)
	}
	if old := r.ss.Deployment; old != nil && !old.Phase.finished() && d.cfg.Reconcile == ReconcileRefuse {
		err := &Error{Code: CodeFailedPrecondition, Service: service, Stage: StageReconcileService, Op: "Start",
			Err: fmt.Errorf("deployment %s was left unfinished at %s and Config.Reconcile is ReconcileRefuse; settle it with Deployer.Reconcile or choose another policy", old.ID, old.Stage)}
		return nil, r.abandon(err)
	}
	r.rev = rev
	if d.cfg.Engine != nil {
		if old := r.ss.Deployment; old != nil && !old.Phase.finished() {
			return nil, r.abandon(&Error{Code: CodeFailedPrecondition, Service: service, Stage: StageReconcileService, Op: "Start",
				Err: fmt.Errorf("deployment %s is unfinished on the engine's platform; re-attach to it with Deployer.Reconcile first", old.ID)})
		}
		r.engineStart()
		if err := r.persist(); err != nil {
			return nil, r.abandon(unwrapAbort(err))
		}
		go func() { r.dep.finish(r.engineMain(false)) }()
		return r.dep, nil
	}
	go func() { r.dep.finish(r.main()) }()
	return r.dep, nil
}

// Reconcile settles an unfinished deployment of service, left by an owner
// that died (its lease has expired) or detached, without starting a new
// one, and blocks until it is settled. See StartReconcile.
func (d *Deployer) Reconcile(ctx context.Context, service string) (Result, error) {
	dep, err := d.StartReconcile(ctx, service)
	if err != nil {
		return Result{}, err
	}
	<-dep.Done()
	return dep.Wait(context.Background())
}

// StartReconcile takes the lease of service and settles its unfinished
// deployment in the background, returning its handle, whose ID is the
// unfinished deployment's. A platform service calls it for each of its
// services when it restarts.
//
// The deployment is resumed from where it stood (its remaining traffic
// steps, the rest of its bake time with monitors watched, a hook still
// answering IN_PROGRESS with its attempt count, details and deadline, then
// clean-up), as ECS continues its own deployments, unless Config.Reconcile
// is ReconcileRollback, the deployment was already rolling back, or the
// compute backend reports that green is no longer healthy: then it is
// rolled back. The handle reports RECONCILE_SERVICE and every stage after
// it, and Wait follows Deploy's convention: nil after a success,
// ErrRolledBack after a rollback.
//
// A service with no unfinished deployment gets an error with CodeNotFound.
func (d *Deployer) StartReconcile(ctx context.Context, service string) (*Deployment, error) {
	if err := validateService(service); err != nil {
		return nil, err
	}
	r, err := d.begin(ctx, service, "Reconcile")
	if err != nil {
		return nil, err
	}
	if err := r.inUnfinishedGroup("Reconcile"); err != nil {
		return nil, r.abandon(err)
	}
	old := r.ss.Deployment
	if old == nil || old.Phase.finished() {
		why := "the service has never been deployed"
		if old != nil {
			why = fmt.Sprintf("nothing to settle: its last deployment, %s, finished", old.ID)
		}
		return nil, r.abandon(&Error{Code: CodeNotFound, Service: service, Op: "Reconcile", Err: errors.New(why)})
	}
	r.st = old
	r.dep.id = old.ID
	if d.cfg.Engine != nil {
		go func() { r.dep.finish(r.engineMain(true)) }()
		return r.dep, nil
	}
	go func() { r.dep.finish(r.reconcileMain()) }()
	return r.dep, nil
}

// State returns what the store holds about service: the live environment,
// the lease, and the deployment in flight or the last one to finish.
func (d *Deployer) State(ctx context.Context, service string) (ServiceState, error) {
	return ReadState(ctx, d.cfg.Store, service)
}

// ReadState returns what store holds about service, for tools that show it
// without deploying (a status command).
func ReadState(ctx context.Context, store Store, service string) (ServiceState, error) {
	rec, err := store.Load(ctx, service)
	if err != nil {
		return ServiceState{}, wrap(store, service, 0, "Store.Load", err)
	}
	s, err := decodeState(rec)
	if err != nil {
		return ServiceState{}, err
	}
	return view(rec, s), nil
}

// begin claims service in this process and in the store and returns a run
// holding its lease and its state. op names the caller in errors.
func (d *Deployer) begin(ctx context.Context, service, op string) (*run, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{Code: CodeCanceled, Service: service, Op: op, Err: err}
	}
	dep := &Deployment{id: d.cfg.NewID(), service: service, cmds: make(chan command), done: make(chan struct{})}
	d.mu.Lock()
	if cur, ok := d.active[service]; ok {
		d.mu.Unlock()
		return nil, &InProgressError{Service: service, DeploymentID: cur.id, Holder: d.cfg.Owner + " (this process)"}
	}
	d.active[service] = dep
	d.mu.Unlock()
	r := &run{d: d, dep: dep, ctx: ctx, service: service, clock: d.cfg.Clock}
	dep.onFinish = func() {
		r.endLease()
		d.release(ctx, dep, service)
	}
	if err := r.acquire(); err != nil {
		d.release(ctx, dep, service)
		return nil, err
	}
	d.metrics.started.Add(1)
	return r, nil
}

// abandon gives back a lease taken by begin for a request refused before
// anything started, and returns err.
func (r *run) abandon(err error) error {
	r.releaseLease()
	if perr := r.persist(); perr != nil {
		err = errors.Join(err, unwrapAbort(perr))
	}
	r.d.release(r.ctx, r.dep, r.service)
	return err
}

// release forgets the names dep claimed in this process (a service, or a
// release group's key and members); the heartbeat retires when dep was the
// last deployment driven.
func (d *Deployer) release(ctx context.Context, dep *Deployment, names ...string) {
	d.mu.Lock()
	for _, n := range names {
		if d.active[n] == dep {
			delete(d.active, n)
		}
	}
	idle := len(d.active) == 0
	d.mu.Unlock()
	if idle {
		d.hb.retire(ctx)
	}
}

// validateService refuses names that would be ambiguous or unsafe as keys
// and file names in backends.
func validateService(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return &ConfigError{Field: "service", Problem: "empty", Fix: "name the service to deploy"}
	case len(s) > 255:
		return &ConfigError{Field: "service", Problem: fmt.Sprintf("%d bytes long", len(s)), Fix: "use at most 255 bytes"}
	case strings.ContainsAny(s, "/\\\x00") || s == "." || s == "..":
		return &ConfigError{Field: "service", Problem: fmt.Sprintf("%q contains a path separator or NUL", s), Fix: "use letters, digits, '-', '_', '.' and ':'"}
	case strings.HasPrefix(s, replicaPrefix):
		return &ConfigError{Field: "service", Problem: fmt.Sprintf("%q begins with %q, which names Deployers' heartbeat records", s, replicaPrefix),
			Fix: "choose another name"}
	case strings.HasPrefix(s, groupPrefix):
		return &ConfigError{Field: "service", Problem: fmt.Sprintf("%q begins with %q, which names release groups' records", s, groupPrefix),
			Fix: "choose another name; deploy and settle a release group with Deployer.StartGroup and Deployer.ReconcileGroup"}
	}
	return nil
}

// acquire loads the service's record and takes its lease with one
// compare-and-swap, refusing if another owner holds a live lease. An
// unfinished deployment left by a dead owner is kept in the record for
// RECONCILE_SERVICE to settle.
func (r *run) acquire() error {
	cfg := &r.d.cfg
	for attempt := 0; ; attempt++ {
		var rec driver.Record
		if err := r.call(cfg.Store, "Store.Load", func(ctx context.Context) (err error) {
			rec, err = cfg.Store.Load(ctx, r.service)
			return err
		}); err != nil {
			return unwrapAbort(err)
		}
		ss, err := decodeState(rec)
		if err != nil {
			return err
		}
		held, until, err := r.d.leaseHeld(r.ctx, rec, r.clock.Now(), nil)
		if err != nil {
			return err
		}
		if held {
			ie := &InProgressError{Service: r.service, Holder: rec.Lease.Owner, Expires: until}
			if ss.unfinished() {
				ie.DeploymentID = ss.Deployment.ID
			}
			return ie
		}
		rec.Lease = driver.Lease{Owner: cfg.Owner}
		r.rec = rec
		if err := r.call(cfg.Store, "Store.Save", r.save); err != nil {
			if ErrorCode(err) == CodeConflict && attempt < 3 {
				continue // someone wrote between our load and save; look again
			}
			return unwrapAbort(err)
		}
		r.ss = ss
		return nil
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// errEnded is the cause of commands sent to a deployment that has ended.
var errEnded = errors.New("the deployment has ended")
