package local

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Status reports env's instances: Running counts live processes, Healthy
// those that also pass their readiness check now (a TCP connection, or a
// 2xx answer at the readiness path), checked as Status runs.
//
// Failed is set when the environment cannot become ready, since instances
// are not restarted: an instance exited before it was ever seen healthy,
// every instance has exited, or an instance is still not healthy after the
// grace period. Reason names the instance, how it exited and its log file.
//
// When every instance is healthy for the first time, Status hands their
// addresses to Options.Targets, before it reports them healthy; if that
// fails, Status returns the error.
//
// An environment never started, already scaled down, or replaced by another
// deployment's in its slot reports the zero Status.
func (c *Compute) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	if err := ctx.Err(); err != nil {
		return bluegreen.Status{}, err
	}
	k, err := key(env)
	if err != nil {
		return bluegreen.Status{}, err
	}
	e, err := c.lookup(k)
	if err != nil {
		return bluegreen.Status{}, err
	}
	if e == nil || e.env.DeploymentID != env.DeploymentID {
		return bluegreen.Status{}, nil
	}
	st, _, err := c.status(ctx, e, true)
	return st, err
}

// status checks e's instances and judges them. It reports exists false
// (and the zero Status) if e never ran: its start failed. If register is
// set, an environment found ready is handed to Options.Targets.
func (c *Compute) status(ctx context.Context, e *environment, register bool) (st bluegreen.Status, exists bool, err error) {
	select {
	case <-e.started:
	default:
		return bluegreen.Status{Desired: e.spec.Instances, Reason: "starting"}, true, nil
	}
	if e.startErr != nil { // ScaleUp failed and returned why; nothing runs
		return bluegreen.Status{}, false, nil
	}
	c.mu.Lock()
	stopping := e.stopping
	c.mu.Unlock()
	if stopping {
		st := bluegreen.Status{Reason: "stopping"}
		for _, inst := range e.instances {
			if !inst.exited() {
				st.Running++
			}
		}
		return st, true, nil
	}

	checks := c.checkAll(ctx, e)
	if err := ctx.Err(); err != nil {
		return bluegreen.Status{}, false, err
	}
	st = c.judge(e, checks, time.Now())
	if register && st.Ready() && c.targets != nil {
		if err := c.register(ctx, e); err != nil {
			return bluegreen.Status{}, false, err
		}
	}
	return st, true, nil
}

// checkAll checks every live instance of e at once; the result of an
// exited instance is errExited.
func (c *Compute) checkAll(ctx context.Context, e *environment) []error {
	results := make([]error, len(e.instances))
	var wg sync.WaitGroup
	for i, inst := range e.instances {
		if inst.exited() {
			results[i] = errExited
			continue
		}
		wg.Go(func() { results[i] = c.check(ctx, e.spec.Readiness, inst.addr) })
	}
	wg.Wait()
	return results
}

var errExited = fmt.Errorf("exited")

// check runs one readiness check of the instance at addr.
func (c *Compute) check(ctx context.Context, r Readiness, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(r.Timeout))
	defer cancel()
	if r.Path == "" {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+r.Path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "bluegreen-local-health-check")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s answered %s", r.Path, resp.Status)
	}
	return nil
}

// judge turns check results into a Status, and remembers which instances
// have been seen healthy.
func (c *Compute) judge(e *environment, checks []error, now time.Time) bluegreen.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := bluegreen.Status{Desired: e.spec.Instances}
	if st.Desired <= 0 {
		// ParseSpec refuses such a spec; a hand-written state file could
		// still hold one. Say so at once rather than have the Deployer wait
		// for a readiness that cannot come.
		st.Desired, st.Failed = 0, true
		st.Reason = fmt.Sprintf("desired count is 0: %s asks for no instances, so it can never become ready; "+
			"set Revision.Spec.instances to 1 to %d, or leave it out for %d", e.env.Revision.Name, MaxInstances, DefaultInstances)
		return st
	}
	if len(e.instances) == 0 {
		st.Failed = true
		st.Reason = fmt.Sprintf("none of the %d desired instances is running: none is recorded", st.Desired)
		return st
	}
	grace := time.Duration(e.spec.Readiness.GracePeriod)
	var failure, waiting string
	for i, inst := range e.instances {
		err := checks[i]
		switch {
		case err == errExited:
			how := fmt.Sprintf("instance %d (pid %d) %s", inst.index, inst.pid, exitString(inst.exitErr))
			if !inst.everHealthy && failure == "" {
				failure = how + " before it became healthy; its output is in " + inst.logPath
			}
			if waiting == "" {
				waiting = how + "; its output is in " + inst.logPath
			}
			continue
		case err == nil:
			inst.everHealthy = true
			st.Running++
			st.Healthy++
			continue
		}
		st.Running++
		if !inst.everHealthy && now.Sub(inst.start) > grace && failure == "" {
			failure = fmt.Sprintf("instance %d (%s) not healthy %v after it started: %v; its output is in %s",
				inst.index, inst.addr, grace, err, inst.logPath)
		}
		if waiting == "" {
			waiting = fmt.Sprintf("instance %d (%s) not healthy: %v", inst.index, inst.addr, err)
		}
	}
	switch {
	case st.Running == 0:
		st.Failed = true
		st.Reason = fmt.Sprintf("all %d instances exited; %s", len(e.instances), cmp.Or(failure, waiting))
	case failure != "":
		st.Failed = true
		st.Reason = failure
	case st.Healthy < st.Desired:
		st.Reason = fmt.Sprintf("%d of %d instances healthy; %s", st.Healthy, st.Desired, waiting)
	}
	return st
}

// register hands the addresses of e's instances to Targets, once.
func (c *Compute) register(ctx context.Context, e *environment) error {
	return e.withReg(ctx, func() error {
		c.mu.Lock()
		skip := e.stopping || e.registered
		c.mu.Unlock()
		if skip {
			return nil
		}
		addrs := make([]string, len(e.instances))
		for i, inst := range e.instances {
			addrs[i] = inst.addr
		}
		if err := c.targets.SetTargets(ctx, e.key.service, e.key.slot, addrs); err != nil {
			return fmt.Errorf("local: registering %v with the router: %w", e.env, err)
		}
		c.mu.Lock()
		e.registered = true
		c.mu.Unlock()
		c.log.Info("environment registered", "service", e.key.service, "slot", string(e.key.slot), "addrs", addrs)
		return nil
	})
}

// withReg runs fn holding e's registration semaphore.
func (e *environment) withReg(ctx context.Context, fn func() error) error {
	select {
	case e.reg <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.reg }()
	return fn()
}
