package bluegreen_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// brownfield returns a world where web:1 already serves all production
// traffic from slot A, started by someone else's tooling: it runs in the
// compute backend under a deployment id no store knows, the router sends
// everything to it, and the store has no record of the service.
func brownfield(t *testing.T) (*world, bluegreen.Environment) {
	t.Helper()
	w := newWorld(nil)
	live := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: rev("web:1"), DeploymentID: "ecs-svc/1234"}
	if err := w.compute.ScaleUp(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	if err := w.compute.SetPrimary(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	before := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}
	w.router = bluegreentest.NewRouter(bluegreentest.RouterOptions{Initial: map[string]bluegreen.Routes{"web": before}})
	w.compute.Reset()
	return w, live
}

// TestAdoptThenRollBack is the first finding of "meet the world as users
// bring it": a first deployment onto a service that already serves must not
// cut production to nothing when it rolls back. The live environment is
// adopted as blue, so the deployment shifts step by step with a bake, and
// its rollback puts all traffic back on it in one router call.
func TestAdoptThenRollBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, live := brownfield(t)
		d, err := bluegreen.New(w.config(func(c *bluegreen.Config) {
			c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), 10*time.Minute
			c.Hooks = []bluegreen.LifecycleHook{{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("orders failing")),
				Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}}}
		}))
		if err != nil {
			t.Fatal(err)
		}
		dep, err := d.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		res, err := dep.Wait(t.Context())
		if !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("Deploy: %v, want a rollback\n%s", err, strings.Join(summary(evs), "\n"))
		}
		if !res.Adopted || !cmp.Equal(res.Blue, &live) || !cmp.Equal(res.Live, &live) {
			t.Errorf("result blue %v live %v adopted %v; want %v adopted and live again", res.Blue, res.Live, res.Adopted, live)
		}
		got := summary(evs)
		if !strings.HasPrefix(got[1], "ADOPTED RECONCILE_SERVICE adopted web:1 in slot A") {
			t.Errorf("second event %q, want the adoption", got[1])
		}
		// Two production steps (50%, 100%), not one: blue is real.
		steps := 0
		for _, ev := range evs {
			if ev.Kind == bluegreen.EventTrafficShifted && ev.Stage == bluegreen.StageProductionTrafficShift {
				steps++
			}
		}
		if steps != 2 {
			t.Errorf("%d production steps, want 2 (linear 50%% over an adopted blue)", steps)
		}
		noEmptyProduction(t, w)
		if cur := w.router.Current("web"); cur != (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}) {
			t.Errorf("routes after the rollback %v, want everything on the adopted blue", cur)
		}
		if diff := cmp.Diff([]bluegreen.Environment{live}, w.compute.Running("web")); diff != "" {
			t.Errorf("running (-want +got):\n%s", diff)
		}
		checkInvariants(t, w, "web", evs, 0)
	})
}

// TestAdoptThenSucceed: the adopted blue is baked against, made not
// primary (green is), and removed at clean-up; the next deployment finds
// green recorded as live.
func TestAdoptThenSucceed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, live := brownfield(t)
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
			c.Shift, c.BakeTime = bluegreen.Canary(10, time.Minute), 10*time.Minute
		}))
		dep, err := d.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		res, err := dep.Wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Adopted || !cmp.Equal(res.Blue, &live) || res.Live.Revision.Name != "web:2" {
			t.Errorf("result %+v", res)
		}
		if p, ok := w.compute.Primary("web"); !ok || !cmp.Equal(p, res.Green) {
			t.Errorf("primary %v (%v), want green %v", p, ok, res.Green)
		}
		if took := evs[len(evs)-1].Time.Sub(evs[0].Time); took != 11*time.Minute {
			t.Errorf("deployment took %v, want the canary's minute and the bake's ten", took)
		}
		noEmptyProduction(t, w)
		checkInvariants(t, w, "web", evs, 10*time.Minute)
		if st := state(t, w, "web"); st.Live == nil || st.Live.Revision.Name != "web:2" {
			t.Errorf("store records live %v", st.Live)
		}
	})
}

// noEmptyProduction asserts that no routes the router was ever given sent
// production traffic nowhere.
func noEmptyProduction(t *testing.T, w *world) {
	t.Helper()
	for i, r := range w.router.History("web") {
		if r.Production.Empty() {
			t.Errorf("routes #%d %v send production traffic nowhere", i, r)
		}
	}
}

// TestAdoptRefuses: where what serves cannot be told apart safely, the
// deployment refuses before it acts, naming what it found, and gives the
// lease back.
func TestAdoptRefuses(t *testing.T) {
	a := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: rev("web:1"), DeploymentID: "x1"}
	b := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: rev("web:0"), DeploymentID: "x0"}
	tests := []struct {
		name   string
		routes bluegreen.Routes
		run    []bluegreen.Environment
		want   string
	}{
		{"weights split with no record", bluegreen.Routes{Production: bluegreen.Weights{A: 700, B: 300}}, []bluegreen.Environment{a, b},
			"production traffic is split (70% to slot A, 30% to slot B)"},
		{"something idle in green's slot", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}, []bluegreen.Environment{a, b},
			"found web:0 in slot B (2 of 2 healthy) where green would start"},
		{"nothing routed, both slots taken", bluegreen.Routes{}, []bluegreen.Environment{a, b},
			"environments run in both slots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(nil)
			for _, e := range tt.run {
				if err := w.compute.ScaleUp(context.Background(), e); err != nil {
					t.Fatal(err)
				}
			}
			w.router = bluegreentest.NewRouter(bluegreentest.RouterOptions{Initial: map[string]bluegreen.Routes{"web": tt.routes}})
			w.compute.Reset()
			d, _ := bluegreen.New(w.config(nil))
			_, err := d.Deploy(t.Context(), "web", rev("web:2"))
			if !errors.Is(err, bluegreen.ErrFailedPrecondition) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Deploy: %v, want a refusal saying %q", err, tt.want)
			}
			var ops []string
			for _, c := range w.compute.Calls() {
				ops = append(ops, c.Op)
			}
			if len(ops) != 1 || ops[0] != "Discover" {
				t.Errorf("compute calls %v, want only Discover", ops)
			}
			if h := w.router.History("web"); len(h) != 0 {
				t.Errorf("routes changed: %v", h)
			}
			if st := state(t, w, "web"); st.LeaseOwner != "" {
				t.Errorf("lease kept by %s after a refusal", st.LeaseOwner)
			}
		})
	}
}

// TestFirstDeploymentRoutedToNothing: a router that sends production to a
// slot where nothing runs (a fresh load balancer) is a first deployment:
// one step, no bake, and green takes the other slot.
func TestFirstDeploymentRoutedToNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.router = bluegreentest.NewRouter(bluegreentest.RouterOptions{Initial: map[string]bluegreen.Routes{
			"web": {Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}}})
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), time.Hour }))
		res, err := d.Deploy(t.Context(), "web", rev("web:1"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Blue != nil || res.Adopted || res.Green.Slot != bluegreen.SlotB || res.Finished.Sub(res.Started) != 0 {
			t.Errorf("result %+v, want a one-step first deployment into slot B", res)
		}
	})
}
