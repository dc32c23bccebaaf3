package aws_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestIAMPolicyECSNative checks that iam-policy-ecsnative.json allows
// exactly the actions of ecsnative.Client's methods, each seen called by a
// deployment with a Go hook and one the caller rolls back, plus
// iam:PassRole for the roles UpdateService hands to ECS.
func TestIAMPolicyECSNative(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := awsfake.NewECSInProcess(awsfake.ECSOptions{})
		client := ecs.NewFromConfig(awsfake.InProcessConfig(fake))
		if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
			TaskDefinition: aws.String("web:1"), DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs}}); err != nil {
			t.Fatal(err)
		}
		e, err := ecsnative.New(ecsnative.Options{Client: client, Cluster: "prod", Logger: slog.New(slog.DiscardHandler),
			LoadBalancers: []ecsnative.LoadBalancer{{TargetGroupARN: "tg-a", ContainerName: "app", ContainerPort: 80, AlternateTargetGroupARN: "tg-b",
				ProductionListenerRule: "rule", RoleARN: "arn:aws:iam::123456789012:role/ecs-lb"}}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := bluegreen.New(bluegreen.Config{Engine: e, Store: bluegreen.NewMemoryStore(), Shift: bluegreen.Canary(10, time.Minute),
			Hooks: []bluegreen.LifecycleHook{{Name: "smoke", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2"}); err != nil {
			t.Fatal(err)
		}
		dep, err := d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:3"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		if err := dep.Rollback(context.Background(), "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("rolled back: %v", err)
		}
		calls := fake.Faults.Calls()
		delete(calls, "CreateService") // set-up
		observed := slices.Sorted(maps.Keys(calls))
		for i, op := range observed {
			observed[i] = iamAction("ecs", op)
		}
		derived := interfaceActions(clientField{options: reflect.TypeFor[ecsnative.Options](), field: "Client", prefix: "ecs"})
		if diff := cmp.Diff(derived, observed); diff != "" {
			t.Errorf("actions of ecsnative.Client (-) against the calls observed (+):\n%s", diff)
		}
		want := slices.Sorted(slices.Values(append(slices.Clone(derived), "iam:PassRole")))
		if diff := cmp.Diff(want, policyFileActions(t, "iam-policy-ecsnative.json")); diff != "" {
			t.Errorf("actions the engine needs (-) against iam-policy-ecsnative.json (+):\n%s", diff)
		}
	})
}
