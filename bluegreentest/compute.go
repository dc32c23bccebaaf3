package bluegreentest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Health says how an environment started by the fake Compute comes up. The
// zero Health is healthy at the first Status call.
//
// An environment "settles" once it has been asked for its Status more than
// StatusCalls times and After has passed since its ScaleUp; until then it
// reports its instances running but none healthy. When it settles it is
// healthy, or failed if Fail is set.
type Health struct {
	// StatusCalls is how many Status calls report the environment still starting.
	StatusCalls int
	// After is how long after ScaleUp (by ComputeOptions.Now, virtual time
	// inside a testing/synctest bubble) the environment settles.
	After time.Duration
	// Fail, if not empty, makes the environment fail when it settles: its
	// Status has Failed set, Fail as Reason and no instance running.
	Fail string
	// Never keeps the environment starting for ever: it neither becomes
	// healthy nor fails, as a revision whose health checks never pass.
	Never bool
}

// HealthByRevision returns a ComputeOptions.Health function that looks the
// environment's revision name up in m; revisions not in m are healthy at once.
func HealthByRevision(m map[string]Health) func(bluegreen.Environment) Health {
	return func(env bluegreen.Environment) Health { return m[env.Revision.Name] }
}

// ComputeOptions configure a fake Compute. The zero value is usable.
type ComputeOptions struct {
	// Instances is the size of every environment; 2 if zero.
	Instances int
	// Health says how each environment comes up, read once at its ScaleUp;
	// every environment is healthy at once if nil.
	Health func(bluegreen.Environment) Health
	// Now supplies the time for Health.After; time.Now if nil, which is
	// virtual inside a testing/synctest bubble.
	Now func() time.Time
}

// Compute is an in-memory bluegreen.Compute, bluegreen.Preparer,
// bluegreen.Discoverer and bluegreen.PrimarySetter. It is safe for
// concurrent use, records every call (see Recorder) and fails the operations
// "ScaleUp", "Status", "ScaleDown", "Snapshot", "Prepare", "Restore",
// "Discover" and "SetPrimary" on demand.
//
// It keeps at most one environment per service and slot. ScaleUp of the
// environment already in the slot (same deployment id and revision name) does
// nothing; ScaleUp of another environment into an occupied slot replaces what
// was there, as a backend that reuses the slot's place would. Status and
// ScaleDown act only on the environment they name: asked about an
// environment that is not the one in its slot, Status reports a zero Status
// and ScaleDown does nothing, so a late call from an old deployment cannot
// stop a newer one.
type Compute struct {
	Recorder

	instances int
	health    func(bluegreen.Environment) Health
	now       func() time.Time

	mu        sync.Mutex
	envs      map[slotKey]*instance
	prepared  map[string]*preparation // by deployment id
	suspended map[string]bool         // by service: the Preparer's switch
	primary   map[string]bluegreen.Environment
}

type slotKey struct {
	service string
	slot    bluegreen.Slot
}

type instance struct {
	env         bluegreen.Environment
	health      Health
	started     time.Time
	statusCalls int
	crashed     string
}

// NewCompute returns an empty fake Compute.
func NewCompute(opts ComputeOptions) *Compute {
	c := &Compute{
		instances: cmp.Or(opts.Instances, 2),
		health:    opts.Health,
		now:       opts.Now,
		envs:      map[slotKey]*instance{},
		prepared:  map[string]*preparation{},
		suspended: map[string]bool{},
		primary:   map[string]bluegreen.Environment{},
	}
	if c.health == nil {
		c.health = func(bluegreen.Environment) Health { return Health{} }
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func envDetail(env bluegreen.Environment) string {
	return string(env.Slot) + " " + env.Revision.Name + " deployment " + env.DeploymentID
}

func (c *Compute) call(ctx context.Context, op string, env bluegreen.Environment) error {
	return c.record(ctx, Call{Op: op, Service: env.Service, Detail: envDetail(env), Arg: cloneEnv(env)})
}

// sameEnv reports whether a and b name the same environment. The revision's
// Spec is left out: it may be re-encoded on its way through a store.
func sameEnv(a, b bluegreen.Environment) bool {
	return a.Service == b.Service && a.Slot == b.Slot && a.DeploymentID == b.DeploymentID && a.Revision.Name == b.Revision.Name
}

func validateEnv(env bluegreen.Environment) error {
	switch {
	case env.Service == "":
		return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("bluegreentest: environment has no Service; set Environment.Service"))
	case !env.Slot.Valid():
		return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("bluegreentest: environment slot %q: use bluegreen.SlotA or SlotB", env.Slot))
	}
	return env.Revision.Validate("Environment.Revision")
}

