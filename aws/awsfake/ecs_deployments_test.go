package awsfake

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func newDeploymentService(t *testing.T) (*ECS, *ecs.Client) {
	t.Helper()
	fake := NewECSInProcess(ECSOptions{})
	client := ecs.NewFromConfig(InProcessConfig(fake))
	if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web:1"), DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg-a"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(80),
			AdvancedConfiguration: &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String("tg-b"), ProductionListenerRule: aws.String("rule"), RoleArn: aws.String("role")}}}}); err != nil {
		t.Fatal(err)
	}
	return fake, client
}

// TestECSServiceDeploymentLinearWithPause follows a LINEAR deployment with
// a PAUSE hook before each production step through the real SDK client:
// stages and weights advance in virtual time, the pause waits for
// ContinueServiceDeployment, a retried UpdateService starts nothing twice.
func TestECSServiceDeploymentLinearWithPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake, client := newDeploymentService(t)
		ctx := t.Context()
		fake.LoseResponses("UpdateService", 1) // the SDK retries; no second deployment
		up, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2"),
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(2),
				LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
				LifecycleHooks: []ecstypes.DeploymentLifecycleHook{{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause,
					LifecycleStages:      []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePreProductionTrafficShift},
					TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(10)}}}}})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(up.Service.CurrentServiceDeployment)
		describe := func() ecstypes.ServiceDeployment {
			out, err := client.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
			if err != nil || len(out.ServiceDeployments) != 1 {
				t.Fatalf("describe: %v %+v", err, out)
			}
			return out.ServiceDeployments[0]
		}
		type view struct {
			Stage  ecstypes.ServiceDeploymentLifecycleStage
			Status ecstypes.ServiceDeploymentStatus
			Weight float64
			Paused bool
		}
		look := func() (view, string) {
			sd := describe()
			v := view{Stage: sd.LifecycleStage, Status: sd.Status, Weight: aws.ToFloat64(sd.TargetServiceRevision.RequestedProductionTrafficWeight)}
			for _, h := range sd.LifecycleHookDetails {
				if h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
					v.Paused = true
					return v, aws.ToString(h.HookId)
				}
			}
			return v, ""
		}
		var got []view
		for range 200 {
			v, hook := look()
			if len(got) == 0 || got[len(got)-1] != v {
				got = append(got, v)
			}
			if v.Status == ecstypes.ServiceDeploymentStatusSuccessful {
				break
			}
			if hook != "" {
				time.Sleep(time.Minute)
				if _, err := client.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String(hook)}); err != nil {
					t.Fatal(err)
				}
				continue
			}
			time.Sleep(5 * time.Second)
		}
		ip := ecstypes.ServiceDeploymentStatusInProgress
		want := []view{{"RECONCILE_SERVICE", ip, 0, false}, {"PRE_SCALE_UP", ip, 0, false}, {"SCALE_UP", ip, 0, false}, {"POST_SCALE_UP", ip, 0, false},
			{"TEST_TRAFFIC_SHIFT", ip, 0, false}, {"POST_TEST_TRAFFIC_SHIFT", ip, 0, false},
			{"PRODUCTION_TRAFFIC_SHIFT", ip, 0, true}, {"PRODUCTION_TRAFFIC_SHIFT", ip, 50, false},
			{"PRODUCTION_TRAFFIC_SHIFT", ip, 50, true}, {"PRODUCTION_TRAFFIC_SHIFT", ip, 100, false},
			{"POST_PRODUCTION_TRAFFIC_SHIFT", ip, 100, false}, {"BAKE_TIME", ip, 100, false}, {"CLEAN_UP", ip, 100, false},
			{"CLEAN_UP", ecstypes.ServiceDeploymentStatusSuccessful, 100, false}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("deployment as seen every 5 s (-want +got):\n%s", diff)
		}
		list, err := client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
		if err != nil || len(list.ServiceDeployments) != 1 {
			t.Fatalf("list: %v, %d deployments, want 1 (the retried UpdateService started none)", err, len(list.ServiceDeployments))
		}
	})
}

// TestECSServiceDeploymentRollbacks: StopServiceDeployment, a PAUSE
// hook's timeout and a ROLLBACK answer roll back; bad configurations are
// refused.
func TestECSServiceDeploymentRollbacks(t *testing.T) {
	pause := ecstypes.DeploymentLifecycleHook{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause,
		LifecycleStages:      []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostScaleUp},
		TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(3)}}
	tests := []struct {
		name   string
		act    func(t *testing.T, c *ecs.Client, arn, hook string)
		reason string
	}{
		{"stop", func(t *testing.T, c *ecs.Client, arn, _ string) {
			if _, err := c.StopServiceDeployment(t.Context(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
				t.Fatal(err)
			}
		}, "stopped with StopServiceDeployment"},
		{"timeout", func(t *testing.T, _ *ecs.Client, _, _ string) { time.Sleep(4 * time.Minute) }, "timed out"},
		{"rollback answer", func(t *testing.T, c *ecs.Client, arn, hook string) {
			if _, err := c.ContinueServiceDeployment(t.Context(), &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String(hook),
				Action: ecstypes.DeploymentLifecycleHookActionRollback}); err != nil {
				t.Fatal(err)
			}
		}, "answered ROLLBACK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake, client := newDeploymentService(t)
				up, err := client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2"),
					DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{pause}}})
				if err != nil {
					t.Fatal(err)
				}
				arn := aws.ToString(up.Service.CurrentServiceDeployment)
				time.Sleep(time.Minute)
				out, err := client.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
				if err != nil || len(out.ServiceDeployments[0].LifecycleHookDetails) != 1 {
					t.Fatalf("%v %+v", err, out)
				}
				tt.act(t, client, arn, aws.ToString(out.ServiceDeployments[0].LifecycleHookDetails[0].HookId))
				time.Sleep(5 * time.Minute)
				sds := fake.ServiceDeployments("prod", "web")
				if len(sds) != 1 || sds[0].Status != "ROLLBACK_SUCCESSFUL" || !contains(sds[0].StatusReason, tt.reason) {
					t.Errorf("%+v, want ROLLBACK_SUCCESSFUL for %q", sds, tt.reason)
				}
				svc, _ := client.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
				if td := aws.ToString(svc.Services[0].TaskDefinition); td != "web:1" {
					t.Errorf("service runs %s after the rollback, want web:1", td)
				}
			})
		})
	}
	t.Run("refused", func(t *testing.T) {
		_, client := newDeploymentService(t)
		for _, c := range []*ecstypes.DeploymentConfiguration{
			{Strategy: ecstypes.DeploymentStrategyLinear, LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(2)}},
			{Strategy: ecstypes.DeploymentStrategyCanary, CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryBakeTimeInMinutes: aws.Int32(1441)}},
			{Strategy: ecstypes.DeploymentStrategyBlueGreen, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause,
				LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStageProductionTrafficShift}}}},
		} {
			_, err := client.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2"), DeploymentConfiguration: c})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" {
				t.Errorf("%+v: %v, want InvalidParameterException", c, err)
			}
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
