package bluegreentest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	gocmp "github.com/google/go-cmp/cmp"
)

// BrownfieldHarness is what TestBrownfield needs of a compute backend and a
// router, built fresh for every subtest.
type BrownfieldHarness struct {
	// Compute runs the environments; to adopt what runs it implements
	// bluegreen.Discoverer.
	Compute bluegreen.Compute
	// Router routes the service's traffic.
	Router bluegreen.Router
	// Service is the service, set up (and torn down, with t.Cleanup) by
	// the harness.
	Service string
	// Live makes the world a user brings: it starts an environment outside
	// any Deployer, as the user's own tooling would, routes all production
	// (and test) traffic to it, and returns it as the backend identifies
	// it (what Discover reports for it). It returns once the environment
	// is healthy.
	Live func(ctx context.Context) (bluegreen.Environment, error)
	// Revision returns a revision for green that starts and passes its
	// health checks.
	Revision func() bluegreen.Revision
	// Configure adjusts the Deployer's configuration for the backend (its
	// intervals and timeouts); the suite sets the shift, the bake time,
	// hooks and the store. May be nil.
	Configure func(*bluegreen.Config)
	// Timeout bounds each deployment; 2m if zero.
	Timeout time.Duration
}

// TestBrownfield runs the conformance tests of a compute backend and a
// router on a world that already serves traffic the library has no record
// of. The contract:
//
//   - RECONCILE_SERVICE adopts the live environment as blue (an ADOPTED
//     event; Result.Adopted and Result.Blue name it).
//   - A deployment whose hook fails after green has had all production
//     traffic rolls back to the adopted environment: production and test
//     traffic end on it, it still runs and is healthy, green is gone, and
//     production was never routed to nothing, in any routes the router
//     was given.
//   - A deployment that succeeds shifts traffic step by step over the
//     adopted blue, removes it at clean-up, and leaves green live.
func TestBrownfield(t *testing.T, newHarness func(t *testing.T) BrownfieldHarness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*brownfieldSuite, *testing.T)
	}{
		{"RollbackKeepsItServing", (*brownfieldSuite).rollbackKeepsItServing},
		{"DeployReplacesIt", (*brownfieldSuite).deployReplacesIt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if h.Timeout == 0 {
				h.Timeout = 2 * time.Minute
			}
			tt.fn(&brownfieldSuite{h: h}, t)
		})
	}
}

type brownfieldSuite struct{ h BrownfieldHarness }

// watchRouter records every routes a Deployer gives the router.
type watchRouter struct {
	bluegreen.Router
	mu  sync.Mutex
	set []bluegreen.Routes
}

func (w *watchRouter) SetRoutes(ctx context.Context, service string, r bluegreen.Routes) error {
	w.mu.Lock()
	w.set = append(w.set, r)
	w.mu.Unlock()
	return w.Router.SetRoutes(ctx, service, r)
}

// Verify passes through to the router's Verifier, if it has one.
func (w *watchRouter) Verify(ctx context.Context, service string, r bluegreen.Routes) (bool, error) {
	if v, ok := w.Router.(bluegreen.Verifier); ok {
		return v.Verify(ctx, service, r)
	}
	return true, nil
}

// deploy adopts the live environment and deploys green over it, with a
// hook at POST_PRODUCTION_TRAFFIC_SHIFT answering verdict.
func (s *brownfieldSuite) deploy(t *testing.T, verdict Answer) (bluegreen.Environment, bluegreen.Result, error, []bluegreen.Event, *watchRouter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), s.h.Timeout)
	defer cancel()
	live, err := s.h.Live(ctx)
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	router := &watchRouter{Router: s.h.Router}
	cfg := bluegreen.Config{
		Compute: s.h.Compute, Router: router, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(50, 0), BakeTime: time.Millisecond,
		Hooks: []bluegreen.LifecycleHook{{Name: "verdict", Hook: NewHook(verdict),
			Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}}},
	}
	if s.h.Configure != nil {
		s.h.Configure(&cfg)
	}
	d, err := bluegreen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := d.Start(ctx, s.h.Service, s.h.Revision())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var evs []bluegreen.Event
	for ev, err := range dep.Events(ctx) {
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		evs = append(evs, ev)
	}
	res, err := dep.Wait(ctx)
	if !slices.ContainsFunc(evs, func(ev bluegreen.Event) bool { return ev.Kind == bluegreen.EventAdopted }) || !res.Adopted {
		t.Errorf("no adoption: events %v, result adopted %v", kinds(evs), res.Adopted)
	}
	if res.Blue == nil || res.Blue.Slot != live.Slot || res.Blue.DeploymentID != live.DeploymentID || res.Blue.Revision.Name != live.Revision.Name {
		t.Errorf("blue %v, want the live environment %v (%s)", res.Blue, live, live.DeploymentID)
	}
	router.mu.Lock()
	defer router.mu.Unlock()
	for i, r := range router.set {
		if r.Production.Empty() {
			t.Errorf("routes #%d %v send production traffic nowhere", i, r)
		}
	}
	return live, res, err, evs, router
}

func kinds(evs []bluegreen.Event) []bluegreen.EventKind {
	out := make([]bluegreen.EventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func (s *brownfieldSuite) rollbackKeepsItServing(t *testing.T) {
	live, res, err, _, router := s.deploy(t, Fail("checkout broken on green"))
	if !errors.Is(err, bluegreen.ErrRolledBack) {
		t.Fatalf("Deploy: %v, want a rollback", err)
	}
	ctx := t.Context()
	routes, err := s.h.Router.Routes(ctx, s.h.Service)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bluegreen.Routes{Production: bluegreen.AllTo(live.Slot), Test: live.Slot}); routes != want {
		t.Errorf("routes after the rollback %v, want %v", routes, want)
	}
	if st, err := s.h.Compute.Status(ctx, live); err != nil || !st.Ready() {
		t.Errorf("the adopted environment after the rollback: %+v, %v; want it running and healthy", st, err)
	}
	waitGone(t, s.h.Compute, res.Green, s.h.Timeout)
	if n := len(router.set); n < 3 {
		t.Errorf("%d router calls, want the test route, two production steps and the rollback", n)
	}
}

func (s *brownfieldSuite) deployReplacesIt(t *testing.T) {
	live, res, err, evs, _ := s.deploy(t, Succeed())
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	steps := 0
	for _, ev := range evs {
		if ev.Kind == bluegreen.EventTrafficShifted && ev.Stage == bluegreen.StageProductionTrafficShift {
			steps++
		}
	}
	if steps != 2 {
		t.Errorf("%d production steps, want 2: linear 50%% over the adopted blue", steps)
	}
	routes, err := s.h.Router.Routes(t.Context(), s.h.Service)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bluegreen.Routes{Production: bluegreen.AllTo(res.Green.Slot), Test: res.Green.Slot}); routes != want {
		t.Errorf("routes %v, want %v", routes, want)
	}
	if diff := gocmp.Diff(res.Green.Revision.Name, res.Live.Revision.Name); diff != "" {
		t.Errorf("live (-green +live):\n%s", diff)
	}
	waitGone(t, s.h.Compute, live, s.h.Timeout)
}

// waitGone waits for env to report the zero Status (backends may drain).
func waitGone(t *testing.T, c bluegreen.Compute, env bluegreen.Environment, timeout time.Duration) {
	t.Helper()
	err := poll(t.Context(), timeout, 0, func(ctx context.Context) (bool, error) {
		st, err := c.Status(ctx, env)
		return st == (bluegreen.Status{}), err
	})
	if err != nil {
		t.Errorf("%v not removed: %v", env, err)
	}
}
