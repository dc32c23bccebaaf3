package codedeployengine_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/codedeployengine"
)

// A deployment run by CodeDeploy, with a Go smoke test at CodeDeploy's wait
// before production traffic moves.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	engine, err := codedeployengine.New(codedeployengine.Options{
		Client: codedeploy.NewFromConfig(cfg),
		Services: map[string]codedeployengine.Service{
			"web": {Application: "shop", DeploymentGroup: "web", ContainerName: "web", ContainerPort: 8080},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	smoke := bluegreen.HookFunc(func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		// Call green through the test listener here.
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})
	d, err := bluegreen.New(bluegreen.Config{Engine: engine, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(10, time.Minute), BakeTime: 10 * time.Minute, // CodeDeployDefault.ECSLinear10PercentEvery1Minutes
		Hooks: []bluegreen.LifecycleHook{{Name: "smoke", Hook: smoke, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Deploy(ctx, "web", bluegreen.Revision{Name: "web:42",
		Spec: []byte(`{"taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:42"}`)})
	fmt.Println(res.Outcome, err)
}

// Moving a CodeDeploy setup to the library's own engine.
func ExampleConfigFromAppSpec() {
	appspec := `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
Hooks:
  - AfterAllowTestTraffic: "smoke-test"
`
	cfg, notes, err := codedeployengine.ConfigFromAppSpec(codedeployengine.Migration{AppSpec: []byte(appspec),
		DeploymentConfigName: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWait: 30 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Shift.Type, cfg.Shift.Percent, cfg.Shift.Wait, cfg.BakeTime)
	for _, n := range notes {
		fmt.Println("-", n[:60])
	}
	// Output:
	// CANARY 10% 5m0s 30m0s
	// - TaskDefinition arn:aws:ecs:us-east-1:123456789012:task-defin
	// - Lambda hook smoke-test (AfterAllowTestTraffic) is not carrie
	// - the termination wait (30m0s) is BakeTime; the group's CloudW
}
