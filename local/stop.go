package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// ScaleDown stops the instances of env: it tells Targets (if any) to drop
// their addresses, which drains them, then sends each process group
// SIGTERM, and SIGKILL after the stop timeout. It returns once every
// process is gone. It is idempotent, and succeeds for an environment that
// is not running (or that the slot's current environment is not: a slot
// running another deployment's environment is left alone).
//
// If Targets fails, ScaleDown stops nothing and returns the error, because
// the instances may still get traffic. If ctx ends while instances are
// given time to exit, they are killed at once.
func (c *Compute) ScaleDown(ctx context.Context, env bluegreen.Environment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := key(env)
	if err != nil {
		return err
	}
	e, err := c.lookup(k)
	if err != nil {
		return err
	}
	if e == nil || e.env.DeploymentID != env.DeploymentID {
		return nil
	}
	return c.scaleDown(ctx, e, true)
}

// scaleDown stops e, deregistering it first if deregister is set.
func (c *Compute) scaleDown(ctx context.Context, e *environment, deregister bool) error {
	// One scale-down of e at a time; the others wait for it and then find
	// e gone.
	select {
	case e.down <- struct{}{}:
		defer func() { <-e.down }()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-e.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	if e.gone {
		c.mu.Unlock()
		return nil
	}
	e.stopping = true
	c.mu.Unlock()

	if deregister && c.targets != nil && e.startErr == nil {
		err := e.withReg(ctx, func() error {
			return c.targets.SetTargets(ctx, e.key.service, e.key.slot, nil)
		})
		if err != nil {
			c.mu.Lock()
			e.stopping = false
			c.mu.Unlock()
			return fmt.Errorf("local: removing %v from the router before stopping it: %w", e.env, err)
		}
	}

	var wg sync.WaitGroup
	for _, inst := range e.instances {
		wg.Go(func() { c.stopInstance(ctx, inst, time.Duration(e.spec.StopTimeout)) })
	}
	wg.Wait()
	if c.stateDir != "" {
		if err := c.removeState(e.key); err != nil {
			return err
		}
	}

	c.mu.Lock()
	e.gone = true
	if c.envs[e.key] == e {
		delete(c.envs, e.key)
	}
	c.mu.Unlock()
	c.log.Info("environment stopped", "service", e.key.service, "slot", string(e.key.slot),
		"revision", e.env.Revision.Name, "deployment", e.env.DeploymentID)
	return nil
}

// Close stops every instance of every environment (SIGTERM, then SIGKILL
// after the stop timeout) and waits for them to exit. It does not tell
// Targets: call ScaleDown for an orderly removal that drains traffic.
// After Close, ScaleUp fails; Status and ScaleDown still work.
//
// In detached mode (Options.StateDir) Close stops nothing: the instances
// keep running, for a later deployer to adopt.
func (c *Compute) Close() error {
	c.mu.Lock()
	c.closed = true
	if c.stateDir != "" {
		c.mu.Unlock()
		return nil
	}
	envs := make([]*environment, 0, len(c.envs))
	for _, e := range c.envs {
		envs = append(envs, e)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range envs {
		wg.Go(func() { _ = c.scaleDown(context.Background(), e, false) })
	}
	wg.Wait()
	c.procs.Wait()
	return nil
}
