package bluegreen

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config configures a Deployer. Compute, Router and Store are required; the
// zero value of every other field has a documented default.
type Config struct {
	// Compute runs the environments. Required unless Engine is set.
	Compute Compute
	// Router moves traffic. Required unless Engine is set.
	Router Router
	// Engine, if set, runs the lifecycle on a platform that runs blue/green
	// itself (ECS native deployments, CodeDeploy) instead of over Compute
	// and Router; see Engine.
	Engine Engine
	// Store persists state and arbitrates leases. Required; NewMemoryStore
	// serves a single process.
	Store Store

	// Hooks are the lifecycle hooks, run at their stages.
	Hooks []LifecycleHook
	// Monitors are checked between traffic steps and during waits; any alarm rolls back.
	Monitors []Monitor

	// Shift is the production traffic shift strategy; AllAtOnce if zero.
	Shift Shift
	// BakeTime is how long both environments keep running, with monitors
	// watched, after green has all production traffic. Zero skips the wait.
	BakeTime time.Duration

	// MonitorInterval is how often monitors are checked during a wait; 10s if zero.
	MonitorInterval time.Duration
	// InconclusiveTimeout bounds how long each production step, and the
	// bake time, waits for monitors answering inconclusive, counted from
	// the first inconclusive answer at that step (its own wait included);
	// OnInconclusive is then taken. 10m if zero.
	InconclusiveTimeout time.Duration
	// OnInconclusive is what happens when a monitor stays inconclusive for
	// InconclusiveTimeout; InconclusiveRollback if zero.
	OnInconclusive InconclusiveAction
	// MonitorErrorLimit is how many consecutive failed checks of one monitor
	// roll the deployment back (a monitor that cannot be read cannot vouch for
	// green); 3 if zero.
	MonitorErrorLimit int
	// HealthTimeout bounds the wait for green to become healthy; 10m if zero.
	HealthTimeout time.Duration
	// HealthInterval is how often green's status is read while waiting; 5s if zero.
	HealthInterval time.Duration
	// VerifyTimeout bounds the wait for a router Verifier to confirm new
	// routes; 5m if zero.
	VerifyTimeout time.Duration
	// VerifyInterval is how often a Verifier is asked; 1s if zero.
	VerifyInterval time.Duration
	// Retry governs retries of backend calls that fail with a retryable code.
	Retry RetryPolicy
	// LeaseTTL is how long a lease lasts without renewal; 1m if zero. The
	// Deployer renews all its leases at once, at a third of that, by writing
	// one heartbeat record (see ReplicaKey), so that a deployment's record
	// is written only when its state changes. A dead owner's leases expire
	// LeaseTTL after its last renewal and a later Deployer takes the
	// service over.
	LeaseTTL time.Duration
	// Owner names this Deployer in leases; a name made of the host name, the
	// process id and a random suffix if empty.
	Owner string
	// OnCancel is what a deployment does when its context is canceled;
	// CancelRollback if zero.
	OnCancel CancelPolicy
	// Reconcile is what RECONCILE_SERVICE does with an unfinished deployment
	// whose owner is gone; ReconcileDefault if zero.
	Reconcile ReconcilePolicy

	// Callbacks are called synchronously, in order, from the deployment's
	// goroutine; keep them fast.
	Callbacks Callbacks
	// Logger receives the deployment's progress; nothing is logged if nil.
	Logger *slog.Logger
	// Clock supplies time; the real clock if nil. Under testing/synctest the
	// real clock is already virtual.
	Clock Clock
	// NewID makes deployment ids; random 16-hex-digit ids if nil.
	NewID func() string
}

// Callbacks are functions the Deployer calls as a deployment progresses.
// Each receives the same Event the event log records.
type Callbacks struct {
	// OnStage is called when a stage starts, finishes or is skipped.
	OnStage func(Event)
	// OnHook is called when a hook is called or answers, and on pause and continue.
	OnHook func(Event)
	// OnTraffic is called when traffic is shifted or verified.
	OnTraffic func(Event)
	// OnRollback is called when a rollback starts and finishes.
	OnRollback func(Event)
	// OnEvent is called for every event.
	OnEvent func(Event)
}

// CancelPolicy says what a deployment does when its context is canceled.
type CancelPolicy uint8

// Cancel policies.
const (
	// CancelRollback rolls the deployment back, with a fresh context bounded
	// by RollbackTimeout: canceling a deploy command puts blue back.
	CancelRollback CancelPolicy = iota
	// CancelDetach stops driving the deployment and leaves traffic and state
	// as they are; the lease lapses after LeaseTTL and the next deployment of
	// the service settles it in RECONCILE_SERVICE. For a platform service that
	// restarts with thousands of deployments in flight.
	CancelDetach
)

