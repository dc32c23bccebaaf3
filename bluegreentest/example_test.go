package bluegreentest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/driver"
)

func ExampleNewCompute() {
	ctx := context.Background()
	c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{
		Health: bluegreentest.HealthByRevision(map[string]bluegreentest.Health{
			"web:2": {StatusCalls: 1},            // one "starting" answer, then healthy
			"web:3": {Fail: "exec format error"}, // never healthy
		}),
	})
	// The first ScaleUp is throttled; the Deployer would retry it.
	c.Inject("ScaleUp", bluegreen.NewError(bluegreen.CodeThrottled, errors.New("rate exceeded")), 1)

	green := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:2"}, DeploymentID: "d1"}
	err := c.ScaleUp(ctx, green)
	fmt.Println(errors.Is(err, bluegreen.ErrThrottled))
	fmt.Println(c.ScaleUp(ctx, green))
	for range 2 {
		st, _ := c.Status(ctx, green)
		fmt.Printf("ready=%v reason=%q\n", st.Ready(), st.Reason)
	}
	fmt.Println(c.Running("web"))
	for _, call := range c.Calls() {
		fmt.Println(call)
	}
	// Output:
	// true
	// <nil>
	// ready=false reason="starting"
	// ready=true reason=""
	// [web:2 in slot B]
	// ScaleUp web B web:2 deployment d1
	// ScaleUp web B web:2 deployment d1
	// Status web B web:2 deployment d1
	// Status web B web:2 deployment d1
}

func ExampleNewHook() {
	ctx := context.Background()
	// At POST_TEST_TRAFFIC_SHIFT the hook asks to be called again once, then
	// fails; at every other stage it succeeds.
	h := bluegreentest.NewHook().On(bluegreen.StagePostTestTrafficShift,
		bluegreentest.InProgress(0, []byte(`{"run":1}`)),
		bluegreentest.Fail("smoke test: 3 of 40 requests failed"),
	)
	for attempt := 1; attempt <= 3; attempt++ {
		res, _ := h.Run(ctx, bluegreen.HookInput{Service: "web", Stage: bluegreen.StagePostTestTrafficShift, Attempt: attempt})
		fmt.Printf("%s %q\n", res.Status, res.Reason)
	}
	res, _ := h.Run(ctx, bluegreen.HookInput{Service: "web", Stage: bluegreen.StagePostScaleUp, Attempt: 1})
	fmt.Println(res.Status, len(h.Inputs()))
	// Output:
	// IN_PROGRESS ""
	// FAILED "smoke test: 3 of 40 requests failed"
	// FAILED "smoke test: 3 of 40 requests failed"
	// SUCCEEDED 4
}

func ExampleStore_CrashAfter() {
	ctx := context.Background()
	s := bluegreentest.NewStore(nil)
	// Crash right after the second save: a Deployer under test would have
	// its context canceled here, between persisting and acting.
	s.CrashAfter(2, func() { fmt.Println("crash") })
	v1, _ := s.Save(ctx, driver.Record{Service: "web"})
	v2, _ := s.Save(ctx, driver.Record{Service: "web", Version: v1})
	_, err := s.Load(ctx, "web")
	fmt.Println(v1, v2, errors.Is(err, bluegreentest.ErrCrashed))

	// The process restarts: the durable state is still there.
	s.Recover()
	rec, _ := s.Load(ctx, "web")
	fmt.Println(rec.Version, len(s.Saved("web")))
	// Output:
	// crash
	// 1 2 true
	// 2 2
}

func ExampleNewRouter() {
	ctx := context.Background()
	r := bluegreentest.NewRouter(bluegreentest.RouterOptions{VerifyLag: 1})
	canary := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 1), Test: bluegreen.SlotB}
	fmt.Println(r.SetRoutes(ctx, "web", canary))
	for range 2 {
		ok, _ := r.Verify(ctx, "web", canary)
		fmt.Println(ok)
	}
	err := r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 400}})
	fmt.Println(errors.Is(err, bluegreen.ErrInvalid))
	fmt.Println(r.History("web"))
	// Output:
	// <nil>
	// false
	// true
	// true
	// [A=99.9% B=0.1% test=B]
}