// ScaleUp starts env, replacing any other environment in its slot.
func (c *Compute) ScaleUp(ctx context.Context, env bluegreen.Environment) error {
	if err := c.call(ctx, "ScaleUp", env); err != nil {
		return err
	}
	if err := validateEnv(env); err != nil {
		return err
	}
	h := c.health(env)
	c.mu.Lock()
	defer c.mu.Unlock()
	k := slotKey{env.Service, env.Slot}
	if cur, ok := c.envs[k]; ok && sameEnv(cur.env, env) {
		return nil
	}
	c.envs[k] = &instance{env: cloneEnv(env), health: h, started: c.now()}
	return nil
}

// Status reports env's instances; a zero Status if env is not in its slot.
func (c *Compute) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	if err := c.call(ctx, "Status", env); err != nil {
		return bluegreen.Status{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.envs[slotKey{env.Service, env.Slot}]
	if !ok || !sameEnv(in.env, env) {
		return bluegreen.Status{}, nil
	}
	in.statusCalls++
	return c.statusOf(in), nil
}

// statusOf is the status of in now. c.mu must be held.
func (c *Compute) statusOf(in *instance) bluegreen.Status {
	n := c.instances
	h := in.health
	switch {
	case in.crashed != "":
		return bluegreen.Status{Desired: n, Failed: true, Reason: in.crashed}
	case h.Never || in.statusCalls <= h.StatusCalls || c.now().Sub(in.started) < h.After:
		return bluegreen.Status{Desired: n, Running: n, Reason: "starting"}
	case h.Fail != "":
		return bluegreen.Status{Desired: n, Failed: true, Reason: h.Fail}
	}
	return bluegreen.Status{Desired: n, Running: n, Healthy: n}
}

// ScaleDown removes env if it is the environment in its slot.
func (c *Compute) ScaleDown(ctx context.Context, env bluegreen.Environment) error {
	if err := c.call(ctx, "ScaleDown", env); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := slotKey{env.Service, env.Slot}
	if in, ok := c.envs[k]; ok && sameEnv(in.env, env) {
		delete(c.envs, k)
	}
	return nil
}

// Running returns the environments of service that exist (started and not
// scaled down or killed, healthy or not), ordered by slot.
func (c *Compute) Running(service string) []bluegreen.Environment {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []bluegreen.Environment
	for k, in := range c.envs {
		if k.service == service {
			out = append(out, cloneEnv(in.env))
		}
	}
	slices.SortFunc(out, func(a, b bluegreen.Environment) int { return cmp.Compare(a.Slot, b.Slot) })
	return out
}

// Kill removes whatever runs in the service's slot, as if it had been
// deleted behind the Deployer's back: its Status becomes zero. It reports
// whether there was anything to kill.
func (c *Compute) Kill(service string, slot bluegreen.Slot) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := slotKey{service, slot}
	_, ok := c.envs[k]
	delete(c.envs, k)
	return ok
}

// Crash makes whatever runs in the service's slot fail: from now on its
// Status has no instance running, Failed set and reason as Reason. It reports
// whether there was anything to crash.
func (c *Compute) Crash(service string, slot bluegreen.Slot, reason string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.envs[slotKey{service, slot}]
	if ok {
		in.crashed = cmp.Or(reason, "crashed")
	}
	return ok
}

// WithoutPreparer returns c as a bluegreen.Compute that implements none of
// the optional interfaces (Preparer, Discoverer, PrimarySetter), for tests
// of a Deployer over such a backend. Calls go to c and are recorded there.
func (c *Compute) WithoutPreparer() bluegreen.Compute { return computeOnly{c} }

// computeOnly hides Compute's optional methods.
type computeOnly struct{ c *Compute }

func (o computeOnly) ScaleUp(ctx context.Context, env bluegreen.Environment) error {
	return o.c.ScaleUp(ctx, env)
}

func (o computeOnly) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	return o.c.Status(ctx, env)
}

func (o computeOnly) ScaleDown(ctx context.Context, env bluegreen.Environment) error {
	return o.c.ScaleDown(ctx, env)
}

var (
	_ bluegreen.Compute       = (*Compute)(nil)
	_ bluegreen.Preparer      = (*Compute)(nil)
	_ bluegreen.Discoverer    = (*Compute)(nil)
	_ bluegreen.PrimarySetter = (*Compute)(nil)
)
