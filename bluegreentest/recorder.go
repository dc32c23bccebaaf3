package bluegreentest

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Call is one call a fake received, recorded in the order received, whether
// it succeeded or failed.
type Call struct {
	// Op is the method called: "ScaleUp", "Status", "ScaleDown", "Prepare",
	// "Restore", "SetRoutes", "Routes", "Verify", "Load", "Save", "Check" or "Run".
	Op string
	// Service is the service the call was about.
	Service string
	// Detail summarizes the arguments, such as "B web:2 deployment d1" or
	// "A=90% B=10% test=B", for readable failure messages and simple comparisons.
	Detail string
	// Arg is a copy of the call's main argument (a bluegreen.Environment,
	// Routes, Record, HookInput or MonitorInput; nil for calls that take only
	// a service), for reactors and assertions that need the typed value.
	// Compare Calls without it using cmpopts.IgnoreFields(Call{}, "Arg").
	Arg any
}

// String prints the call as "Op service detail".
func (c Call) String() string {
	s := c.Op + " " + c.Service
	if c.Detail != "" {
		s += " " + c.Detail
	}
	return s
}

// Reactor inspects a call before the fake handles it. A non-nil error is
// returned to the caller instead of handling the call, like a client-go
// reactor. Reactors run without any lock held, so they may block (to make an
// operation slow, say) but should then honor ctx; they may also call the
// fake's own methods, to kill an environment when a route changes, say.
type Reactor func(ctx context.Context, c Call) error

// Recorder is the call log and failure injection shared by every fake in this
// package; the fakes embed it, so its methods are theirs. The zero value is
// ready to use and it is safe for concurrent use.
type Recorder struct {
	mu sync.Mutex
	// calls are kept in chunks of callChunk, so a long run (thousands of
	// deployments) never copies its whole log to grow it.
	calls    [][]Call
	faults   []*fault
	reactors []Reactor
}

const callChunk = 1024

// each calls f with every call logged, in order. r.mu must be held.
func (r *Recorder) each(f func(Call)) {
	for _, chunk := range r.calls {
		for _, c := range chunk {
			f(c)
		}
	}
}

type fault struct {
	op   string
	err  error
	left int // calls still to fail; negative: every call
}

// Inject makes the next times calls of op return err, in place of doing
// anything (times <= 0: every call until ClearFaults). An empty op matches
// every operation. Injections are consumed in the order they were added; a
// nil err injects nothing. Make err with bluegreen.NewError to give it a
// code, for example bluegreen.NewError(bluegreen.CodeThrottled, err) for a
// failure the Deployer retries.
func (r *Recorder) Inject(op string, err error, times int) {
	if err == nil {
		return
	}
	left := times
	if left <= 0 {
		left = -1
	}
	r.mu.Lock()
	r.faults = append(r.faults, &fault{op: op, err: err, left: left})
	r.mu.Unlock()
}

// React adds a reactor, called for every call after injected failures are
// consulted. Reactors run in the order they were added; the first error wins.
func (r *Recorder) React(fn Reactor) {
	if fn == nil {
		return
	}
	r.mu.Lock()
	r.reactors = append(r.reactors, fn)
	r.mu.Unlock()
}

// ClearFaults removes every injected failure and reactor.
func (r *Recorder) ClearFaults() {
	r.mu.Lock()
	r.faults, r.reactors = nil, nil
	r.mu.Unlock()
}

// Reset forgets the calls received so far (faults and reactors stay), for a
// test that sets a world up through the fake and then watches only what
// the code under test does.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// Calls returns every call received so far, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	r.each(func(c Call) { out = append(out, c) })
	return out
}

// CallsOf returns the calls of op received so far, in order.
func (r *Recorder) CallsOf(op string) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	r.each(func(c Call) {
		if c.Op == op {
			out = append(out, c)
		}
	})
	return out
}

// Count returns how many calls of op were received (every call if op is empty).
func (r *Recorder) Count(op string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	r.each(func(c Call) {
		if op == "" || c.Op == op {
			n++
		}
	})
	return n
}

// record logs c and decides whether the call fails: with ctx's error if ctx
// is done, else with an injected failure, else with a reactor's error.
func (r *Recorder) record(ctx context.Context, c Call) error {
	r.mu.Lock()
	if n := len(r.calls); n == 0 || len(r.calls[n-1]) == callChunk {
		r.calls = append(r.calls, make([]Call, 0, callChunk))
	}
	last := &r.calls[len(r.calls)-1]
	*last = append(*last, c)
	if err := ctx.Err(); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("bluegreentest: %s: %w", c.Op, err)
	}
	for _, f := range r.faults {
		if f.left == 0 || (f.op != "" && f.op != c.Op) {
			continue
		}
		if f.left > 0 {
			f.left--
		}
		r.mu.Unlock()
		return f.err
	}
	reactors := slices.Clone(r.reactors)
	r.mu.Unlock()
	for _, fn := range reactors {
		if err := fn(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// argsOf returns copies of the arguments of the calls of op that carry a T.
func argsOf[T any](r *Recorder, op string, clone func(T) T) []T {
	var out []T
	for _, c := range r.CallsOf(op) {
		if a, ok := c.Arg.(T); ok {
			out = append(out, clone(a))
		}
	}
	return out
}
