package local

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/internal/svcname"
)

// DefaultStopTimeout is how long an instance has to exit after SIGTERM
// when neither its Spec nor Options say.
const DefaultStopTimeout = 10 * time.Second

// Options configures a Compute. The zero value works: two instances per
// environment, logs in the system's temporary directory, no router.
type Options struct {
	// LogDir receives one log file per instance, holding its stdout and
	// stderr: <service>-<slot>-<deployment id>-<index>.log. It is created
	// if missing; <os.TempDir()>/bluegreen-local if empty.
	LogDir string
	// Targets is told the addresses of each environment's instances once
	// they are healthy, and told to forget them (and drain them) before
	// they are stopped. Nil registers nothing.
	Targets Targets
	// StopTimeout is how long an instance has to exit after SIGTERM before
	// it gets SIGKILL, unless its Spec says; DefaultStopTimeout if zero.
	StopTimeout time.Duration
	// Env is the environment every instance starts from, before its Spec's
	// Env and the backend's variables; os.Environ() if nil.
	Env []string
	// Logger receives the backend's events (instances started, exited,
	// stopped); nothing is logged if nil.
	Logger *slog.Logger
	// StateDir, if set, detaches instances from the deployer: they do not
	// die with it, Close leaves them running, and each running environment
	// is recorded in a file in StateDir (created if missing), so that a
	// Compute in a later deployer process, given the same StateDir, finds
	// and adopts them (Status, ScaleDown, an idempotent ScaleUp). Use it
	// when a short-lived deploy command deploys behind a long-running
	// proxy. Only one deployer at a time may act on a service, which the
	// Deployer's lease ensures. Linux and macOS only: elsewhere New fails
	// with code bluegreen.CodeFailedPrecondition.
	StateDir string
}

// Compute is the local compute backend: it runs each environment as
// processes on this host, listening on loopback ports. It implements
// bluegreen.Compute; one Compute serves many services. Its methods are safe
// for concurrent use.
//
// It does not restart instances that exit: an instance that dies is
// reported unhealthy, and an environment whose instances died before they
// became healthy reports Failed, for the Deployer to roll back.
//
// Instances are children of the deployer's process: on Linux the kernel
// kills them if the deployer dies, and Close stops them all on an orderly
// exit, so that nothing is left running. (A program an instance starts in
// turn is stopped with it by ScaleDown and Close, which signal the whole
// process group, but not by the kernel if the deployer dies.) In detached
// mode (Options.StateDir) instances outlive the deployer instead.
type Compute struct {
	logDir      string
	targets     Targets
	stopTimeout time.Duration
	baseEnv     []string
	log         *slog.Logger
	client      *http.Client
	stateDir    string // "" unless detached

	mu     sync.Mutex
	envs   map[envKey]*environment
	ports  map[int]bool // ports handed to running instances
	closed bool
	procs  sync.WaitGroup // one per instance process, done once it is reaped
}

var _ bluegreen.Compute = (*Compute)(nil)

type envKey struct {
	service string
	slot    bluegreen.Slot
}