// RollbackTimeout bounds a rollback that runs after the caller's context was
// canceled.
const RollbackTimeout = 5 * time.Minute

// ReconcilePolicy says what RECONCILE_SERVICE does with an unfinished
// deployment whose owner is gone.
type ReconcilePolicy uint8

// Reconcile policies.
const (
	// ReconcileDefault resumes an unfinished deployment where that is safe.
	// Deployer.Reconcile resumes it from where it stood (see
	// StartReconcile). A new Deploy of the service completes it if green
	// already had all production traffic (the rest of its bake time, with
	// monitors watched, then clean-up), as ECS does, and rolls it back
	// otherwise, since the caller wants the newer revision.
	ReconcileDefault ReconcilePolicy = iota
	// ReconcileRollback always rolls an unfinished deployment back.
	ReconcileRollback
	// ReconcileRefuse makes Deploy refuse to start while a deployment is
	// unfinished; Deployer.Reconcile then settles it as ReconcileDefault does.
	ReconcileRefuse
	// ReconcileResume resumes an unfinished deployment from its persisted
	// step everywhere: a new Deploy of the service first takes it to its end
	// (it may still roll back), then deploys.
	ReconcileResume
)

// RetryPolicy governs retries of backend calls that fail with a retryable
// code (CodeTransient, CodeThrottled, CodeTimeout). AWS adapters leave this to
// the SDK's retryer and classify only what is left.
type RetryPolicy struct {
	// Attempts is the most calls in all; 5 if zero; 1 disables retries.
	Attempts int
	// Initial is the first backoff; 500ms if zero. It doubles after each try.
	Initial time.Duration
	// Max caps the backoff; 30s if zero.
	Max time.Duration
}

// Clock supplies time to the Deployer.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives after d.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// withDefaults returns c with defaults filled in.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MonitorInterval, 10*time.Second)
	def(&c.InconclusiveTimeout, 10*time.Minute)
	def(&c.HealthTimeout, 10*time.Minute)
	def(&c.HealthInterval, 5*time.Second)
	def(&c.VerifyTimeout, 5*time.Minute)
	def(&c.VerifyInterval, time.Second)
	def(&c.LeaseTTL, time.Minute)
	def(&c.Retry.Initial, 500*time.Millisecond)
	def(&c.Retry.Max, 30*time.Second)
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = 5
	}
	if c.MonitorErrorLimit == 0 {
		c.MonitorErrorLimit = 3
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.NewID == nil {
		c.NewID = randomID
	}
	if c.Owner == "" {
		c.Owner = defaultOwner()
	}
	return c
}

// Validate checks the configuration and returns the first problem found, as
// a *ConfigError naming the field and the fix.
func (c Config) Validate() error {
	_, err := c.validate()
	return err
}

