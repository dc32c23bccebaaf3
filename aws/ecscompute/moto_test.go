package ecscompute_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/internal/awsfake"
)

// TestTaskSetsAgainstMoto checks the adapter's ECS calls against moto's
// ECS, a second opinion on the wire shapes: task sets are created once per
// environment with the external id and target group, found again, deleted,
// and a service that is not EXTERNAL is refused. (moto does not run tasks,
// so readiness is not checked here.)
func TestTaskSetsAgainstMoto(t *testing.T) {
	base := awsfake.StartMoto(t)
	ctx := context.Background()
	cfg := awsfake.Config(base)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // web:1 and web:2
		_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, controller := range map[string]ecstypes.DeploymentControllerType{"web": ecstypes.DeploymentControllerTypeExternal, "rolling": ecstypes.DeploymentControllerTypeEcs} {
		_, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(name), DesiredCount: aws.Int32(2),
			DeploymentController: &ecstypes.DeploymentController{Type: controller}, TaskDefinition: aws.String("web:1")})
		if err != nil {
			t.Fatalf("create service %s: %v", name, err)
		}
	}
	svc := ecscompute.Service{Cluster: "prod", TargetGroupA: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1",
		TargetGroupB: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/2", ContainerName: "app", ContainerPort: 8080}
	compute, err := ecscompute.New(ecscompute.Options{ECS: client, ELB: elbv2.NewFromConfig(cfg), Logger: quiet,
		Services: map[string]ecscompute.Service{"web": svc, "rolling": svc}})
	if err != nil {
		t.Fatal(err)
	}
	green := env(bluegreen.SlotB, "dep-1", "web:2")
	for range 2 {
		if err := compute.ScaleUp(ctx, green); err != nil {
			t.Fatalf("ScaleUp: %v", err)
		}
	}
	out, err := client.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TaskSets) != 1 {
		t.Fatalf("%d task sets after two ScaleUps, want 1", len(out.TaskSets))
	}
	ts := out.TaskSets[0]
	if aws.ToString(ts.ExternalId) != "dep-1" || aws.ToString(ts.LoadBalancers[0].TargetGroupArn) != svc.TargetGroupB || aws.ToString(ts.TaskDefinition) == "" {
		t.Errorf("task set = external id %q, target group %q, task definition %q", aws.ToString(ts.ExternalId),
			aws.ToString(ts.LoadBalancers[0].TargetGroupArn), aws.ToString(ts.TaskDefinition))
	}
	if err := compute.ScaleDown(ctx, green); err != nil {
		t.Fatalf("ScaleDown: %v", err)
	}
	if err := compute.ScaleDown(ctx, green); err != nil {
		t.Fatalf("second ScaleDown: %v", err)
	}
	var ne *ecscompute.NotExternalError
	rolling := green
	rolling.Service = "rolling"
	if err := compute.ScaleUp(ctx, rolling); !errors.As(err, &ne) {
		t.Errorf("ScaleUp of a service with the ECS controller = %v, want a NotExternalError", err)
	}
}