// New returns a Compute.
func New(opts Options) (*Compute, error) {
	if opts.StopTimeout < 0 {
		return nil, invalid("Options.StopTimeout", "negative", "use a duration such as 10s, or zero for the default")
	}
	logDir := cmp.Or(opts.LogDir, filepath.Join(os.TempDir(), "bluegreen-local"))
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("local: creating the log directory: %w", err)
	}
	if opts.StateDir != "" {
		if err := checkPlatform(true); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("local: creating the state directory: %w", err)
		}
	}
	c := &Compute{
		logDir:      logDir,
		targets:     opts.Targets,
		stopTimeout: cmp.Or(opts.StopTimeout, DefaultStopTimeout),
		baseEnv:     opts.Env,
		log:         opts.Logger,
		stateDir:    opts.StateDir,
		envs:        map[envKey]*environment{},
		ports:       map[int]bool{},
		client: &http.Client{
			// Health checks: no proxy from the environment, no idle
			// connections kept open to instances (they would delay their
			// graceful shutdown), no redirects followed.
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: (&net.Dialer{}).DialContext},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	if c.baseEnv == nil {
		c.baseEnv = os.Environ()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// LogDir returns the directory of the instances' log files.
func (c *Compute) LogDir() string { return c.logDir }

// key checks the parts of env that name files and returns its key.
func key(env bluegreen.Environment) (envKey, error) {
	if err := svcname.Check(env.Service); err != nil {
		return envKey{}, invalid("Environment.Service", err.Error(), svcname.Fix)
	}
	if !env.Slot.Valid() {
		return envKey{}, invalid("Environment.Slot", fmt.Sprintf("unknown slot %q", env.Slot), `use "A" or "B"`)
	}
	return envKey{env.Service, env.Slot}, nil
}

// ScaleUp starts the instances of env and returns without waiting for them
// to become healthy; Status reports their progress. It is idempotent for
// (service, slot, deployment id): a repeated call while env runs, or is
// starting, starts nothing more. If the slot runs an environment of another
// deployment, ScaleUp fails with code bluegreen.CodeFailedPrecondition:
// scale that one down first. On a system that cannot run instances
// (Windows) it fails with that code too, saying so.
func (c *Compute) ScaleUp(ctx context.Context, env bluegreen.Environment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := key(env)
	if err != nil {
		return err
	}
	spec, err := ParseSpec(env.Revision)
	if err != nil {
		return err
	}
	if err := checkPlatform(c.stateDir != ""); err != nil {
		return err
	}
	if spec.StopTimeout == 0 {
		spec.StopTimeout = Duration(c.stopTimeout)
	}
	for {
		e, err := c.lookup(k)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return errClosed
		}
		if e == nil {
			if c.envs[k] != nil { // started meanwhile: look again
				c.mu.Unlock()
				continue
			}
			e = newEnvironment(env, spec)
			c.envs[k] = e
			c.mu.Unlock()
			return c.start(e)
		}
		c.mu.Unlock()
		if e.env.DeploymentID != env.DeploymentID {
			return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
				"local: slot %s of %s runs %s of deployment %q; scale it down before starting deployment %q there",
				k.slot, k.service, e.env.Revision.Name, e.env.DeploymentID, env.DeploymentID))
		}
		select {
		case <-e.started:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
		current, stopping := c.envs[k] == e, e.stopping
		c.mu.Unlock()
		switch {
		case !current:
			// Its start failed or it was scaled down since: start afresh.
			continue
		case stopping:
			return bluegreen.NewError(bluegreen.CodeTransient, fmt.Errorf(
				"local: %v is being scaled down; try again once it is gone", env))
		}
		return nil
	}
}

// start starts the instances of e, which is in c.envs, and closes
// e.started. If one cannot start, it kills those it started, removes e and
// returns why.
func (c *Compute) start(e *environment) error {
	var err error
	for i := range e.spec.Instances {
		var inst *instance
		if inst, err = c.startInstance(e, i); err != nil {
			break
		}
		e.instances = append(e.instances, inst)
		if c.stateDir != "" {
			// After every instance, so that a deployer dying midway
			// leaves no detached instance unrecorded.
			if err = c.saveState(e, e.instances); err != nil {
				break
			}
			inst.openGate()
		}
	}
	if err != nil {
		for _, inst := range e.instances {
			if inst.gate != nil {
				inst.gate.Close() // a gated instance then exits by itself
			}
			c.stopInstance(context.Background(), inst, 0)
		}
		if c.stateDir != "" {
			_ = c.removeState(e.key) // best effort: its processes are gone
		}
		c.mu.Lock()
		if c.envs[e.key] == e {
			delete(c.envs, e.key)
		}
		c.mu.Unlock()
		e.instances = nil
	}
	e.startErr = err
	close(e.started)
	if err == nil {
		c.log.Info("environment started", "service", e.key.service, "slot", string(e.key.slot),
			"revision", e.env.Revision.Name, "deployment", e.env.DeploymentID, "instances", len(e.instances))
	}
	return err
}
