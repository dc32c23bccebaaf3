package ecscompute_test

import (
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
)

// quiet discards the adapter's log lines in tests.
var quiet = slog.New(slog.DiscardHandler)

// stack is an ECS service with the EXTERNAL deployment controller, two
// target groups on a listener rule, and an Application Auto Scaling target,
// served by the fakes, with a Compute over them.
type stack struct {
	ecs      *awsfake.ECS
	elb      *awsfake.ELBv2
	scaling  *awsfake.AutoScaling
	service  ecscompute.Service
	compute  *ecscompute.Compute
	clock    *clock
	resource string
}

type stackOptions struct {
	controller   string        // "EXTERNAL" if empty
	desired      int           // 3 if zero
	startDelay   time.Duration // task start delay
	healthDelay  time.Duration // target health delay
	drainDelay   time.Duration // how long a deleted task set drains
	manualClock  bool          // step time by hand instead of real time
	noAutoScaler bool          // no AutoScaling client in the Options
	configure    func(*ecscompute.Service)
	// wrapECS, if set, wraps the ECS client the Compute uses.
	wrapECS func(ecscompute.ECSAPI) ecscompute.ECSAPI
}

// clock is a clock a test steps by hand; when real, it is time.Now. The
// fakes read it from their handler goroutines, hence the lock.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool
}

func (c *clock) Now() time.Time {
	if c.real {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	clk := &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), real: !o.manualClock}
	if o.controller == "" {
		o.controller = "EXTERNAL"
	}
	if o.desired == 0 {
		o.desired = 3
	}
	st := &stack{clock: clk, resource: "service/prod/web"}
	st.ecs = awsfake.NewECS(t, awsfake.ECSOptions{StartDelay: o.startDelay, DrainDelay: o.drainDelay, Now: clk.Now})
	st.elb = awsfake.NewELBv2(t, awsfake.ELBv2Options{HealthDelay: o.healthDelay, Now: clk.Now})
	st.elb.AddTargetSource(st.ecs)
	st.scaling = awsfake.NewAutoScaling(t)
	if err := st.ecs.CreateService(awsfake.ECSService{Cluster: "prod", Name: "web", DesiredCount: o.desired, DeploymentController: o.controller, LaunchType: "FARGATE"}); err != nil {
		t.Fatal(err)
	}
	tgA, tgB := st.elb.CreateTargetGroup("web-a", 8080), st.elb.CreateTargetGroup("web-b", 8080)
	listener, err := st.elb.CreateListener("web", 80, []awsfake.ELBAction{{Type: "forward", Forward: &awsfake.ELBForwardConfig{
		TargetGroups: []awsfake.ELBWeightedTargetGroup{{TargetGroupARN: tgA, Weight: 999}, {TargetGroupARN: tgB, Weight: 0}}}}})
	if err != nil || listener == "" {
		t.Fatal(err)
	}
	st.service = ecscompute.Service{Cluster: "prod", TargetGroupA: tgA, TargetGroupB: tgB, ContainerName: "app", ContainerPort: 8080}
	if o.configure != nil {
		o.configure(&st.service)
	}
	var ecsAPI ecscompute.ECSAPI = ecs.NewFromConfig(awsfake.Config(st.ecs.URL))
	if o.wrapECS != nil {
		ecsAPI = o.wrapECS(ecsAPI)
	}
	opts := ecscompute.Options{
		ECS:      ecsAPI,
		ELB:      elbv2.NewFromConfig(awsfake.Config(st.elb.URL)),
		Services: map[string]ecscompute.Service{"web": st.service},
		Logger:   quiet,
	}
	if !o.noAutoScaler {
		opts.AutoScaling = aas.NewFromConfig(awsfake.Config(st.scaling.URL))
	}
	st.compute, err = ecscompute.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// revision returns a revision running the task definition, on Fargate.
func revision(taskDef string) bluegreen.Revision {
	spec, _ := json.Marshal(ecscompute.Spec{TaskDefinition: taskDef, LaunchType: "FARGATE", NetworkConfiguration: &ecscompute.NetworkConfiguration{
		AwsvpcConfiguration: &ecscompute.AwsvpcConfiguration{Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}, AssignPublicIP: "DISABLED"}}})
	return bluegreen.Revision{Name: taskDef, Spec: spec}
}

func env(slot bluegreen.Slot, deployment, taskDef string) bluegreen.Environment {
	return bluegreen.Environment{Service: "web", Slot: slot, DeploymentID: deployment, Revision: revision(taskDef)}
}

// taskSets returns the service's task sets in the fake.
func (st *stack) taskSets(t *testing.T) []awsfake.ECSTaskSet {
	t.Helper()
	sets, err := st.ecs.TaskSets("prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// calls merges the call counts of the three fakes.
func (st *stack) calls() map[string]int {
	out := map[string]int{}
	for _, f := range []*awsfake.Faults{&st.ecs.Faults, &st.elb.Faults, &st.scaling.Faults} {
		for op, n := range f.Calls() {
			out[op] += n
		}
	}
	return out
}

func ecsClient(st *stack) *ecs.Client   { return ecs.NewFromConfig(awsfake.Config(st.ecs.URL)) }
func elbClient(st *stack) *elbv2.Client { return elbv2.NewFromConfig(awsfake.Config(st.elb.URL)) }
