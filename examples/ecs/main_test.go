package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/google/go-cmp/cmp"
)

// fakeAWS serves the AWS APIs the command calls, with one EXTERNAL ECS
// service "web" in cluster "prod", its target groups, a production and a
// test rule, an auto scaling target, an alarm, a hook function that fails
// revision web:3, and the state table.
type fakeAWS struct {
	ecs        *awsfake.ECS
	elb        *awsfake.ELBv2
	scaling    *awsfake.AutoScaling
	cw         *awsfake.CloudWatch
	endpoints  endpoints
	args       []string // the flags naming all of it
	suspended0 awsfake.SuspendedState
}

func newFakeAWS(t *testing.T) *fakeAWS {
	t.Helper()
	f := &fakeAWS{
		ecs:        awsfake.NewECS(t, awsfake.ECSOptions{StartDelay: 5 * time.Millisecond}),
		elb:        awsfake.NewELBv2(t, awsfake.ELBv2Options{HealthDelay: 5 * time.Millisecond}),
		scaling:    awsfake.NewAutoScaling(t),
		cw:         awsfake.NewCloudWatch(),
		suspended0: awsfake.SuspendedState{DynamicScalingOutSuspended: true},
	}
	f.elb.AddTargetSource(f.ecs)
	if err := f.ecs.CreateService(awsfake.ECSService{Cluster: "prod", Name: "web", DesiredCount: 2, DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	tgA, tgB := f.elb.CreateTargetGroup("web-a", 8080), f.elb.CreateTargetGroup("web-b", 8080)
	listener, err := f.elb.CreateListener("web", 443, []awsfake.ELBAction{{Type: "fixed-response", FixedResponse: &awsfake.ELBFixedResponse{StatusCode: "404"}}})
	if err != nil {
		t.Fatal(err)
	}
	forward := []awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}}
	prod, err := f.elb.CreateRule(listener, 20, []awsfake.ELBCondition{{Field: "host-header", HostHeader: []string{"web.example.com"}}}, forward)
	if err != nil {
		t.Fatal(err)
	}
	test, err := f.elb.CreateRule(listener, 10, []awsfake.ELBCondition{{Field: "http-header", HTTPHeaderName: "X-Test", HTTPHeaderValues: []string{"1"}}}, forward)
	if err != nil {
		t.Fatal(err)
	}
	f.scaling.Register(awsfake.ScalableTarget{ServiceNamespace: "ecs", ResourceID: "service/prod/web", ScalableDimension: "ecs:service:DesiredCount",
		MinCapacity: 2, MaxCapacity: 8, SuspendedState: f.suspended0})
	f.cw.SetAlarm(awsfake.CloudWatchAlarm{Name: "web-5xx", State: awsfake.AlarmOK})

	lambda := awsfake.NewLambda()
	lambda.SetFunction("smoke-test", func(_ context.Context, payload []byte) ([]byte, error) {
		var p lambdahook.Payload
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		status := "SUCCEEDED"
		if p.ExecutionDetails.TargetServiceRevisionARN == "web:3" {
			status = "FAILED"
		}
		return json.Marshal(lambdahook.Response{HookStatus: status})
	})
	ddb := awsfake.NewDynamoDB()
	ddb.AddTable("bluegreen-state", awsfake.KeyAttribute{Name: "service", Type: "S"})

	f.endpoints = endpoints{ECS: f.ecs.URL, ELB: f.elb.URL, AutoScaling: f.scaling.URL,
		Lambda: awsfake.ServeTest(t, lambda), CloudWatch: awsfake.ServeTest(t, f.cw), DynamoDB: awsfake.ServeTest(t, ddb)}
	f.args = []string{
		"-cluster", "prod", "-service", "web", "-container", "app", "-container-port", "8080",
		"-target-group-a", tgA, "-target-group-b", tgB, "-prod-rule", prod, "-test-rule", test,
		"-hook", "POST_TEST_TRAFFIC_SHIFT=smoke-test", "-alarm", "web-5xx", "-table", "bluegreen-state",
		"-shift", "linear:50:50ms", "-bake", "200ms", "-launch-type", "FARGATE", "-subnets", "subnet-1,subnet-2", "-security-groups", "sg-1",
		"-health-interval", "20ms", "-monitor-interval", "20ms", "-owner", "ci",
	}
	return f
}

