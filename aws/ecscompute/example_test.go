package ecscompute_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
)

// Construction from the default AWS configuration: credentials and region
// from the environment, the shared config files or the instance role.
func Example_loadDefaultConfig() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	compute, err := ecscompute.New(ecscompute.Options{
		ECS:         ecs.NewFromConfig(cfg),
		ELB:         elbv2.NewFromConfig(cfg),
		AutoScaling: aas.NewFromConfig(cfg),
		Services: map[string]ecscompute.Service{
			"web": {
				Cluster:       "prod",
				TargetGroupA:  "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/0123456789abcdef",
				TargetGroupB:  "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/fedcba9876543210",
				ContainerName: "app",
				ContainerPort: 8080,
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = compute // pass it as bluegreen.Config.Compute
}

// A green environment started as a task set and watched until healthy,
// against the in-process fakes of ECS and ELBv2 (with a real account the
// clients come from config.LoadDefaultConfig, as in the other example).
func Example() {
	ctx := context.Background()
	var closers awsfake.Closers
	defer closers.Close()
	ecsFake := awsfake.NewECS(&closers, awsfake.ECSOptions{})
	elbFake := awsfake.NewELBv2(&closers, awsfake.ELBv2Options{})
	elbFake.AddTargetSource(ecsFake) // running tasks register in their target group
	if err := ecsFake.CreateService(awsfake.ECSService{Cluster: "prod", Name: "web", DesiredCount: 2, DeploymentController: "EXTERNAL"}); err != nil {
		log.Fatal(err)
	}
	tgA, tgB := elbFake.CreateTargetGroup("web-a", 8080), elbFake.CreateTargetGroup("web-b", 8080)

	compute, err := ecscompute.New(ecscompute.Options{
		ECS: ecs.NewFromConfig(awsfake.Config(ecsFake.URL)),
		ELB: elbv2.NewFromConfig(awsfake.Config(elbFake.URL)),
		Services: map[string]ecscompute.Service{
			"web": {Cluster: "prod", TargetGroupA: tgA, TargetGroupB: tgB, ContainerName: "app", ContainerPort: 8080},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	green := bluegreen.Environment{
		Service:      "web",
		Slot:         bluegreen.SlotB,
		DeploymentID: "deploy-1",
		Revision: bluegreen.Revision{Name: "web:42", Spec: json.RawMessage(`{
			"taskDefinition": "web:42",
			"launchType": "FARGATE",
			"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0abc"], "securityGroups": ["sg-0abc"]}}
		}`)},
	}
	if err := compute.ScaleUp(ctx, green); err != nil {
		log.Fatal(err)
	}
	st, err := compute.Status(ctx, green)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("desired %d, running %d, healthy %d, ready %v\n", st.Desired, st.Running, st.Healthy, st.Ready())
	// Output: desired 2, running 2, healthy 2, ready true
}

// A service that already serves traffic from a task set another tool
// created: Discover finds it, in its slot, and keys it so that Status,
// ScaleDown and SetPrimary find it again. (The Deployer calls Discover
// itself on a service it has no record of; this shows what it sees.)
func ExampleCompute_Discover() {
	ctx := context.Background()
	var closers awsfake.Closers
	defer closers.Close()
	ecsFake := awsfake.NewECS(&closers, awsfake.ECSOptions{})
	elbFake := awsfake.NewELBv2(&closers, awsfake.ELBv2Options{})
	elbFake.AddTargetSource(ecsFake)
	if err := ecsFake.CreateService(awsfake.ECSService{Cluster: "prod", Name: "web", DesiredCount: 2, DeploymentController: "EXTERNAL"}); err != nil {
		log.Fatal(err)
	}
	tgA, tgB := elbFake.CreateTargetGroup("web-a", 8080), elbFake.CreateTargetGroup("web-b", 8080)
	client := ecs.NewFromConfig(awsfake.Config(ecsFake.URL))

	// What another tool did before: a task set in slot A's target group,
	// without an external id, made primary.
	legacy, err := client.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:41"), LaunchType: ecstypes.LaunchTypeFargate,
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tgA), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		PrimaryTaskSet: legacy.TaskSet.TaskSetArn}); err != nil {
		log.Fatal(err)
	}

	compute, err := ecscompute.New(ecscompute.Options{
		ECS: client,
		ELB: elbv2.NewFromConfig(awsfake.Config(elbFake.URL)),
		Services: map[string]ecscompute.Service{
			"web": {Cluster: "prod", TargetGroupA: tgA, TargetGroupB: tgB, ContainerName: "app", ContainerPort: 8080},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	found, err := compute.Discover(ctx, "web")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range found {
		keyedByID := f.Environment.DeploymentID == aws.ToString(legacy.TaskSet.Id)
		fmt.Printf("%v: primary %v, ready %v, keyed by its task-set id %v\n", f.Environment, f.Primary, f.Status.Ready(), keyedByID)
	}
	// Output: web:41 in slot A: primary true, ready true, keyed by its task-set id true
}
