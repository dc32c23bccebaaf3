package ecsnative_test

import (
	"fmt"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestCalls counts the ECS calls of a linear 10-step deployment (10% a
// minute, 5 minutes' bake, 10 s stages in the fake) with two Go hooks,
// polled every 5 s, for one service and for four at once: every call but
// the polls is a fixed number per deployment, and the polls grow with the
// deployment's duration over the interval, per deployment (each follows its
// own service deployment).
func TestCalls(t *testing.T) {
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d services", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t)
				for i := 1; i < n; i++ {
					_, err := w.client.CreateService(t.Context(), &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String(fmt.Sprintf("web%d", i)),
						TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(2), DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs}})
					if err != nil {
						t.Fatal(err)
					}
				}
				e := w.engine(t, func(o *ecsnative.Options) {
					o.LoadBalancers = []ecsnative.LoadBalancer{{TargetGroupARN: "tg-blue", ContainerName: "app", ContainerPort: 8080,
						AlternateTargetGroupARN: "tg-green", ProductionListenerRule: "rule-prod", RoleARN: "role"}}
				})
				hooks := []bluegreen.LifecycleHook{
					{Name: "smoke", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}},
					{Name: "verdict", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}},
				}
				d := mustNew(t, w.config(e, func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(10, time.Minute); c.Hooks = hooks }))
				before := w.fake.Faults.Calls()
				start := time.Now()
				var deps []*bluegreen.Deployment
				for i := range n {
					name := "web"
					if i > 0 {
						name = fmt.Sprintf("web%d", i)
					}
					dep, err := d.Start(t.Context(), name, bluegreen.Revision{Name: "web:2"})
					if err != nil {
						t.Fatal(err)
					}
					deps = append(deps, dep)
				}
				for _, dep := range deps {
					if res, err := dep.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
						t.Fatalf("%s: %v", res.Outcome, err)
					}
				}
				took := time.Since(start)
				calls := w.fake.Faults.Calls()
				for op, c := range before {
					calls[op] -= c
				}
				maps.DeleteFunc(calls, func(_ string, c int) bool { return c == 0 })
				polls := calls["DescribeServiceDeployments"]
				delete(calls, "DescribeServiceDeployments")
				want := map[string]int{"DescribeServices": n, "ListServiceDeployments": n, "UpdateService": n, "ContinueServiceDeployment": 2 * n}
				if diff := cmp.Diff(want, calls); diff != "" {
					t.Errorf("calls besides the polls (-want +got):\n%s", diff)
				}
				// One poll per interval, plus one after each answered pause.
				if maxPolls := n * (int(took/(5*time.Second)) + 1 + 2 + 1); polls > maxPolls || polls < maxPolls/2 {
					t.Errorf("%d polls in %v for %d deployments, want about %d", polls, took, n, maxPolls)
				}
				t.Logf("%d deployment(s) in %v (virtual): DescribeServiceDeployments %d (%.1f/deployment), others %v", n, took, polls, float64(polls)/float64(n), calls)
			})
		})
	}
}
