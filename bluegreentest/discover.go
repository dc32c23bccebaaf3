package bluegreentest

import (
	"context"

	"github.com/bluegreen-go/bluegreen"
)

// Discover returns the environments of service that run now, whoever
// started them: a test makes a brownfield world by calling ScaleUp itself
// (with any deployment id) before a Deployer ever sees the service. The
// environment SetPrimary last named is marked Primary.
func (c *Compute) Discover(ctx context.Context, service string) ([]bluegreen.Found, error) {
	if err := c.record(ctx, Call{Op: "Discover", Service: service}); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []bluegreen.Found
	for _, slot := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		in, ok := c.envs[slotKey{service, slot}]
		if !ok {
			continue
		}
		p, ok := c.primary[service]
		in.statusCalls++ // Discover reads the status as Status does
		out = append(out, bluegreen.Found{Environment: cloneEnv(in.env), Status: c.statusOf(in), Primary: ok && sameEnv(p, in.env)})
	}
	return out, nil
}

// SetPrimary marks env as its service's primary environment. It fails with
// bluegreen.CodeNotFound if env does not run.
func (c *Compute) SetPrimary(ctx context.Context, env bluegreen.Environment) error {
	if err := c.call(ctx, "SetPrimary", env); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.envs[slotKey{env.Service, env.Slot}]
	if !ok || !sameEnv(in.env, env) {
		return bluegreen.NewError(bluegreen.CodeNotFound, errNotRunning(env))
	}
	c.primary[env.Service] = cloneEnv(env)
	return nil
}

// Primary returns the environment SetPrimary last named for service, if any.
func (c *Compute) Primary(service string) (bluegreen.Environment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.primary[service]
	return cloneEnv(p), ok
}

type notRunningError struct{ env bluegreen.Environment }

func (e notRunningError) Error() string { return "bluegreentest: " + e.env.String() + " does not run" }

func errNotRunning(env bluegreen.Environment) error { return notRunningError{env} }
