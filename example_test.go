package bluegreen_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/driver"
)

// The blocking API: Deploy runs the whole deployment and reports progress
// through callbacks.
func Example() {
	ctx := context.Background()
	d, err := bluegreen.New(bluegreen.Config{
		Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
		Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		Store:   bluegreen.NewMemoryStore(),
		Shift:   bluegreen.Linear(50, 0), // in real use: a step wait, and a BakeTime
		Callbacks: bluegreen.Callbacks{
			OnTraffic: func(ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventTrafficVerified {
					fmt.Printf("%-28s %v\n", ev.Stage, *ev.Routes)
				}
			},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range []string{"web:1", "web:2"} {
		res, err := d.Deploy(ctx, "web", bluegreen.Revision{Name: v})
		if err != nil {
			fmt.Println("deploy failed:", err)
			return
		}
		fmt.Printf("%s live in slot %s\n", res.Live.Revision.Name, res.Live.Slot)
	}
	// Output:
	// TEST_TRAFFIC_SHIFT           A=0% B=0% test=A
	// PRODUCTION_TRAFFIC_SHIFT     A=100% B=0% test=A
	// web:1 live in slot A
	// TEST_TRAFFIC_SHIFT           A=100% B=0% test=B
	// PRODUCTION_TRAFFIC_SHIFT     A=50% B=50% test=B
	// PRODUCTION_TRAFFIC_SHIFT     A=0% B=100% test=B
	// web:2 live in slot B
}

// The iterator API: Start returns a handle whose events a deploy tool
// watches, and on which it acts (here: a manual rollback while paused).
func ExampleDeployment_Events() {
	ctx := context.Background()
	store := bluegreen.NewMemoryStore()
	compute := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	router := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
	first, _ := bluegreen.New(bluegreen.Config{Compute: compute, Router: router, Store: store})
	if _, err := first.Deploy(ctx, "web", bluegreen.Revision{Name: "web:1"}); err != nil {
		fmt.Println(err)
		return
	}

	d, err := bluegreen.New(bluegreen.Config{
		Compute: compute, Router: router, Store: store,
		// A pause hook: the deployment waits for Continue or Rollback.
		Hooks: []bluegreen.LifecycleHook{{Name: "approval", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dep, err := d.Start(ctx, "web", bluegreen.Revision{Name: "web:2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev, err := range dep.Events(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		switch ev.Kind {
		case bluegreen.EventPaused:
			fmt.Println("paused at", ev.Stage, "by", ev.Hook)
			// A person looked at the test traffic and said no.
			if err := dep.Rollback(ctx, "checkout page broken on green"); err != nil {
				fmt.Println(err)
			}
		case bluegreen.EventRollbackStarted:
			fmt.Println("rolling back:", ev.Rollback.Reason)
		case bluegreen.EventDone:
			fmt.Println("done:", ev.Outcome)
		}
	}
	res, err := dep.Wait(ctx)
	fmt.Println(res.Live.Revision.Name, "is live;", errors.Is(err, bluegreen.ErrRolledBack))
	// Output:
	// paused at POST_TEST_TRAFFIC_SHIFT by approval
	// rolling back: checkout page broken on green
	// done: ROLLED_BACK
	// web:1 is live; true
}

// Plan shows what a deployment will do before it starts, without touching
// any backend.
func ExampleDeployer_Plan() {
	d, err := bluegreen.New(bluegreen.Config{
		Compute:  bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
		Router:   bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		Store:    bluegreen.NewMemoryStore(),
		Shift:    bluegreen.Canary(5, 10*time.Minute),
		BakeTime: 30 * time.Minute,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range d.Plan(bluegreen.PlanOptions{}).Entries {
		if e.Kind == bluegreen.PlanTraffic || e.Kind == bluegreen.PlanWait {
			fmt.Printf("%6v %-7s %v %v\n", e.At, e.Kind, e.Routes, e.Wait)
		}
	}
	// Output:
	//     0s TRAFFIC A=100% B=0% test=B 0s
	//     0s TRAFFIC A=95% B=5% test=B 0s
	//     0s WAIT    <nil> 10m0s
	//  10m0s TRAFFIC A=0% B=100% test=B 0s
	//  10m0s WAIT    <nil> 30m0s
}

// Bad configuration is refused before anything is touched, with the field
// and the fix.
func ExampleNew_invalid() {
	_, err := bluegreen.New(bluegreen.Config{
		Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
		Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		Store:   bluegreen.NewMemoryStore(),
		Shift:   bluegreen.Steps(bluegreen.Step{Green: 100, Wait: time.Minute}, bluegreen.Step{Green: 500}),
	})
	var ce *bluegreen.ConfigError
	fmt.Println(errors.As(err, &ce), ce.Field)
	fmt.Println(err)
	// Output:
	// true Config.Shift.Schedule
	// bluegreen: invalid Config.Shift.Schedule: ends at 50%, never reaching 100% (end the schedule with a step of Green: 1000 (100%))
}

// An operator's tool tells whether the owner of an unfinished deployment is
// alive: a lease kept by a heartbeat holds while the owner's heartbeat
// record, under ReplicaKey, has not expired.
func ExampleReplicaKey() {
	ctx := context.Background()
	store := bluegreen.NewMemoryStore()
	// What a Deployer whose Config.Owner is "replica-1" writes every third
	// of its LeaseTTL while it drives deployments.
	beat := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if _, err := store.Save(ctx, driver.Record{Service: bluegreen.ReplicaKey("replica-1"),
		Lease: driver.Lease{Owner: "replica-1", Expires: beat.Add(time.Minute)}}); err != nil {
		fmt.Println(err)
		return
	}

	for _, owner := range []string{"replica-1", "replica-2"} {
		rec, err := store.Load(ctx, bluegreen.ReplicaKey(owner))
		if err != nil {
			fmt.Println(err)
			return
		}
		alive := rec.Lease.Owner == owner && beat.Add(30*time.Second).Before(rec.Lease.Expires)
		fmt.Printf("%s (%s): alive %v\n", owner, rec.Service, alive)
	}
	// Owners with characters a file name cannot hold get a hash too.
	fmt.Println(bluegreen.ReplicaKey("host-1/pid-42/abc123"))
	// Output:
	// replica-1 (replica:replica-1): alive true
	// replica-2 (replica:replica-2): alive false
	// replica:host-1_pid-42_abc123-990b8241
}
