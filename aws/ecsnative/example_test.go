package ecsnative_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
)

// Example deploys web:42 as an ECS linear deployment (10% a minute, five
// minutes' bake) with an in-process smoke test answering ECS's PAUSE hook
// after the test traffic shift.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, err := ecsnative.New(ecsnative.Options{Client: ecs.NewFromConfig(cfg), Cluster: "prod", Alarms: []string{"web-5xx"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	smoke := bluegreen.HookFunc(func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		// Call green through the test listener rule here.
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})
	d, err := bluegreen.New(bluegreen.Config{Engine: engine, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(10, time.Minute), BakeTime: 5 * time.Minute,
		Hooks: []bluegreen.LifecycleHook{{Name: "smoke", Hook: smoke, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := d.Deploy(ctx, "web", bluegreen.Revision{Name: "web:42"})
	fmt.Println(res.Outcome, err)
}