func (c Config) validate() ([]Step, error) {
	switch {
	case c.Engine != nil:
	case c.Compute == nil:
		return nil, &ConfigError{Field: "Config.Compute", Problem: "missing", Fix: "set a compute backend, such as local.NewCompute or bluegreentest.NewCompute"}
	case c.Router == nil:
		return nil, &ConfigError{Field: "Config.Router", Problem: "missing", Fix: "set a router, such as proxy.New or bluegreentest.NewRouter"}
	case c.Store == nil:
		return nil, &ConfigError{Field: "Config.Store", Problem: "missing", Fix: "set a store, such as bluegreen.NewMemoryStore()"}
	}
	steps, err := c.Shift.Resolve("Config.Shift")
	if err != nil {
		return nil, err
	}
	if c.Engine != nil && c.Store == nil {
		return nil, &ConfigError{Field: "Config.Store", Problem: "missing", Fix: "set a store, such as bluegreen.NewMemoryStore()"}
	}
	if err := c.validateDurations(); err != nil {
		return nil, err
	}
	if c.Retry.Attempts < 0 {
		return nil, &ConfigError{Field: "Config.Retry.Attempts", Problem: fmt.Sprintf("negative (%d)", c.Retry.Attempts), Fix: "use 1 for no retries, or 0 for the default of 5"}
	}
	if c.MonitorErrorLimit < 0 {
		return nil, &ConfigError{Field: "Config.MonitorErrorLimit", Problem: fmt.Sprintf("negative (%d)", c.MonitorErrorLimit), Fix: "use a positive count, or 0 for the default of 3"}
	}
	if c.OnCancel > CancelDetach {
		return nil, &ConfigError{Field: "Config.OnCancel", Problem: fmt.Sprintf("unknown policy %d", c.OnCancel), Fix: "use CancelRollback or CancelDetach"}
	}
	if c.Reconcile > ReconcileResume {
		return nil, &ConfigError{Field: "Config.Reconcile", Problem: fmt.Sprintf("unknown policy %d", c.Reconcile), Fix: "use ReconcileDefault, ReconcileRollback, ReconcileRefuse or ReconcileResume"}
	}
	if c.OnInconclusive > InconclusiveContinue {
		return nil, &ConfigError{Field: "Config.OnInconclusive", Problem: fmt.Sprintf("unknown action %d", c.OnInconclusive), Fix: "use InconclusiveRollback or InconclusiveContinue"}
	}
	names := map[string]bool{}
	for i, h := range c.Hooks {
		f := fmt.Sprintf("Config.Hooks[%d]", i)
		if err := h.validate(f); err != nil {
			return nil, err
		}
		if names[h.Name] {
			return nil, &ConfigError{Field: f + ".Name", Problem: fmt.Sprintf("%q used twice", h.Name), Fix: "give each hook its own name"}
		}
		names[h.Name] = true
	}
	monitors := map[string]bool{}
	for i, m := range c.Monitors {
		f := fmt.Sprintf("Config.Monitors[%d]", i)
		switch {
		case m == nil:
			return nil, &ConfigError{Field: f, Problem: "nil", Fix: "remove it or set a monitor"}
		case strings.TrimSpace(m.Name()) == "":
			return nil, &ConfigError{Field: f, Problem: "the monitor has no name", Fix: "name it (bluegreen.NewMonitor takes a name); names appear in events and rollback results"}
		case monitors[m.Name()]:
			return nil, &ConfigError{Field: f, Problem: fmt.Sprintf("monitor name %q used twice", m.Name()), Fix: "give each monitor its own name"}
		}
		monitors[m.Name()] = true
	}
	return steps, nil
}

// durationBounds are the lower bounds of the configuration's durations: a
// value below them is a typo (LeaseTTL: 1 is a nanosecond, not a minute)
// that would turn a deployment into a busy loop of store writes or polls.
var durationBounds = []struct {
	name string
	get  func(*Config) time.Duration
	min  time.Duration
	def  string
}{
	{"BakeTime", func(c *Config) time.Duration { return c.BakeTime }, 0, "0 (no bake time)"},
	{"MonitorInterval", func(c *Config) time.Duration { return c.MonitorInterval }, 10 * time.Millisecond, "10s"},
	{"InconclusiveTimeout", func(c *Config) time.Duration { return c.InconclusiveTimeout }, 0, "10m"},
	{"HealthTimeout", func(c *Config) time.Duration { return c.HealthTimeout }, 0, "10m"},
	{"HealthInterval", func(c *Config) time.Duration { return c.HealthInterval }, 10 * time.Millisecond, "5s"},
	{"VerifyTimeout", func(c *Config) time.Duration { return c.VerifyTimeout }, 0, "5m"},
	{"VerifyInterval", func(c *Config) time.Duration { return c.VerifyInterval }, 10 * time.Millisecond, "1s"},
	{"LeaseTTL", func(c *Config) time.Duration { return c.LeaseTTL }, time.Second, "1m"},
	{"Retry.Initial", func(c *Config) time.Duration { return c.Retry.Initial }, time.Millisecond, "500ms"},
	{"Retry.Max", func(c *Config) time.Duration { return c.Retry.Max }, time.Millisecond, "30s"},
}

func (c *Config) validateDurations() error {
	for _, b := range durationBounds {
		d := b.get(c)
		switch {
		case d < 0:
			return &ConfigError{Field: "Config." + b.name, Problem: fmt.Sprintf("negative (%v)", d), Fix: "use a positive duration, or 0 for the default of " + b.def}
		case d > 0 && d < b.min:
			return &ConfigError{Field: "Config." + b.name, Problem: fmt.Sprintf("%v is below the least useful value, %v", d, b.min),
				Fix: fmt.Sprintf("use at least %v; a bare number is nanoseconds, so write 30*time.Second; or 0 for the default of %s", b.min, b.def)}
		}
	}
	if c.Retry.Max > 0 && c.Retry.Initial > c.Retry.Max {
		return &ConfigError{Field: "Config.Retry.Max", Problem: fmt.Sprintf("%v is below Retry.Initial (%v)", c.Retry.Max, c.Retry.Initial), Fix: "make Retry.Max at least Retry.Initial"}
	}
	return nil
}
