package bluegreen_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestExampleWithFakes is the shape of a test a user writes with the fakes:
// a 40-minute canary deployment runs in virtual time, in milliseconds, and
// the test asserts what reached the router and the compute backend.
func TestExampleWithFakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		compute := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
		router := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
		smoke := bluegreentest.NewHook() // answers SUCCEEDED
		d, err := bluegreen.New(bluegreen.Config{
			Compute: compute, Router: router, Store: bluegreen.NewMemoryStore(),
			Shift: bluegreen.Canary(10, 10*time.Minute), BakeTime: 30 * time.Minute,
			Hooks: []bluegreen.LifecycleHook{{Name: "smoke", Hook: smoke, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"web:1", "web:2"} {
			if _, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: v}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for _, r := range router.History("web") {
			got = append(got, r.String())
		}
		diffLines(t, []string{
			"A=0% B=0% test=A", "A=100% B=0% test=A", // web:1, the first deployment
			"A=100% B=0% test=B", "A=90% B=10% test=B", "A=0% B=100% test=B", // web:2
		}, got)
		if running := compute.Running("web"); len(running) != 1 || running[0].Revision.Name != "web:2" {
			t.Errorf("running %v, want web:2 alone", running)
		}
		if n := len(smoke.Inputs()); n != 2 {
			t.Errorf("smoke hook called %d times, want once per deployment", n)
		}
	})
}
