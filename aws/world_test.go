package aws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/google/go-cmp/cmp"
)

// The names every world uses.
const (
	cluster    = "prod"
	table      = "bluegreen-state"
	hookFunc   = "smoke-test"
	desired    = 2
	resourceNS = "ecs"
	dimension  = "ecs:service:DesiredCount"
)

// quiet discards the adapters' log lines.
var quiet = slog.New(slog.DiscardHandler)

// suspendedBefore is the auto scaling state every service starts with:
// scheduled scaling suspended by its owner, dynamic scaling running. A
// deployment suspends scale-in and must put exactly this back.
var suspendedBefore = awsfake.SuspendedState{ScheduledScalingSuspended: true}

// world is one set of AWS fakes and one set of real SDK clients reaching
// them, serving any number of services: what a process deploying many
// services shares.
type world struct {
	ecs     *awsfake.ECS
	elb     *awsfake.ELBv2
	scaling *awsfake.AutoScaling
	lambda  *awsfake.Lambda
	cw      *awsfake.CloudWatch
	ddb     *awsfake.DynamoDB

	ecsClient     *ecs.Client
	elbClient     *elbv2.Client
	scalingClient *aas.Client
	lambdaClient  *lambda.Client
	cwClient      *cloudwatch.Client
	ddbClient     *dynamodb.Client

	mu        sync.Mutex
	failHooks map[string]bool // revision names whose hook answers FAILED
}

// newWorld starts the fakes on loopback servers closed at the end of the
// test. Tasks start running after a few milliseconds and pass their health
// checks a few milliseconds later.
func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{
		ecs:       awsfake.NewECS(t, awsfake.ECSOptions{StartDelay: 5 * time.Millisecond}),
		elb:       awsfake.NewELBv2(t, awsfake.ELBv2Options{HealthDelay: 5 * time.Millisecond}),
		scaling:   awsfake.NewAutoScaling(t),
		lambda:    awsfake.NewLambda(),
		cw:        awsfake.NewCloudWatch(),
		ddb:       awsfake.NewDynamoDB(),
		failHooks: map[string]bool{},
	}
	w.elb.AddTargetSource(w.ecs)
	w.ddb.AddTable(table, awsfake.KeyAttribute{Name: "service", Type: "S"})
	w.lambda.SetFunction(hookFunc, w.smokeTest)
	cfg := func(url string) aws.Config {
		c := awsfake.Config(url)
		// One client per service for the whole process, as a platform
		// service holds them: keep enough idle connections for many
		// deployments at once (the SDK's default keeps 10 per host).
		c.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
		})
		return c
	}
	w.ecsClient = ecs.NewFromConfig(cfg(w.ecs.URL))
	w.elbClient = elbv2.NewFromConfig(cfg(w.elb.URL))
	w.scalingClient = aas.NewFromConfig(cfg(w.scaling.URL))
	w.lambdaClient = lambda.NewFromConfig(cfg(awsfake.ServeTest(t, w.lambda)))
	w.cwClient = cloudwatch.NewFromConfig(cfg(awsfake.ServeTest(t, w.cw)))
	w.ddbClient = dynamodb.NewFromConfig(cfg(awsfake.ServeTest(t, w.ddb)))
	return w
}

// smokeTest is the Lambda hook function, written as a user's ECS hook would
// be: it reads the ECS payload and answers SUCCEEDED, or FAILED for the
// revisions failHook names.
func (w *world) smokeTest(_ context.Context, payload []byte) ([]byte, error) {
	var p lambdahook.Payload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	status := "SUCCEEDED"
	w.mu.Lock()
	if w.failHooks[p.ExecutionDetails.TargetServiceRevisionARN] {
		status = "FAILED"
	}
	w.mu.Unlock()
	return json.Marshal(lambdahook.Response{HookStatus: status})
}

// failHook makes the hook function answer FAILED for revision rev.
func (w *world) failHook(rev string) {
	w.mu.Lock()
	w.failHooks[rev] = true
	w.mu.Unlock()
}

// service is one ECS service with its routes and alarms in the world.
type service struct {
	name            string
	tgA, tgB        string
	prod, test      string // rule ARNs, or listener ARNs with listeners
	listeners       bool
	prodConditions  []awsfake.ELBCondition // what the production rule had at creation
	testPriority    string                 // what the test rule had at creation
	alarm, oldAlarm string                 // the service's alarm, and one in ALARM since yesterday
	compute         ecscompute.Service
	router          elbrouter.Service
}

