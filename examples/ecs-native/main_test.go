package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
)

// TestRun deploys against the ECS fake in virtual time, with the smoke
// test reaching a handler in process: a healthy green is deployed, a
// failing one rolled back.
func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		want   bluegreen.Outcome
	}{{"healthy", http.StatusOK, bluegreen.OutcomeSucceeded}, {"failing smoke test", http.StatusServiceUnavailable, bluegreen.OutcomeRolledBack}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := awsfake.NewECSInProcess(awsfake.ECSOptions{})
				client := ecs.NewFromConfig(awsfake.InProcessConfig(fake))
				if _, err := client.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
					TaskDefinition: aws.String("web:1"), DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
					LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg-a"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(80),
						AdvancedConfiguration: &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String("tg-b"), ProductionListenerRule: aws.String("rule-prod"),
							TestListenerRule: aws.String("rule-test"), RoleArn: aws.String("role")}}}}); err != nil {
					t.Fatal(err)
				}
				green := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) })
				web := &http.Client{Transport: awsfake.InProcess{Handler: green}}
				var out strings.Builder
				o := options{cluster: "prod", service: "web", taskDef: "web:2", smokeURL: "http://test.web.internal/healthz", step: 25, stepWait: 60e9, bake: 120e9}
				res, err := run(t.Context(), client, web, o, &out)
				if res.Outcome != tt.want || (tt.want == bluegreen.OutcomeSucceeded) != (err == nil) || (err != nil && !errors.Is(err, bluegreen.ErrRolledBack)) {
					t.Fatalf("%s, %v; want %s\n%s", res.Outcome, err, tt.want, out.String())
				}
				if !strings.Contains(out.String(), "HOOK_ANSWERED POST_TEST_TRAFFIC_SHIFT") {
					t.Errorf("no smoke test answer in:\n%s", out.String())
				}
				sds := fake.ServiceDeployments("prod", "web")
				if len(sds) != 1 || sds[0].Strategy != "LINEAR" {
					t.Errorf("ECS: %+v", sds)
				}
			})
		})
	}
}