// deploy runs the command as its main would, for task definition taskDef,
// against the fakes.
func (f *fakeAWS) deploy(t *testing.T, taskDef string) (string, error) {
	t.Helper()
	o, err := parseFlags(append(f.args, "-task-definition", taskDef), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.endpoints = f.endpoints
	cfg := awsfake.Config(f.ecs.URL)
	cfg.BaseEndpoint = nil // each client gets its own endpoint
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err = run(ctx, cfg, o, &out)
	return out.String(), err
}

func TestRun(t *testing.T) {
	f := newFakeAWS(t)
	steps := []struct {
		taskDef  string
		wantErr  bool
		wantText []string
	}{
		{"web:1", false, []string{
			"deploying web:1 to ECS service web in cluster prod: linear:50:50ms, bake time 200ms",
			"BAKE_TIME                         skipped: first deployment",
			"SUCCEEDED in", "web:1 is live in slot B",
		}},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:2", false, []string{
			"POST_SCALE_UP                     green 2/2 healthy",
			"TEST_TRAFFIC_SHIFT                traffic A=0% B=100% test=A",
			"POST_TEST_TRAFFIC_SHIFT           hook smoke-test answered SUCCEEDED",
			"PRODUCTION_TRAFFIC_SHIFT #1       traffic A=50% B=50% test=A",
			"PRODUCTION_TRAFFIC_SHIFT #2       traffic A=100% B=0% test=A",
			"BAKE_TIME                         started",
			"SUCCEEDED in", "web:2 is live in slot A",
		}},
		{"web:3", true, []string{
			"POST_TEST_TRAFFIC_SHIFT           hook smoke-test answered FAILED: lambda function smoke-test answered FAILED",
			"ROLLBACK started",
			"traffic A=100% B=0% test=A (rollback)",
			"ROLLED_BACK in", "at POST_TEST_TRAFFIC_SHIFT (HOOK smoke-test)", "web:2 is live in slot A",
		}},
	}
	for _, s := range steps {
		out, err := f.deploy(t, s.taskDef)
		t.Logf("deploying %s:\n%s", s.taskDef, out)
		if (err != nil) != s.wantErr {
			t.Fatalf("%s: run = %v, want error %v\n%s", s.taskDef, err, s.wantErr, out)
		}
		if s.wantErr && (!errors.Is(err, bluegreen.ErrRolledBack) || exitCode(err) != 1) {
			t.Errorf("%s: run = %v (exit %d), want a rollback (exit 1)", s.taskDef, err, exitCode(err))
		}
		for _, want := range s.wantText {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", s.taskDef, want, out)
			}
		}
	}

	sets, err := f.ecs.TaskSets("prod", "web")
	if err != nil {
		t.Fatal(err)
	}
	var taskDefs []string
	for _, ts := range sets {
		taskDefs = append(taskDefs, ts.TaskDefinition+" "+ts.Status)
	}
	if diff := cmp.Diff([]string{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:2 PRIMARY"}, taskDefs); diff != "" {
		t.Errorf("task sets after the rollback (-want +got):\n%s", diff)
	}
	target, _ := f.scaling.Target("ecs", "service/prod/web", "ecs:service:DesiredCount")
	if target.SuspendedState != f.suspended0 {
		t.Errorf("auto scaling suspended state %+v, want it restored to %+v", target.SuspendedState, f.suspended0)
	}
}

func TestBadFlags(t *testing.T) {
	f := newFakeAWS(t)
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(f.args); i += 2 {
			if f.args[i] != flag {
				out = append(out, f.args[i], f.args[i+1])
			}
		}
		return out
	}
	tests := []struct {
		name     string
		args     []string
		wantText string
	}{
		{"no cluster", without("-cluster"), "-cluster: missing"},
		{"no task definition", f.args, "-task-definition: missing"},
		{"rule and listener", append(f.args, "-task-definition", "web:2", "-prod-listener", "arn:l"), "set exactly one of -prod-rule and -prod-listener"},
		{"bad shift", append(f.args, "-task-definition", "web:2", "-shift", "linear:ten:1m"), `-shift: "linear:ten:1m"`},
		{"shift that does not add up", append(f.args, "-task-definition", "web:2", "-shift", "linear:0:1m"), "-shift.Percent"},
		{"bad port", append(without("-container-port"), "-task-definition", "web:2", "-container-port", "70000"), "-container-port: 70000 is not a port"},
		{"Fargate spec", append(f.args, "-task-definition", "web:2", "-launch-type", "LAMBDA"), "launchType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			o.endpoints = f.endpoints
			err = run(t.Context(), awsfake.Config(f.ecs.URL), o, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("run = %v, want an error saying %q", err, tt.wantText)
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("exit code %d, want 2 for bad flags", got)
			}
		})
	}
	if sets, _ := f.ecs.TaskSets("prod", "web"); len(sets) != 0 {
		t.Errorf("bad flags started %d task sets", len(sets))
	}
	for _, args := range [][]string{{"-hook", "NOT_A_STAGE=fn"}, {"-hook", "SCALE_UP=fn"}, {"-hook", "fn"}, {"stray"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}
}