// addService creates an EXTERNAL ECS service, two target groups, its
// production and test routes (a host-header rule and a header rule on one
// listener, or with listeners true a production and a test listener), an
// auto scaling target and two alarms.
func (w *world) addService(t testing.TB, name string, listeners bool) service {
	t.Helper()
	s := service{name: name, listeners: listeners, alarm: name + "-5xx", oldAlarm: name + "-disk"}
	if err := w.ecs.CreateService(awsfake.ECSService{Cluster: cluster, Name: name, DesiredCount: desired,
		DeploymentController: "EXTERNAL", LaunchType: "FARGATE"}); err != nil {
		t.Fatal(err)
	}
	s.tgA, s.tgB = w.elb.CreateTargetGroup(name+"-a", 8080), w.elb.CreateTargetGroup(name+"-b", 8080)
	// Before the first deployment, the routes forward to slot A's empty
	// target group, as a freshly made load balancer would.
	forward := []awsfake.ELBAction{{Type: "forward", TargetGroupARN: s.tgA}}
	var err error
	if listeners {
		if s.prod, err = w.elb.CreateListener(name, 443, forward); err != nil {
			t.Fatal(err)
		}
		if s.test, err = w.elb.CreateListener(name, 8443, forward); err != nil {
			t.Fatal(err)
		}
		s.router = elbrouter.Service{ProductionListenerARN: s.prod, TestListenerARN: s.test, TargetGroupA: s.tgA, TargetGroupB: s.tgB}
	} else {
		l, err := w.elb.CreateListener(name, 443, []awsfake.ELBAction{{Type: "fixed-response", FixedResponse: &awsfake.ELBFixedResponse{StatusCode: "404"}}})
		if err != nil {
			t.Fatal(err)
		}
		host := []awsfake.ELBCondition{{Field: "host-header", HostHeader: []string{name + ".example.com"}}}
		if s.prod, err = w.elb.CreateRule(l, 20, host, forward); err != nil {
			t.Fatal(err)
		}
		header := append(slices.Clone(host), awsfake.ELBCondition{Field: "http-header", HTTPHeaderName: "X-Test", HTTPHeaderValues: []string{"1"}})
		if s.test, err = w.elb.CreateRule(l, 10, header, forward); err != nil {
			t.Fatal(err)
		}
		s.router = elbrouter.Service{ProductionRuleARN: s.prod, TestRuleARN: s.test, TargetGroupA: s.tgA, TargetGroupB: s.tgB}
		prod, _ := w.elb.Rule(s.prod)
		test, _ := w.elb.Rule(s.test)
		s.prodConditions, s.testPriority = prod.Conditions, test.Priority
	}
	s.compute = ecscompute.Service{Cluster: cluster, Name: name, TargetGroupA: s.tgA, TargetGroupB: s.tgB, ContainerName: "app", ContainerPort: 8080}
	w.scaling.Register(awsfake.ScalableTarget{ServiceNamespace: resourceNS, ResourceID: "service/" + cluster + "/" + name,
		ScalableDimension: dimension, MinCapacity: 1, MaxCapacity: 10, SuspendedState: suspendedBefore})
	w.cw.SetAlarm(awsfake.CloudWatchAlarm{Name: s.alarm, State: awsfake.AlarmOK, Reason: "fine"})
	yesterday := time.Now().Add(-24 * time.Hour)
	w.cw.SetAlarm(awsfake.CloudWatchAlarm{Name: s.oldAlarm, State: awsfake.AlarmAlarm, Reason: "disk 91% full since yesterday",
		Updated: yesterday, Transitioned: yesterday})
	return s
}

// tuning is the fast, real-time configuration of the deployments: real
// sockets cannot run inside testing/synctest.
type tuning struct {
	shift     bluegreen.Shift
	bake      time.Duration
	callbacks bluegreen.Callbacks
	poller    *cwmonitor.Poller       // shared by the monitors if set
	adjust    func(*bluegreen.Config) // last changes to the configuration, if set
}

var fast = tuning{shift: bluegreen.Linear(20, 50*time.Millisecond), bake: 300 * time.Millisecond}

