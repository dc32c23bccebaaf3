package aws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// brownfield is a service that serves production before the library first
// deploys it, as a team that moves to the library brings it: an EXTERNAL
// ECS service whose task set another tool created (no external id, task
// definition <name>:7) and made primary, registered in slot A's target
// group, which the production and test routes forward to alone; no record
// in the DynamoDB table.
type brownfield struct {
	service
	// legacy is the task set serving production, as ECS reported it.
	legacy ecstypes.TaskSet
	// blue is what Discover must report for it: slot A, keyed by its
	// task-set id, running <name>:7 with the Spec it was created with.
	blue bluegreen.Environment
}

// addBrownfieldService adds a brownfield service to the world (see
// brownfield), built directly through the fakes' APIs, and returns once its
// task set runs and passes its health checks.
func (w *world) addBrownfieldService(t testing.TB, name string, listeners bool) brownfield {
	t.Helper()
	return w.addLegacyTaskSet(t, w.addService(t, name, listeners))
}

// addLegacyTaskSet gives a service of the world a task set created by
// another tool (see brownfield), serving all its production traffic.
func (w *world) addLegacyTaskSet(t testing.TB, s service) brownfield {
	t.Helper()
	name := s.name
	b := brownfield{service: s}
	ctx := context.Background()
	taskDef := "arn:aws:ecs:us-east-1:123456789012:task-definition/" + name + ":7"
	out, err := w.ecsClient.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: aws.String(cluster), Service: aws.String(name),
		TaskDefinition: aws.String(taskDef), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0abc"}, SecurityGroups: []string{"sg-0abc"}, AssignPublicIp: ecstypes.AssignPublicIpDisabled}},
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(b.tgA), ContainerName: aws.String("app"), ContainerPort: aws.Int32(8080)}}})
	if err != nil {
		t.Fatal(err)
	}
	b.legacy = *out.TaskSet
	if _, err := w.ecsClient.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: aws.String(cluster), Service: aws.String(name),
		PrimaryTaskSet: b.legacy.Id}); err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(ecscompute.Spec{TaskDefinition: taskDef, LaunchType: "FARGATE", NetworkConfiguration: &ecscompute.NetworkConfiguration{
		AwsvpcConfiguration: &ecscompute.AwsvpcConfiguration{Subnets: []string{"subnet-0abc"}, SecurityGroups: []string{"sg-0abc"}, AssignPublicIP: "DISABLED"}}})
	if err != nil {
		t.Fatal(err)
	}
	b.blue = bluegreen.Environment{Service: name, Slot: bluegreen.SlotA, DeploymentID: aws.ToString(b.legacy.Id),
		Revision: bluegreen.Revision{Name: name + ":7", Spec: spec}}
	// Tasks run and pass their health checks a few milliseconds after the
	// task set is created (newWorld's delays).
	compute := w.compute(t, []service{b.service})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := compute.Status(ctx, b.blue)
		if err != nil {
			t.Fatal(err)
		}
		if st.Ready() {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("brownfield %s: legacy task set not ready after 10s: %+v", name, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// compute returns an ECS Compute over the world's clients for services.
func (w *world) compute(t testing.TB, services []service) *ecscompute.Compute {
	t.Helper()
	m := map[string]ecscompute.Service{}
	for _, s := range services {
		m[s.name] = s.compute
	}
	c, err := ecscompute.New(ecscompute.Options{ECS: w.ecsClient, ELB: w.elbClient, AutoScaling: w.scalingClient, Services: m, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// router returns an ELBv2 Router over the world's client for services.
func (w *world) router(t testing.TB, services []service) *elbrouter.Router {
	t.Helper()
	m := map[string]elbrouter.Service{}
	for _, s := range services {
		m[s.name] = s.router
	}
	r, err := elbrouter.New(elbrouter.Options{Client: w.elbClient, Services: m, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// statuses returns the status of each task set of a service, by its ARN.
func (w *world) statuses(t testing.TB, name string) map[string]string {
	t.Helper()
	sets, err := w.ecs.TaskSets(cluster, name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ts := range sets {
		out[ts.ARN] = ts.Status
	}
	return out
}

// TestBrownfieldAdapters checks what the adapters tell the Deployer about a
// brownfield service, with rules or with listeners: Discover reports the
// task set serving production as slot A's, primary, ready, keyed by its
// task-set id; the router reports all production and test traffic on slot
// A; primary moves to a green task set and back by ARN; and a service scaled
// to a desired count of 0 fails at once, saying why.
func TestBrownfieldAdapters(t *testing.T) {
	for _, listeners := range []bool{false, true} {
		t.Run(fmt.Sprintf("listeners=%v", listeners), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			b := w.addBrownfieldService(t, "web", listeners)
			compute, router := w.compute(t, []service{b.service}), w.router(t, []service{b.service})
			ctx := context.Background()

			if _, ok := w.ddb.Item(table, awsfake.Item{"service": awsfake.S("web")}); ok {
				t.Fatal("the store has a record of the brownfield service")
			}
			found, err := compute.Discover(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			want := []bluegreen.Found{{Environment: b.blue, Status: bluegreen.Status{Desired: desired, Running: desired, Healthy: desired}, Primary: true}}
			if diff := cmp.Diff(want, found); diff != "" {
				t.Errorf("Discover (-want +got):\n%s", diff)
			}
			routes, err := router.Routes(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			if want := (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}); routes != want {
				t.Errorf("Routes = %v, want %v", routes, want)
			}

			green := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "d-1", Revision: revision("web", 8)}
			if err := compute.ScaleUp(ctx, green); err != nil {
				t.Fatal(err)
			}
			var greenARN string
			for arn := range w.statuses(t, "web") {
				if arn != aws.ToString(b.legacy.TaskSetArn) {
					greenARN = arn
				}
			}
			blueARN := aws.ToString(b.legacy.TaskSetArn)
			steps := []struct {
				name string
				env  bluegreen.Environment
				want map[string]string
			}{
				{"green made primary", green, map[string]string{blueARN: "ACTIVE", greenARN: "PRIMARY"}},
				{"again, after a crash before the state was saved", green, map[string]string{blueARN: "ACTIVE", greenARN: "PRIMARY"}},
				{"back to the adopted blue in a rollback", b.blue, map[string]string{blueARN: "PRIMARY", greenARN: "ACTIVE"}},
			}
			for _, s := range steps {
				if err := compute.SetPrimary(ctx, s.env); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if diff := cmp.Diff(s.want, w.statuses(t, "web")); diff != "" {
					t.Errorf("%s: task set statuses (-want +got):\n%s", s.name, diff)
				}
			}
			if n := w.ecs.Faults.Calls()["UpdateServicePrimaryTaskSet"]; n != 3 {
				t.Errorf("UpdateServicePrimaryTaskSet calls = %d, want 3 (the other tool's, green's once, blue's)", n)
			}

			if err := w.ecs.SetDesiredCount(cluster, "web", 0); err != nil {
				t.Fatal(err)
			}
			st, err := compute.Status(ctx, b.blue)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Failed || st.Ready() || !strings.Contains(st.Reason, "desired count of 0") || !strings.Contains(st.Reason, "--desired-count") {
				t.Errorf("Status at desired count 0 = %+v; want Failed, naming the cause and the fix", st)
			}
		})
	}
}

// TestBrownfieldConformance runs bluegreentest.TestBrownfield over the ECS
// compute and the ELB router, on a service whose task set another tool
// created and made primary: the Deployer adopts it, rolls back to it, or
// replaces it, and production is never routed to nothing.
func TestBrownfieldConformance(t *testing.T) {
	for _, listeners := range []bool{false, true} {
		t.Run(fmt.Sprintf("listeners=%v", listeners), func(t *testing.T) {
			bluegreentest.TestBrownfield(t, func(t *testing.T) bluegreentest.BrownfieldHarness {
				w := newWorld(t)
				var b brownfield
				h := bluegreentest.BrownfieldHarness{Service: "web",
					Revision: func() bluegreen.Revision { return revision("web", 8) },
					Configure: func(c *bluegreen.Config) {
						c.HealthInterval, c.VerifyInterval, c.MonitorInterval = 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond
					},
				}
				// The service exists (with its target groups and rules)
				// before the harness's Live runs, so the adapters know it.
				b.service = w.addService(t, "web", listeners)
				h.Compute, h.Router = w.compute(t, []service{b.service}), w.router(t, []service{b.service})
				h.Live = func(context.Context) (bluegreen.Environment, error) {
					b = w.addLegacyTaskSet(t, b.service)
					return b.blue, nil
				}
				return h
			})
		})
	}
}
