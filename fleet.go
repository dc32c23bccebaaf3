package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen/driver"
)

// A fleet is several Deployers (replicas of a platform service) over one
// Store. Each runs Deployer.Run: it finds the deployments whose owner is
// gone (their lease lapsed, or was given up at a graceful shutdown), claims
// each with the same compare-and-swap as any lease, and resumes it from its
// persisted step. The lease's record version fences every write, so two
// replicas never act on one deployment: a replica that lost its lease stops
// at its next write, without touching anything else.

// RunOptions configure Deployer.Run.
type RunOptions struct {
	// CheckInterval is how often the store is asked for unfinished
	// deployments; a third of Config.LeaseTTL if zero. A dead replica's
	// deployments are adopted within LeaseTTL plus about one interval.
	CheckInterval time.Duration
	// MaxDeployments bounds the deployments this replica drives at once,
	// adopted or started; unbounded if zero. A replica at its bound leaves
	// orphans to the others.
	MaxDeployments int
	// HandoverTimeout bounds the graceful shutdown: how long Run waits for
	// each deployment to stop and give its lease up once ctx is done; 30s if
	// zero. Deployments that do not stop in time keep their lease until it
	// lapses, as if the replica had died.
	HandoverTimeout time.Duration
	// OnAdopt, if set, is called with the handle of each deployment the
	// replica adopts, before it is driven further: to watch its events.
	OnAdopt func(*Deployment)
	// Groups, if set, returns the release group named name as the
	// replica would deploy it (members with their backends, hooks and
	// monitors), so that Run adopts an orphaned group too, with
	// StartReconcileGroup: a group's record names its members but cannot
	// hold their backends. A group it reports unknown is left to its
	// owner or to ReconcileGroup. Without Groups no group is adopted. A
	// group counts towards MaxDeployments once for itself and once per
	// member.
	Groups func(name string) (Group, bool)
}

// Run adopts, until ctx is done, the deployments left unfinished by owners
// that are gone, and resumes each from its persisted step (see
// StartReconcile). The Store must list unfinished deployments
// (driver.Lister). Orphans are spread across replicas: each replica walks
// them in an order of its own (rendezvous hashing of the owner and the
// service, so replicas start with different services), paces its claims
// over half a check interval so that replicas looking at the same time
// interleave, and skips a claim another replica won.
//
// Release groups are adopted as a whole when RunOptions.Groups knows them;
// their members are never adopted one by one.
//
// When ctx is done, Run hands over every deployment this Deployer drives,
// including those started with Start: each stops where it stands, saves its
// state and gives its lease up at once, so the surviving replicas resume it
// without waiting for the lease to lapse. Run then returns ctx's error.
func (d *Deployer) Run(ctx context.Context, opts RunOptions) error {
	lister, ok := d.cfg.Store.(driver.Lister)
	if !ok {
		return &ConfigError{Field: "Config.Store", Problem: fmt.Sprintf("%T cannot list unfinished deployments", d.cfg.Store),
			Fix: "use a store that implements driver.Lister (NewMemoryStore, local/filestore, aws/dynamostore with an index)"}
	}
	if opts.CheckInterval < 0 || opts.MaxDeployments < 0 || opts.HandoverTimeout < 0 {
		return &ConfigError{Field: "RunOptions", Problem: "a negative interval, bound or timeout", Fix: "use zero for the defaults"}
	}
	if opts.CheckInterval == 0 {
		opts.CheckInterval = d.cfg.LeaseTTL / 3
	}
	if opts.CheckInterval < 10*time.Millisecond {
		return &ConfigError{Field: "RunOptions.CheckInterval", Problem: fmt.Sprintf("%v is below 10ms", opts.CheckInterval),
			Fix: "check at most every 10ms; a bare number is nanoseconds"}
	}
	if opts.HandoverTimeout == 0 {
		opts.HandoverTimeout = 30 * time.Second
	}
	// Adopted deployments outlive no Run: they are handed over when it ends.
	driveCtx := context.WithoutCancel(ctx)
	for {
		if err := d.adoptOrphans(ctx, driveCtx, lister, opts); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "looking for deployments to adopt", "error", err.Error())
		}
		// A jitter of up to a tenth of the interval keeps replicas that
		// started together from asking the store in step.
		wait := opts.CheckInterval + time.Duration(rand.Int64N(int64(opts.CheckInterval)/10+1))
		select {
		case <-ctx.Done():
			d.handoverAll(opts.HandoverTimeout)
			return ctx.Err()
		case <-d.cfg.Clock.After(wait):
		}
	}
}

