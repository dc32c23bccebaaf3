package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
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
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	for _, h := range cfg.Hooks {
		for _, s := range h.Stages {
			d.hooks[s] = append(d.hooks[s], h)
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
// next deployment's RECONCILE_SERVICE.
func (d *Deployer) Start(ctx context.Context, service string, rev Revision) (*Deployment, error) {
	if err := validateService(service); err != nil {
		return nil, err
	}
	if err := rev.Validate("Revision"); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Code: CodeCanceled, Service: service, Op: "Start", Err: err}
	}
	dep := &Deployment{
		id: d.cfg.NewID(), service: service,
		cmds: make(chan command), done: make(chan struct{}), changed: make(chan struct{}),
	}
	d.mu.Lock()
	if cur, ok := d.active[service]; ok {
		d.mu.Unlock()
		return nil, &InProgressError{Service: service, DeploymentID: cur.id, Holder: d.cfg.Owner + " (this process)"}
	}
	d.active[service] = dep
	d.mu.Unlock()

	r := &run{d: d, dep: dep, ctx: ctx, service: service, clock: d.cfg.Clock}
	if err := r.acquire(rev); err != nil {
		d.release(service)
		return nil, err
	}
	go func() {
		res, err := r.main()
		d.release(service)
		dep.finish(res, err)
	}()
	return dep, nil
}

func (d *Deployer) release(service string) {
	d.mu.Lock()
	delete(d.active, service)
	d.mu.Unlock()
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
	}
	return nil
}

// acquire loads the service's record and takes its lease with one
// compare-and-swap, refusing if another owner holds a live lease. An
// unfinished deployment left by a dead owner is kept in the record for
// RECONCILE_SERVICE to settle.
func (r *run) acquire(rev Revision) error {
	cfg := &r.d.cfg
	for attempt := 0; ; attempt++ {
		var rec Record
		if err := r.call(cfg.Store, "Store.Load", func(ctx context.Context) (err error) {
			rec, err = cfg.Store.Load(ctx, r.service)
			return err
		}); err != nil {
			return unwrapAbort(err)
		}
		now := r.clock.Now()
		if rec.Lease.HeldBy(cfg.Owner, now) {
			ie := &InProgressError{Service: r.service, Holder: rec.Lease.Owner, Expires: rec.Lease.Expires.UTC().Format(time.RFC3339)}
			if rec.Deployment != nil && !rec.Deployment.Phase.Finished() {
				ie.DeploymentID = rec.Deployment.ID
			}
			return ie
		}
		old := rec.Deployment
		if old != nil && !old.Phase.Finished() && cfg.Reconcile == ReconcileRefuse {
			return &Error{Code: CodeFailedPrecondition, Service: r.service, Stage: StageReconcileService, Op: "Start",
				Err: fmt.Errorf("deployment %s was left unfinished at %s and Config.Reconcile is ReconcileRefuse; settle it with Deployer.Reconcile or choose another policy", old.ID, old.Stage)}
		}
		rec.Lease = Lease{Owner: cfg.Owner, Expires: now.Add(cfg.LeaseTTL)}
		var v int64
		if err := r.call(cfg.Store, "Store.Save", func(ctx context.Context) (err error) {
			v, err = cfg.Store.Save(ctx, rec)
			return err
		}); err != nil {
			if ErrorCode(err) == CodeConflict && attempt < 3 {
				continue // someone wrote between our load and save; look again
			}
			return unwrapAbort(err)
		}
		rec.Version = v
		r.rec = rec
		r.rev = rev
		return nil
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// errEnded is the cause of commands sent to a deployment that has ended.
var errEnded = errors.New("the deployment has ended")
