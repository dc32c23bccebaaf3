package ecscompute_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/ecscompute"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

func TestConformance(t *testing.T) {
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		st := newStack(t, stackOptions{startDelay: 20 * time.Millisecond, healthDelay: 20 * time.Millisecond})
		st.ecs.FailTaskDefinition("web-broken:1", "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found")
		return bluegreentest.ComputeHarness{
			Compute:         st.compute,
			Service:         "web",
			Revision:        func() bluegreen.Revision { return revision("web:42") },
			FailingRevision: func() bluegreen.Revision { return revision("web-broken:1") },
			HealthTimeout:   10 * time.Second,
			FailingWait:     time.Second,
			PollInterval:    5 * time.Millisecond,
		}
	})
}

func TestServiceNotExternal(t *testing.T) {
	st := newStack(t, stackOptions{controller: "ECS"})
	err := st.compute.ScaleUp(context.Background(), env(bluegreen.SlotB, "d1", "web:42"))
	var ne *ecscompute.NotExternalError
	if !errors.As(err, &ne) || !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Fatalf("ScaleUp error = %v, want a NotExternalError with CodeFailedPrecondition", err)
	}
	for _, hint := range []string{"ECS deployment controller", "EXTERNAL", "--deployment-controller type=EXTERNAL"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not say %q", err, hint)
		}
	}
	if got := st.compute.ErrorCode(ne); got != bluegreen.CodeFailedPrecondition {
		t.Errorf("ErrorCode = %v, want failed precondition", got)
	}
	if n := len(st.taskSets(t)); n != 0 {
		t.Errorf("%d task sets created, want none", n)
	}
}