// adoptOrphans claims and resumes the unfinished deployments whose lease
// is free or lapsed.
func (d *Deployer) adoptOrphans(ctx, driveCtx context.Context, lister driver.Lister, opts RunOptions) error {
	var listed []driver.Listed
	if err := retryStore(ctx, func() (err error) { listed, err = lister.Unfinished(ctx); return err }); err != nil {
		return err
	}
	now := d.cfg.Clock.Now()
	beats := map[string]time.Time{} // owners' heartbeats, read once a pass
	names := make([]string, 0, len(listed))
	for _, l := range listed {
		if d.isActive(l.Service) || (opts.Groups == nil && strings.HasPrefix(l.Service, groupPrefix)) {
			continue // ours, or a release group this replica cannot rebuild
		}
		// A listing that names a live owner kept by its heartbeat spares
		// loading the record: in a fleet, most unfinished deployments are
		// another replica's, alive.
		if l.Lease.Heartbeat && l.Lease.Owner != "" && l.Lease.Owner != d.cfg.Owner {
			if until, err := d.heartbeatOf(ctx, l.Lease.Owner, beats); err != nil || now.Before(until) {
				continue // alive, or unknown for now: looked at again next pass
			}
		}
		names = append(names, l.Service)
	}
	owner := d.cfg.Owner
	rank := func(service string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(owner))
		h.Write([]byte{0})
		h.Write([]byte(service))
		return h.Sum64()
	}
	sortBy(names, rank)
	// Claims are paced over half a check interval, so replicas that look
	// at the same time interleave their claims instead of the first one
	// taking everything.
	pace := min(opts.CheckInterval/time.Duration(2*max(len(names), 1)), time.Second)
	for i, name := range names {
		if ctx.Err() != nil {
			return nil
		}
		if i > 0 && pace > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-d.cfg.Clock.After(pace):
			}
		}
		now := d.cfg.Clock.Now()
		if opts.MaxDeployments > 0 && d.inFlight() >= opts.MaxDeployments {
			return nil
		}
		if d.isActive(name) {
			continue
		}
		rec, err := d.cfg.Store.Load(ctx, name)
		if err != nil || !rec.Unfinished {
			continue
		}
		if held, _, _ := d.leaseHeld(ctx, rec, now, beats); held {
			continue
		}
		dep, err := d.adopt(driveCtx, name, opts.Groups)
		switch {
		case err == nil:
			d.metrics.adopted.Add(1)
			d.log.InfoContext(ctx, "adopted a deployment", "service", name, "deployment", dep.ID(), "previousOwner", rec.Lease.Owner)
			if opts.OnAdopt != nil {
				opts.OnAdopt(dep)
			}
		case errors.Is(err, ErrInProgress), errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			// Another replica was first, or it finished meanwhile.
		case errors.Is(err, ErrFailedPrecondition), errors.Is(err, errUnknownGroup):
			// A member of an unfinished release group (adopted with its
			// group, if at all), a group RunOptions.Groups does not know,
			// or a deployment the engine cannot settle alone: left to its
			// owner.
			d.log.DebugContext(ctx, "not adopting a deployment", "service", name, "error", err.Error())
		default:
			d.log.WarnContext(ctx, "adopting a deployment", "service", name, "error", err.Error())
		}
	}
	return nil
}

// errUnknownGroup: RunOptions.Groups does not know an orphaned group.
var errUnknownGroup = errors.New("RunOptions.Groups does not know the release group")

// adopt resumes the unfinished deployment of name, a service or a release
// group's key, in the background.
func (d *Deployer) adopt(ctx context.Context, name string, groups func(string) (Group, bool)) (*Deployment, error) {
	group, ok := strings.CutPrefix(name, groupPrefix)
	if !ok {
		return d.StartReconcile(ctx, name)
	}
	g, ok := groups(group)
	if !ok {
		return nil, errUnknownGroup
	}
	if g.Name != group {
		return nil, &ConfigError{Field: "RunOptions.Groups", Problem: fmt.Sprintf("asked for %q, it returned a group named %q", group, g.Name),
			Fix: "return the group of the name asked for, or false"}
	}
	return d.StartReconcileGroup(ctx, g)
}

// retryStore calls fn until it succeeds, fails for good, or three tries
// failed with a retryable code.
func retryStore(ctx context.Context, fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); err == nil || !ErrorCode(err).Retryable() || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// sortBy orders names by key, ascending (an insertion sort: the lists are
// a replica's orphans, short).
func sortBy(names []string, key func(string) uint64) {
	keys := make([]uint64, len(names))
	for i, n := range names {
		keys[i] = key(n)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

func (d *Deployer) isActive(service string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.active[service]
	return ok
}

func (d *Deployer) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.active)
}

// handoverAll asks every deployment this Deployer drives to stop and give
// its lease up, and waits for them to end, each for up to timeout.
func (d *Deployer) handoverAll(timeout time.Duration) {
	d.mu.Lock()
	deps := make([]*Deployment, 0, len(d.active))
	for _, dep := range d.active {
		deps = append(deps, dep)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, dep := range deps {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := dep.send(ctx, command{kind: cmdHandover}); err != nil {
				return // it ended meanwhile, or is stuck in a backend call
			}
			select {
			case <-dep.Done():
			case <-ctx.Done():
			}
		})
	}
	wg.Wait()
}
