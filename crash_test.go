package bluegreen_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestCrashAtEveryPersist stops a deployment right after each of its saves —
// every stage boundary, every traffic step, between every persist and the
// action it records — as if its process died there, with the backends
// keeping their state. A fresh Deployer (another owner, after the lease
// expired) then deploys again over the same store and backends. Whatever the
// crash point, the unfinished deployment is settled (completed if green
// already had all production traffic, rolled back otherwise), the next
// deployment succeeds, and the invariants hold.
func TestCrashAtEveryPersist(t *testing.T) {
	t.Run("succeeding", func(t *testing.T) { crashAtEveryPersist(t, false) })
	t.Run("rolling back", func(t *testing.T) { crashAtEveryPersist(t, true) })
}

// crashAtEveryPersist runs the crash harness over a deployment that
// succeeds, or that a hook rolls back after the shift.
func crashAtEveryPersist(t *testing.T, fail bool) {
	hooks := func(fail bool) []bluegreen.LifecycleHook {
		h := []bluegreen.LifecycleHook{{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{
			bluegreen.StagePostScaleUp, bluegreen.StageProductionTrafficShift}}}
		if fail {
			h = append(h, bluegreen.LifecycleHook{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("bad")),
				Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}})
		}
		return h
	}
	configure := func(c *bluegreen.Config) {
		c.Shift, c.BakeTime, c.Hooks = bluegreen.Linear(50, time.Minute), 5*time.Minute, hooks(fail)
		c.OnCancel, c.LeaseTTL = bluegreen.CancelDetach, time.Minute
	}
	// Count the saves of a whole deployment, including its lease renewals.
	var total int
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		before := w.store.Count("Save")
		d, _ := bluegreen.New(w.config(configure))
		if _, err := d.Deploy(t.Context(), "web", rev("web:2")); (err != nil) != fail {
			t.Fatal(err)
		}
		total = w.store.Count("Save") - before
	})
	if total < 12 {
		t.Fatalf("only %d saves in a deployment", total)
	}
	for n := 1; n <= total; n++ {
		t.Run(fmt.Sprintf("after save %d of %d", n, total), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				w.deployFirst(t, "web")
				ctx, crash := context.WithCancel(t.Context())
				w.store.CrashAfter(n, crash)
				d, _ := bluegreen.New(w.config(configure))
				dep, err := d.Start(ctx, "web", rev("web:2"))
				if err != nil {
					t.Fatal(err)
				}
				<-dep.Done()
				w.store.Recover()
				st := state(t, w, "web")
				mine := st.Deployment != nil && st.Deployment.ID == "d1"
				shiftDone := mine && st.Live != nil && st.Live.DeploymentID == "d1" || mine && !st.Deployment.Finished && !st.Deployment.RollingBack && st.Deployment.Stage >= bluegreen.StagePostProductionTrafficShift
				finished := mine && st.Deployment.Finished
				time.Sleep(2 * time.Minute) // the dead owner's lease lapses

				next, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
					configure(c)
					c.Hooks = hooks(false)
					c.Owner, c.NewID = "successor", func() string { return "d2" }
				}))
				nd, err := next.Start(t.Context(), "web", rev("web:3"))
				if err != nil {
					t.Fatalf("successor Start: %v", err)
				}
				evs := events(t, nd)
				res, err := nd.Wait(t.Context())
				if err != nil {
					t.Fatalf("successor deployment: %v\n%v", err, summary(evs))
				}
				// The successor replaced whatever was live: web:2 if the crashed
				// deployment had finished its shift, web:1 otherwise.
				wantBlue := "web:1"
				if shiftDone {
					wantBlue = "web:2"
				}
				if res.Blue == nil || res.Blue.Revision.Name != wantBlue {
					t.Errorf("successor replaced %v, want %s (shift done: %v, finished: %v)", res.Blue, wantBlue, shiftDone, finished)
				}
				checkInvariants(t, w, "web", evs, 5*time.Minute)
			})
		})
	}
}
