package bluegreen

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// Deployment is the handle of a deployment started with Deployer.Start. Its
// methods are safe for concurrent use.
type Deployment struct {
	id      string
	service string
	cmds    chan command
	done    chan struct{}

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed when events grow; made by the first watcher to wait
	result  Result
	err     error
	// onFinish runs before Done is closed: the Deployer's claim on the
	// service ends with the deployment.
	onFinish func()
	// stage is the stage the deployment is in, for Deployer.Metrics.
	stage atomic.Uint32
	// parent, set on a release group member's internal handle, is the
	// group's handle: the member's events are appended to its log.
	parent *Deployment
	// groupResult is a release group's result, once it has ended.
	groupResult *GroupResult
}

// ID returns the deployment's id.
func (d *Deployment) ID() string { return d.id }

// Service returns the name of the service being deployed.
func (d *Deployment) Service() string { return d.service }

// Done returns a channel that is closed when the deployment has ended.
func (d *Deployment) Done() <-chan struct{} { return d.done }

// Wait blocks until the deployment ends or ctx is done, and returns its
// result. The error is nil when the deployment succeeded; it satisfies
// errors.Is(err, ErrRolledBack) after a rollback (errors.As with
// *RollbackError tells why), and carries the cause when the deployment
// failed. Canceling ctx stops only the waiting, not the deployment.
func (d *Deployment) Wait(ctx context.Context) (Result, error) {
	select {
	case <-d.done:
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.result, d.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Events returns the deployment's events: first every event so far, from the
// start, then each new one as it happens, until the deployment's EventDone.
// Several callers may range over Events at once, and each call starts again
// from the first event. Breaking out of the loop stops only the watching,
// never the deployment. If ctx is done before the deployment ends, the
// iterator yields ctx's error once and stops.
func (d *Deployment) Events(ctx context.Context) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		next := 0
		for {
			d.mu.Lock()
			batch := d.events[next:len(d.events):len(d.events)]
			if d.changed == nil {
				d.changed = make(chan struct{})
			}
			changed := d.changed
			d.mu.Unlock()
			for _, ev := range batch {
				if !yield(ev, nil) {
					return
				}
				if ev.Kind == EventDone {
					return
				}
			}
			next += len(batch)
			select {
			case <-changed:
			case <-ctx.Done():
				yield(Event{}, ctx.Err())
				return
			}
		}
	}
}

// Rollback asks the deployment to roll back, giving reason. It returns once
// the deployment has accepted the request; Wait reports the outcome. A
// rollback is accepted at any stage until blue's removal begins in CLEAN_UP;
// after that, and after the deployment ended, it returns an error with
// CodeFailedPrecondition.
func (d *Deployment) Rollback(ctx context.Context, reason string) error {
	return d.send(ctx, command{kind: cmdRollback, reason: reason})
}

// Continue releases the pause hooks holding the deployment at its current
// stage. It returns an error with CodeFailedPrecondition if the deployment is
// not paused.
func (d *Deployment) Continue(ctx context.Context) error {
	return d.send(ctx, command{kind: cmdContinue})
}

// Promote skips the rest of the current wait: a linear or canary step's wait,
// or the bake time. It returns an error with CodeFailedPrecondition if the
// deployment is not waiting.
func (d *Deployment) Promote(ctx context.Context) error {
	return d.send(ctx, command{kind: cmdPromote})
}

func (d *Deployment) send(ctx context.Context, c command) error {
	c.reply = make(chan error, 1)
	select {
	case d.cmds <- c:
	case <-d.done:
		return &Error{Code: CodeFailedPrecondition, Service: d.service, Op: c.kind.String(), Err: errEnded}
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Deployment) append(ev Event) Event {
	if d.parent != nil {
		if ev.DeploymentID == "" {
			ev.DeploymentID = d.id
		}
		return d.parent.append(ev)
	}
	d.mu.Lock()
	if d.events == nil {
		d.events = make([]Event, 0, 32)
	}
	ev.Seq = len(d.events) + 1
	if ev.DeploymentID == "" {
		ev.DeploymentID = d.id
	}
	d.events = append(d.events, ev)
	if d.changed != nil {
		close(d.changed)
		d.changed = nil
	}
	d.mu.Unlock()
	return ev
}

func (d *Deployment) finish(res Result, err error) {
	if d.onFinish != nil {
		d.onFinish()
	}
	d.mu.Lock()
	d.result, d.err = res, err
	d.mu.Unlock()
	close(d.done)
}

type commandKind uint8

const (
	cmdRollback commandKind = iota + 1
	cmdContinue
	cmdPromote
	cmdHandover // stop driving, give the lease up at once (Deployer.Run's shutdown)
)

func (k commandKind) String() string {
	switch k {
	case cmdRollback:
		return "Rollback"
	case cmdContinue:
		return "Continue"
	case cmdPromote:
		return "Promote"
	case cmdHandover:
		return "Handover"
	}
	return "command"
}

type command struct {
	kind   commandKind
	reason string
	reply  chan error
}

// Result is how a deployment ended.
type Result struct {
	// DeploymentID identifies the deployment.
	DeploymentID string `json:"deploymentId"`
	// Service is the service deployed.
	Service string `json:"service"`
	// Outcome is how it ended.
	Outcome Outcome `json:"outcome"`
	// Blue is the environment that was live before; nil on a first deployment.
	Blue *Environment `json:"blue,omitempty"`
	// Adopted is set when blue was found serving rather than recorded by an
	// earlier deployment (see Discoverer).
	Adopted bool `json:"adopted,omitempty"`
	// Green is the environment deployed.
	Green Environment `json:"green"`
	// Live is the environment live afterwards: green after a success, blue
	// after a rollback; nil if nothing is live.
	Live *Environment `json:"live,omitempty"`
	// Stage is the last stage the deployment reached.
	Stage Stage `json:"stage"`
	// Rollback says why, where and by whom it was rolled back.
	Rollback *RollbackInfo `json:"rollback,omitempty"`
	// Started and Finished bound the deployment.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// RollbackError is the error of a deployment that was rolled back.
// errors.Is(err, ErrRolledBack) holds for it.
type RollbackError struct {
	Service string
	Info    RollbackInfo
}

// Error says why the deployment was rolled back.
func (e *RollbackError) Error() string {
	s := "bluegreen: service " + e.Service + ": rolled back at " + e.Info.Stage.String()
	if e.Info.Step > 0 {
		s += " step " + itoa(e.Info.Step)
	}
	s += " (" + string(e.Info.Trigger)
	if e.Info.By != "" {
		s += " " + e.Info.By
	}
	return s + "): " + e.Info.Reason
}

// Is makes errors.Is(err, ErrRolledBack) hold.
func (e *RollbackError) Is(target error) bool { return target == ErrRolledBack }
