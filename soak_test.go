package bluegreen_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

var soakRuns = flag.Int("soak.runs", 60, "deployments in TestFaultSoak (CI runs the default; try 2000)")

// faults injects transient failures into every backend call with a seeded
// probability and counts them.
type faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	p        float64
	on       bool
	injected int
}

func (f *faults) reactor(_ context.Context, c bluegreentest.Call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on || f.rng.Float64() >= f.p {
		return nil
	}
	f.injected++
	switch f.rng.IntN(3) {
	case 0:
		return bluegreen.NewError(bluegreen.CodeThrottled, errors.New("injected throttling on "+c.Op))
	case 1:
		return bluegreen.NewError(bluegreen.CodeTransient, errors.New("injected 503 on "+c.Op))
	default:
		return bluegreen.NewError(bluegreen.CodeTimeout, errors.New("injected timeout on "+c.Op))
	}
}

func (f *faults) intn(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.IntN(n)
}

// TestFaultSoak runs seeded deployments in virtual time where every backend
// call fails transiently with probability 0.15, hooks hang, answer garbage,
// fail or take their time, and monitors sometimes fire. Every deployment must
// end (no hang) as succeeded or rolled back — or, when faults outlast the
// retries, failed and then settled by Reconcile — with the invariants
// holding after each, and a bounded number of backend calls.
func TestFaultSoak(t *testing.T) {
	seed := uint64(20261123)
	var runs, injected, succeeded, rolledBack, failedThenSettled, settledForward, maxCalls int
	for run := range *soakRuns {
		synctest.Test(t, func(t *testing.T) {
			f := &faults{rng: rand.New(rand.NewPCG(seed, uint64(run))), p: 0.15}
			w := newWorld(nil)
			w.deployFirst(t, "web")
			for _, r := range []*bluegreentest.Recorder{&w.compute.Recorder, &w.router.Recorder, &w.store.Recorder} {
				r.React(f.reactor)
			}
			release := make(chan struct{})
			defer close(release)
			hook := bluegreen.HookFunc(func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
				switch f.intn(40) {
				case 0: // hang, ignoring ctx
					<-release
					return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
				case 1:
					return bluegreen.HookResult{Status: "GARBAGE"}, nil
				case 2:
					return bluegreen.HookResult{Status: bluegreen.HookFailed, Reason: "injected"}, nil
				case 3, 4:
					return bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: time.Duration(f.intn(90)) * time.Second}, nil
				case 5:
					return bluegreen.HookResult{}, bluegreen.NewError(bluegreen.CodeTransient, errors.New("injected hook 503"))
				}
				return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
			})
			mon := bluegreen.NewMonitor("chaos", func(context.Context, bluegreen.MonitorInput) (bluegreen.Verdict, error) {
				if f.intn(200) == 0 {
					return bluegreen.Alarmed(bluegreen.Alarm{Name: "injected"}), nil
				}
				return bluegreen.Healthy(), nil
			})
			stages := []bluegreen.Stage{bluegreen.StagePreScaleUp, bluegreen.StagePostTestTrafficShift, bluegreen.StageProductionTrafficShift}
			d, err := bluegreen.New(w.config(func(c *bluegreen.Config) {
				c.Shift, c.BakeTime = bluegreen.Linear(20, time.Minute), 10*time.Minute
				c.Hooks = []bluegreen.LifecycleHook{{Name: "chaos", Hook: hook, Stages: stages, Timeout: 5 * time.Minute}}
				c.Monitors = []bluegreen.Monitor{mon}
				c.NewID = func() string { return fmt.Sprintf("run%d", run) }
			}))
			if err != nil {
				t.Fatal(err)
			}
			f.on = true
			callsBefore := len(w.compute.Calls()) + len(w.router.Calls()) + len(w.store.Calls())
			var evs []bluegreen.Event
			dep, err := d.Start(t.Context(), "web", rev("web:2"))
			var res bluegreen.Result
			if err == nil {
				evs = events(t, dep)
				res, err = dep.Wait(t.Context())
			}
			f.mu.Lock()
			f.on = false
			injected += f.injected
			f.mu.Unlock()
			calls := len(w.compute.Calls()) + len(w.router.Calls()) + len(w.store.Calls()) - callsBefore
			maxCalls = max(maxCalls, calls)
			runs++
			switch res.Outcome {
			case bluegreen.OutcomeSucceeded:
				succeeded++
			case bluegreen.OutcomeRolledBack:
				rolledBack++
			default:
				// Faults outlasted the retries: the state is in the store and
				// the next owner settles it once the lease lapses.
				time.Sleep(2 * time.Minute)
				other, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
					c.Owner, c.Shift, c.BakeTime = "successor", bluegreen.Linear(20, time.Minute), 10*time.Minute
				}))
				rdep, rerr := other.StartReconcile(t.Context(), "web")
				if rerr != nil && !errors.Is(rerr, bluegreen.ErrNotFound) {
					t.Fatalf("run %d: deployment failed (%v) and could not be settled: %v", run, err, rerr)
				}
				if rerr == nil {
					evs = events(t, rdep)
					if res, rerr = rdep.Wait(t.Context()); rerr != nil && !errors.Is(rerr, bluegreen.ErrRolledBack) {
						t.Fatalf("run %d: deployment failed (%v) and could not be settled: %v", run, err, rerr)
					}
				}
				failedThenSettled++
				if res.Outcome == bluegreen.OutcomeSucceeded {
					settledForward++
				}
			}
			// The invariants on state, and on events: the bake honoured
			// before blue's removal, a rollback one router call.
			checkInvariants(t, w, "web", evs, 10*time.Minute)
		})
	}
	t.Logf("soak: %d runs, %d faults injected; outcomes: %d succeeded, %d rolled back, %d failed then settled by Reconcile (%d of them resumed to success); at most %d backend calls in a run",
		runs, injected, succeeded, rolledBack, failedThenSettled, settledForward, maxCalls)
	if maxCalls > 2000 {
		t.Errorf("a run made %d backend calls: retries are not bounded", maxCalls)
	}
}