func TestClientTokenMakesRetriedCreateIdempotent(t *testing.T) {
	st := newStack(t, stackOptions{})
	// The first CreateTaskSet takes effect but its response is lost: the SDK
	// retries it with the same client token.
	st.ecs.LoseResponses("CreateTaskSet", 1)
	e := env(bluegreen.SlotB, "d1", "web:42")
	if err := st.compute.ScaleUp(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	sets := st.taskSets(t)
	if len(sets) != 1 {
		t.Fatalf("%d task sets after a retried create, want 1: %+v", len(sets), sets)
	}
	if got := st.calls()["CreateTaskSet"]; got != 2 {
		t.Errorf("CreateTaskSet calls = %d, want 2 (the lost one and the SDK's retry)", got)
	}
	// A second ScaleUp, by a restarted process say, finds the task set and creates nothing.
	if err := st.compute.ScaleUp(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if got := st.calls()["CreateTaskSet"]; got != 2 {
		t.Errorf("CreateTaskSet calls after a second ScaleUp = %d, want still 2", got)
	}
	if tok := ecscompute.ClientToken(st.service, e); len(tok) > 36 || tok != ecscompute.ClientToken(st.service, e) {
		t.Errorf("client token %q: longer than 36 or not stable", tok)
	}
	other := e
	other.Slot = bluegreen.SlotA
	if ecscompute.ClientToken(st.service, e) == ecscompute.ClientToken(st.service, other) {
		t.Error("the two slots of a deployment share a client token")
	}
}

func TestTaskSetCarriesSpecAndEnvironment(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want awsfake.ECSTaskSet
	}{
		{"fargate with awsvpc", `{"taskDefinition":"web:42","launchType":"FARGATE","platformVersion":"1.4.0",
			"networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-1","subnet-2"],"securityGroups":["sg-1"],"assignPublicIp":"ENABLED"}}}`,
			awsfake.ECSTaskSet{TaskDefinition: "web:42", LaunchType: "FARGATE", PlatformVersion: "1.4.0",
				NetworkConfiguration: `{"awsvpcConfiguration":{"assignPublicIp":"ENABLED","securityGroups":["sg-1"],"subnets":["subnet-1","subnet-2"]}}`}},
		{"capacity providers", `{"taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
			"capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":3},{"capacityProvider":"FARGATE","weight":1,"base":2}]}`,
			awsfake.ECSTaskSet{TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
				CapacityProviders: []string{"FARGATE_SPOT:3:0", "FARGATE:1:2"}}},
		{"EC2 bridge mode", `{"taskDefinition":"web:9","launchType":"EC2"}`, awsfake.ECSTaskSet{TaskDefinition: "web:9", LaunchType: "EC2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStack(t, stackOptions{})
			e := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "dep-7", Revision: bluegreen.Revision{Name: "web", Spec: []byte(tt.spec)}}
			if err := st.compute.ScaleUp(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			got := st.taskSets(t)[0]
			want := tt.want
			want.ID, want.ARN, want.Status, want.StabilityStatus = got.ID, got.ARN, "PRIMARY", "STEADY_STATE"
			want.ExternalID, want.TargetGroupARN, want.Scale, want.Desired, want.Running = "dep-7", st.service.TargetGroupB, 100, 3, 3
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("task set (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name, spec, wantField string
	}{
		{"empty", ``, "Revision.Spec"},
		{"no task definition", `{"launchType":"FARGATE"}`, "Revision.Spec.taskDefinition"},
		{"unknown field", `{"taskDefinition":"web:1","launch":"FARGATE"}`, "Revision.Spec"},
		{"launch type and capacity providers", `{"taskDefinition":"web:1","launchType":"FARGATE","capacityProviderStrategy":[{"capacityProvider":"FARGATE"}]}`, "Revision.Spec.launchType"},
		{"bad launch type", `{"taskDefinition":"web:1","launchType":"LAMBDA"}`, "Revision.Spec.launchType"},
		{"unnamed capacity provider", `{"taskDefinition":"web:1","capacityProviderStrategy":[{"weight":1}]}`, "Revision.Spec.capacityProviderStrategy[0].capacityProvider"},
		{"no subnets", `{"taskDefinition":"web:1","networkConfiguration":{"awsvpcConfiguration":{"subnets":[]}}}`, "Revision.Spec.networkConfiguration.awsvpcConfiguration.subnets"},
		{"bad public ip", `{"taskDefinition":"web:1","networkConfiguration":{"awsvpcConfiguration":{"subnets":["s"],"assignPublicIp":"YES"}}}`, "Revision.Spec.networkConfiguration.awsvpcConfiguration.assignPublicIp"},
		{"valid", `{"taskDefinition":"web:1","launchType":"FARGATE","tags":{"team":"web"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ecscompute.ParseSpec(bluegreen.Revision{Name: "web", Spec: []byte(tt.spec)})
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ParseSpec: %v", err)
				}
				return
			}
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.wantField || ce.Fix == "" {
				t.Errorf("ParseSpec error = %v, want a ConfigError for %s with a fix", err, tt.wantField)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add(`{"taskDefinition":"web:1","launchType":"FARGATE"}`)
	f.Add(`{"taskDefinition":"web:1","capacityProviderStrategy":[{"capacityProvider":"x","weight":1}]}`)
	f.Add(`{"taskDefinition":"","networkConfiguration":{"awsvpcConfiguration":{"subnets":null}}}`)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ecscompute.ParseSpec(bluegreen.Revision{Name: "x", Spec: []byte(spec)})
		if err == nil && strings.TrimSpace(s.TaskDefinition) == "" {
			t.Errorf("ParseSpec(%q) accepted a spec without a task definition", spec)
		}
		if err != nil && !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("ParseSpec(%q) error %v is not ErrInvalid", spec, err)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	st := newStack(t, stackOptions{})
	good := st.service
	tests := []struct {
		name      string
		change    func(*ecscompute.Options)
		wantField string
	}{
		{"no ECS client", func(o *ecscompute.Options) { o.ECS = nil }, "ecscompute.Options.ECS"},
		{"no ELB client", func(o *ecscompute.Options) { o.ELB = nil }, "ecscompute.Options.ELB"},
		{"no services", func(o *ecscompute.Options) { o.Services = nil }, "ecscompute.Options.Services"},
		{"no cluster", func(o *ecscompute.Options) { s := good; s.Cluster = ""; o.Services["web"] = s }, "ecscompute.Options.Services[web].Cluster"},
		{"same target groups", func(o *ecscompute.Options) { s := good; s.TargetGroupB = s.TargetGroupA; o.Services["web"] = s }, "ecscompute.Options.Services[web].TargetGroupB"},
		{"no container", func(o *ecscompute.Options) { s := good; s.ContainerName = ""; o.Services["web"] = s }, "ecscompute.Options.Services[web].ContainerName"},
		{"bad port", func(o *ecscompute.Options) { s := good; s.ContainerPort = 70000; o.Services["web"] = s }, "ecscompute.Options.Services[web].ContainerPort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ecscompute.Options{ECS: ecsClient(st), ELB: elbClient(st), Services: map[string]ecscompute.Service{"web": good}}
			tt.change(&o)
			_, err := ecscompute.New(o)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.wantField || ce.Fix == "" {
				t.Errorf("New error = %v, want a ConfigError for %s with a fix", err, tt.wantField)
			}
		})
	}
	err := st.compute.ScaleUp(context.Background(), bluegreen.Environment{Service: "api", Slot: bluegreen.SlotA, DeploymentID: "d", Revision: revision("api:1")})
	if !errors.Is(err, bluegreen.ErrInvalid) || !strings.Contains(err.Error(), "ecscompute.Options.Services") {
		t.Errorf("ScaleUp of an unconfigured service = %v, want ErrInvalid naming the option", err)
	}
}
