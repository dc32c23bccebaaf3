package lambdahook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
)

// This example binds an existing ECS lifecycle-hook function to the stage
// after test traffic reaches green. It is not run: it needs AWS credentials.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	hook, err := lambdahook.New(lambdahook.Options{
		Client:   lambda.NewFromConfig(cfg),
		Function: "arn:aws:lambda:us-west-2:123456789012:function:smoke-tests",
		// ECS hooks often read the service ARN from the payload.
		ServiceARN: func(service string) string { return "arn:aws:ecs:us-west-2:123456789012:service/prod/" + service },
	})
	if err != nil {
		log.Fatal(err)
	}
	deployerConfig := bluegreen.Config{
		// Compute, Router and Store: see the aws/ecscompute, aws/elbrouter and aws/dynamostore packages.
		Hooks: []bluegreen.LifecycleHook{{
			Name:    "smoke-tests",
			Stages:  []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
			Hook:    hook,
			Timeout: 15 * time.Minute,
			Details: json.RawMessage(`{"S3_BUCKET_NAME":"my-approval-bucket"}`),
		}},
	}
	if _, err := bluegreen.New(deployerConfig); err != nil {
		log.Fatal(err)
	}
}

// This example runs a hook against an in-process Lambda whose function
// answers IN_PROGRESS, as an ECS hook that is still waiting does.
func ExampleHook_Run() {
	fake := awsfake.NewLambda()
	fake.SetFunction("smoke-tests", func(_ context.Context, payload []byte) ([]byte, error) {
		var event lambdahook.Payload
		if err := json.Unmarshal(payload, &event); err != nil {
			return nil, err
		}
		fmt.Println("function called at", event.LifecycleStage, "for", event.ExecutionDetails.TargetServiceRevisionARN)
		return []byte(`{"hookStatus":"IN_PROGRESS","callBackDelay":60,"hookDetails":{"checked":1}}`), nil
	})
	url, closeServer := awsfake.Serve(fake)
	defer closeServer()

	hook, err := lambdahook.New(lambdahook.Options{Client: lambda.NewFromConfig(awsfake.Config(url)), Function: "smoke-tests"})
	if err != nil {
		log.Fatal(err)
	}
	res, err := hook.Run(context.Background(), bluegreen.HookInput{
		DeploymentID: "d-1",
		Service:      "web",
		Stage:        bluegreen.StagePostTestTrafficShift,
		Green:        bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:42"}},
		Attempt:      1,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Status, res.CallbackDelay, string(res.Details))
	// Output:
	// function called at POST_TEST_TRAFFIC_SHIFT for web:42
	// IN_PROGRESS 1m0s {"checked":1}
}
