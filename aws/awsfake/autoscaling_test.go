package awsfake

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func TestAutoScalingSuspendAndRestore(t *testing.T) {
	fake := NewAutoScaling(t)
	fake.Register(ScalableTarget{ServiceNamespace: "ecs", ResourceID: "service/prod/web", ScalableDimension: "ecs:service:DesiredCount",
		MinCapacity: 2, MaxCapacity: 10, SuspendedState: SuspendedState{ScheduledScalingSuspended: true}})
	client := aas.NewFromConfig(Config(fake.URL))
	ctx := context.Background()
	// Only the flags sent change; capacities are left as they were.
	_, err := client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String("service/prod/web"), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		SuspendedState: &aastypes.SuspendedState{DynamicScalingInSuspended: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{"service/prod/web"}, ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ScalableTargets) != 1 {
		t.Fatalf("got %d targets, want 1", len(out.ScalableTargets))
	}
	got := out.ScalableTargets[0]
	type view struct {
		Min, Max            int32
		In, Out, Scheduled  bool
		Resource, Dimension string
	}
	want := view{2, 10, true, false, true, "service/prod/web", "ecs:service:DesiredCount"}
	s := got.SuspendedState
	if diff := cmp.Diff(want, view{aws.ToInt32(got.MinCapacity), aws.ToInt32(got.MaxCapacity), aws.ToBool(s.DynamicScalingInSuspended),
		aws.ToBool(s.DynamicScalingOutSuspended), aws.ToBool(s.ScheduledScalingSuspended), aws.ToString(got.ResourceId), string(got.ScalableDimension)}); diff != "" {
		t.Errorf("target (-want +got):\n%s", diff)
	}

	_, err = client.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String("service/prod/other"), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
		t.Errorf("registering without capacities: error = %v, want ValidationException", err)
	}
	if calls := fake.Faults.Calls(); calls["RegisterScalableTarget"] != 2 || calls["DescribeScalableTargets"] != 1 {
		t.Errorf("calls = %v", calls)
	}
}