// deployer wires a Deployer to the adapters over the world's clients for
// services: ECS task sets, ELBv2 rules, the Lambda hook at
// POST_TEST_TRAFFIC_SHIFT, each service's CloudWatch alarms (ignoring those
// already in ALARM when a deployment starts) and the DynamoDB store.
func (w *world) deployer(t testing.TB, services []service, tune tuning) *bluegreen.Deployer {
	t.Helper()
	computeServices := map[string]ecscompute.Service{}
	routes := map[string]elbrouter.Service{}
	monitors := map[string]*cwmonitor.Monitor{}
	for _, s := range services {
		computeServices[s.name], routes[s.name] = s.compute, s.router
		m, err := cwmonitor.New(cwmonitor.Options{Client: w.cwClient, Poller: tune.poller, AlarmNames: []string{s.alarm, s.oldAlarm}, IgnorePreexisting: true})
		if err != nil {
			t.Fatal(err)
		}
		monitors[s.name] = m
	}
	compute, err := ecscompute.New(ecscompute.Options{ECS: w.ecsClient, ELB: w.elbClient, AutoScaling: w.scalingClient,
		Services: computeServices, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	router, err := elbrouter.New(elbrouter.Options{Client: w.elbClient, Services: routes, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	store, err := dynamostore.New(dynamostore.Options{Client: w.ddbClient, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := lambdahook.New(lambdahook.Options{Client: w.lambdaClient, Function: hookFunc,
		ServiceARN: func(s string) string { return "arn:aws:ecs:us-east-1:123456789012:service/" + cluster + "/" + s }})
	if err != nil {
		t.Fatal(err)
	}
	// cwmonitor watches fixed alarm names; one Deployer serving many
	// services picks each deployment's own monitor.
	monitor := bluegreen.NewMonitor("cloudwatch-alarms", func(ctx context.Context, in bluegreen.MonitorInput) (bluegreen.Verdict, error) {
		return monitors[in.Green.Service].Check(ctx, in)
	})
	if len(services) == 1 {
		monitor = monitors[services[0].name]
	}
	cfg := bluegreen.Config{
		Compute: compute, Router: router, Store: store,
		Hooks: []bluegreen.LifecycleHook{{Name: "smoke-test", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
			Hook: hook, Timeout: 10 * time.Second}},
		Monitors:        []bluegreen.Monitor{monitor},
		Shift:           tune.shift,
		BakeTime:        tune.bake,
		MonitorInterval: 20 * time.Millisecond,
		HealthInterval:  20 * time.Millisecond,
		HealthTimeout:   20 * time.Second,
		VerifyInterval:  10 * time.Millisecond,
		Retry:           bluegreen.RetryPolicy{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		Owner:           "e2e-test",
		Callbacks:       tune.callbacks,
	}
	if tune.adjust != nil {
		tune.adjust(&cfg)
	}
	d, err := bluegreen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// revision returns revision n of a service: its task definition on Fargate.
func revision(service string, n int) bluegreen.Revision {
	taskDef := fmt.Sprintf("%s:%d", service, n)
	spec, _ := json.Marshal(ecscompute.Spec{TaskDefinition: taskDef, LaunchType: "FARGATE",
		NetworkConfiguration: &ecscompute.NetworkConfiguration{AwsvpcConfiguration: &ecscompute.AwsvpcConfiguration{
			Subnets: []string{"subnet-0abc"}, SecurityGroups: []string{"sg-0abc"}, AssignPublicIP: "DISABLED"}}})
	return bluegreen.Revision{Name: taskDef, Spec: spec}
}

// calls returns the calls every fake served, by IAM action
// ("ecs:CreateTaskSet").
func (w *world) calls() map[string]int {
	out := map[string]int{}
	for prefix, f := range map[string]*awsfake.Faults{
		"ecs": &w.ecs.Faults, "elasticloadbalancing": &w.elb.Faults, "application-autoscaling": &w.scaling.Faults,
		"lambda": &w.lambda.Faults, "cloudwatch": &w.cw.Faults, "dynamodb": &w.ddb.Faults,
	} {
		for op, n := range f.Calls() {
			out[iamAction(prefix, op)] += n
		}
	}
	return out
}

// iamAction is the IAM action that authorizes an SDK operation: the
// service prefix and the operation's name, except Lambda's Invoke, which
// IAM calls InvokeFunction.
func iamAction(prefix, op string) string {
	if prefix == "lambda" && op == "Invoke" {
		op = "InvokeFunction"
	}
	return prefix + ":" + op
}

// since returns the calls made after before was taken.
func since(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// checkLive checks that live is what serves s, everywhere, after a
// deployment that ended in phase: every production and test route forwards
// to its target group alone (the rules' conditions and priority as they
// were), only its task set remains and is primary, auto scaling is
// suspended as before, and the DynamoDB item records it as live with the
// lease released.
func (w *world) checkLive(t testing.TB, s service, live bluegreen.Environment, outcome bluegreen.Outcome) {
	t.Helper()
	liveTG, otherTG := s.tgA, s.tgB
	if live.Slot == bluegreen.SlotB {
		liveTG, otherTG = otherTG, liveTG
	}
	forwards := func(arn string) map[string]int {
		var actions []awsfake.ELBAction
		if s.listeners {
			l, _ := w.elb.Listener(arn)
			actions = l.DefaultActions
		} else {
			r, _ := w.elb.Rule(arn)
			actions = r.Actions
		}
		out := map[string]int{}
		for _, a := range actions {
			if a.Type != "forward" {
				continue
			}
			if a.Forward == nil {
				out[a.TargetGroupARN] = 1
				continue
			}
			for _, tg := range a.Forward.TargetGroups {
				out[tg.TargetGroupARN] = tg.Weight
			}
		}
		return out
	}
	if diff := cmp.Diff(map[string]int{liveTG: 999, otherTG: 0}, forwards(s.prod)); diff != "" {
		t.Errorf("%s: production route, target group weights (-want +got):\n%s", s.name, diff)
	}
	if diff := cmp.Diff(map[string]int{liveTG: 1}, forwards(s.test)); diff != "" {
		t.Errorf("%s: test route, target group weights (-want +got):\n%s", s.name, diff)
	}
	if !s.listeners {
		prod, _ := w.elb.Rule(s.prod)
		test, _ := w.elb.Rule(s.test)
		if diff := cmp.Diff(s.prodConditions, prod.Conditions); diff != "" {
			t.Errorf("%s: production rule's conditions changed (-before +after):\n%s", s.name, diff)
		}
		if test.Priority != s.testPriority {
			t.Errorf("%s: test rule's priority is %s, was %s", s.name, test.Priority, s.testPriority)
		}
	}

	sets, err := w.ecs.TaskSets(cluster, s.name)
	if err != nil {
		t.Fatal(err)
	}
	type taskSet struct{ ExternalID, TaskDefinition, TargetGroup, Status string }
	var got []taskSet
	for _, ts := range sets {
		got = append(got, taskSet{ts.ExternalID, ts.TaskDefinition, ts.TargetGroupARN, ts.Status})
	}
	want := []taskSet{{live.DeploymentID, live.Revision.Name, liveTG, "PRIMARY"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: task sets (-want +got):\n%s", s.name, diff)
	}

	target, ok := w.scaling.Target(resourceNS, "service/"+cluster+"/"+s.name, dimension)
	if !ok {
		t.Fatalf("%s: scalable target gone", s.name)
	}
	if diff := cmp.Diff(suspendedBefore, target.SuspendedState); diff != "" {
		t.Errorf("%s: auto scaling suspended state not restored (-before +after):\n%s", s.name, diff)
	}

	item, ok := w.ddb.Item(table, awsfake.Item{"service": awsfake.S(s.name)})
	if !ok {
		t.Fatalf("%s: no DynamoDB item", s.name)
	}
	if owner, ok := item["leaseOwner"]; ok {
		t.Errorf("%s: item still leased to %v", s.name, owner)
	}
	store, err := dynamostore.New(dynamostore.Options{Client: w.ddbClient, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := bluegreen.ReadState(context.Background(), store, s.name)
	if err != nil {
		t.Fatalf("%s: item %v: %v", s.name, item, err)
	}
	if rec.Live == nil || rec.Live.Slot != live.Slot || rec.Live.Revision.Name != live.Revision.Name || rec.Live.DeploymentID != live.DeploymentID {
		t.Errorf("%s: item records live %+v, want %v of %s", s.name, rec.Live, live, live.DeploymentID)
	}
	if rec.LeaseOwner != "" || !rec.LeaseExpires.IsZero() {
		t.Errorf("%s: item's lease is %q until %v, want released", s.name, rec.LeaseOwner, rec.LeaseExpires)
	}
	if d := rec.Deployment; d == nil || d.Outcome != outcome {
		t.Errorf("%s: item's deployment = %+v, want outcome %s", s.name, d, outcome)
	}
}

// stages returns the stages a deployment's events started, in order,
// without repeats.
func stages(evs []bluegreen.Event) string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == bluegreen.EventStageStarted && (len(out) == 0 || out[len(out)-1] != ev.Stage.String()) {
			out = append(out, ev.Stage.String())
		}
	}
	return strings.Join(out, " ")
}
