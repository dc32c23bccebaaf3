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
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/google/go-cmp/cmp"
)

// TestAgainstMoto checks the adapter's ECS calls against moto's ECS, a
// second opinion on the wire shapes, with one moto server for its subtests.
// (moto does not run tasks, so readiness is not checked.)
func TestAgainstMoto(t *testing.T) {
	base := awsfake.StartMoto(t)
	t.Run("TaskSets", func(t *testing.T) { taskSetsAgainstMoto(t, base) })
	t.Run("Adoption", func(t *testing.T) { adoptionAgainstMoto(t, base) })
}

// taskSetsAgainstMoto checks that task sets are created once per
// environment with the external id and target group, found again, deleted,
// and that a service that is not EXTERNAL is refused.
func taskSetsAgainstMoto(t *testing.T, base string) {
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

// adoptionAgainstMoto checks Discover and SetPrimary, in a cluster of its
// own: a task set another tool created (no external id) and made primary is
// found, keyed by its task-set id, and primary moves to green and back by
// ARN. moto matches only a task set's ARN when it marks the primary one
// (given an id, it demotes every task set), which is why SetPrimary names
// the task set by its ARN.
func adoptionAgainstMoto(t *testing.T, base string) {
	ctx := context.Background()
	cfg := awsfake.Config(base)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("legacy")}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // web:1 and web:2
		_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(128)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("legacy"), ServiceName: aws.String("web"), DesiredCount: aws.Int32(2),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeExternal}})
	if err != nil {
		t.Fatal(err)
	}
	svc := ecscompute.Service{Cluster: "legacy", TargetGroupA: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/1",
		TargetGroupB: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/2", ContainerName: "app", ContainerPort: 8080}
	legacy, err := client.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String("legacy"), Service: aws.String("web"), TaskDefinition: aws.String("web:1"),
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(svc.TargetGroupA), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String("legacy"), Service: aws.String("web"),
		PrimaryTaskSet: legacy.TaskSet.TaskSetArn}); err != nil {
		t.Fatal(err)
	}
	compute, err := ecscompute.New(ecscompute.Options{ECS: client, ELB: elbv2.NewFromConfig(cfg), Logger: quiet, Services: map[string]ecscompute.Service{"web": svc}})
	if err != nil {
		t.Fatal(err)
	}
	found, err := compute.Discover(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !found[0].Primary || found[0].Environment.Slot != bluegreen.SlotA ||
		found[0].Environment.DeploymentID != aws.ToString(legacy.TaskSet.Id) || found[0].Environment.Revision.Name != "web:1" {
		t.Fatalf("Discover = %+v; want the legacy task set in slot A, primary, keyed by id %s, running web:1", found, aws.ToString(legacy.TaskSet.Id))
	}
	blue := found[0].Environment
	green := env(bluegreen.SlotB, "dep-2", "web:2")
	if err := compute.ScaleUp(ctx, green); err != nil {
		t.Fatal(err)
	}
	statuses := func() map[string]string {
		out, err := client.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String("legacy"), Service: aws.String("web")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, ts := range out.TaskSets {
			name := "green"
			if aws.ToString(ts.Id) == blue.DeploymentID {
				name = "blue"
			}
			m[name] = aws.ToString(ts.Status)
		}
		return m
	}
	steps := []struct {
		name string
		do   func() error
		want map[string]string
	}{
		{"green made primary", func() error { return compute.SetPrimary(ctx, green) }, map[string]string{"blue": "ACTIVE", "green": "PRIMARY"}},
		{"again: idempotent", func() error { return compute.SetPrimary(ctx, green) }, map[string]string{"blue": "ACTIVE", "green": "PRIMARY"}},
		{"back to the adopted blue", func() error { return compute.SetPrimary(ctx, blue) }, map[string]string{"blue": "PRIMARY", "green": "ACTIVE"}},
		{"green removed", func() error { return compute.ScaleDown(ctx, green) }, map[string]string{"blue": "PRIMARY"}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, statuses()); diff != "" {
			t.Errorf("%s: task set statuses (-want +got):\n%s", s.name, diff)
		}
	}
}
