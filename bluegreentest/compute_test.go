package bluegreentest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

func env(slot bluegreen.Slot, rev, deployment string) bluegreen.Environment {
	return bluegreen.Environment{Service: "web", Slot: slot, Revision: bluegreen.Revision{Name: rev}, DeploymentID: deployment}
}

func TestComputeHealth(t *testing.T) {
	const n = 3
	starting := bluegreen.Status{Desired: n, Running: n, Reason: "starting"}
	healthy := bluegreen.Status{Desired: n, Running: n, Healthy: n}
	for _, tc := range []struct {
		name   string
		health bluegreentest.Health
		// wait is the virtual time waited before each Status call.
		wait time.Duration
		want []bluegreen.Status
	}{
		{"AtOnce", bluegreentest.Health{}, 0, []bluegreen.Status{healthy, healthy}},
		{"AfterStatusCalls", bluegreentest.Health{StatusCalls: 2}, 0, []bluegreen.Status{starting, starting, healthy}},
		{"AfterTime", bluegreentest.Health{After: time.Minute}, 25 * time.Second, []bluegreen.Status{starting, starting, healthy}},
		{"CallsAndTime", bluegreentest.Health{StatusCalls: 3, After: time.Second}, time.Second, []bluegreen.Status{starting, starting, starting, healthy}},
		{"Fails", bluegreentest.Health{StatusCalls: 1, Fail: "exit status 2"}, 0,
			[]bluegreen.Status{starting, {Desired: n, Failed: true, Reason: "exit status 2"}, {Desired: n, Failed: true, Reason: "exit status 2"}}},
		{"Never", bluegreentest.Health{Never: true}, time.Hour, []bluegreen.Status{starting, starting, starting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{
					Instances: n,
					Health:    bluegreentest.HealthByRevision(map[string]bluegreentest.Health{"web:2": tc.health}),
				})
				e := env(bluegreen.SlotB, "web:2", "d1")
				if err := c.ScaleUp(ctx, e); err != nil {
					t.Fatal(err)
				}
				var got []bluegreen.Status
				for range tc.want {
					time.Sleep(tc.wait) // virtual time
					st, err := c.Status(ctx, e)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, st)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("statuses (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestComputeSlots(t *testing.T) {
	ctx := context.Background()
	c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{Health: bluegreentest.HealthByRevision(map[string]bluegreentest.Health{"web:1": {StatusCalls: 1}})})
	blue, green, next := env(bluegreen.SlotA, "web:1", "d1"), env(bluegreen.SlotB, "web:2", "d2"), env(bluegreen.SlotA, "web:3", "d3")
	for _, e := range []bluegreen.Environment{blue, green, blue} {
		if err := c.ScaleUp(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]bluegreen.Environment{blue, green}, c.Running("web")); diff != "" {
		t.Fatalf("Running (-want +got):\n%s", diff)
	}
	// A repeated ScaleUp kept blue's progress: one Status call was owed.
	if st, _ := c.Status(ctx, blue); st.Ready() {
		t.Errorf("blue ready at its first Status call after a repeated ScaleUp: it was restarted? %+v", st)
	}

	// A ScaleUp of another deployment into slot A replaces blue; blue is gone.
	if err := c.ScaleUp(ctx, next); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(ctx, blue); err != nil || st != (bluegreen.Status{}) {
		t.Errorf("Status of the replaced environment = %+v, %v; want zero", st, err)
	}
	// A late ScaleDown of blue does not stop what replaced it.
	if err := c.ScaleDown(ctx, blue); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bluegreen.Environment{next, green}, c.Running("web")); diff != "" {
		t.Errorf("Running after a stale ScaleDown (-want +got):\n%s", diff)
	}
	if c.Running("api") != nil {
		t.Errorf("Running(api) = %v, want none", c.Running("api"))
	}
}

func TestComputeKillAndCrash(t *testing.T) {
	ctx := context.Background()
	c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	blue, green := env(bluegreen.SlotA, "web:1", "d1"), env(bluegreen.SlotB, "web:2", "d2")
	_ = c.ScaleUp(ctx, blue)
	_ = c.ScaleUp(ctx, green)

	if !c.Crash("web", bluegreen.SlotB, "OOMKilled") {
		t.Error("Crash of a running environment reported nothing to crash")
	}
	if st, _ := c.Status(ctx, green); !st.Failed || st.Reason != "OOMKilled" || st.Running != 0 {
		t.Errorf("Status after Crash = %+v, want Failed with the reason and nothing running", st)
	}
	if !c.Kill("web", bluegreen.SlotA) {
		t.Error("Kill of a running environment reported nothing to kill")
	}
	if st, _ := c.Status(ctx, blue); st != (bluegreen.Status{}) {
		t.Errorf("Status after Kill = %+v, want zero", st)
	}
	if c.Kill("web", bluegreen.SlotA) || c.Crash("api", bluegreen.SlotA, "") {
		t.Error("Kill or Crash of an empty slot reported something")
	}
}

func TestComputeRefusesBadEnvironments(t *testing.T) {
	c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	for _, e := range []bluegreen.Environment{
		{Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:1"}},
		{Service: "web", Slot: "C", Revision: bluegreen.Revision{Name: "web:1"}},
		{Service: "web", Slot: bluegreen.SlotA},
		{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:1", Spec: json.RawMessage("{")}},
	} {
		if err := c.ScaleUp(context.Background(), e); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("ScaleUp(%+v) = %v, want an error matching bluegreen.ErrInvalid", e, err)
		}
	}
	if got := c.Running("web"); got != nil {
		t.Errorf("Running = %v after refused ScaleUps", got)
	}
}

func TestComputePrepareRestore(t *testing.T) {
	ctx := context.Background()
	c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	green := env(bluegreen.SlotB, "web:2", "d2")
	snap, err := c.Snapshot(ctx, green)
	if err != nil {
		t.Fatal(err)
	}
	if c.Suspended("web") {
		t.Error("Snapshot changed something: the service is suspended")
	}
	for range 2 { // Prepare is idempotent
		if err := c.Prepare(ctx, green, snap); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Suspended("web") || c.Suspended("api") {
		t.Errorf("Suspended(web)=%v Suspended(api)=%v, want true, false", c.Suspended("web"), c.Suspended("api"))
	}
	// A snapshot taken now (after a crash, say) would restore the suspension.
	late, err := c.Snapshot(ctx, env(bluegreen.SlotB, "web:2", "d3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(ctx, green, json.RawMessage("not json")); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("Restore of foreign state = %v, want an error matching bluegreen.ErrInvalid", err)
	}
	if err := c.Restore(ctx, green, snap); err != nil {
		t.Fatal(err)
	}
	if c.Suspended("web") {
		t.Error("still suspended after Restore")
	}
	prepared, ok := c.Prepared("d2")
	if diff := cmp.Diff([]json.RawMessage{prepared}, c.Restored("d2")); !ok || diff != "" {
		t.Errorf("Prepared ok=%v; Restored (-want +got):\n%s", ok, diff)
	}
	if _, ok := c.Prepared("d9"); ok || c.Restored("d9") != nil {
		t.Error("an unknown deployment reports being prepared or restored")
	}
	if err := c.Restore(ctx, green, late); err != nil || !c.Suspended("web") {
		t.Errorf("Restore of a snapshot taken while suspended = %v, suspended %v; want nil, true", err, c.Suspended("web"))
	}

	// A Compute that did not Prepare (the test restarted it) adopts the state.
	fresh := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	if err := fresh.Restore(ctx, green, snap); err != nil || len(fresh.Restored("d2")) != 1 {
		t.Errorf("Restore on a fresh Compute = %v, restored %d times", err, len(fresh.Restored("d2")))
	}
	wantOps := []string{"Snapshot", "Prepare", "Prepare", "Snapshot", "Restore", "Restore", "Restore"}
	var ops []string
	for _, call := range c.Calls() {
		ops = append(ops, call.Op)
	}
	if diff := cmp.Diff(wantOps, ops); diff != "" {
		t.Errorf("ops (-want +got):\n%s", diff)
	}
}
