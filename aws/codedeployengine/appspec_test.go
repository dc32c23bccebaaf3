package codedeployengine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// docAppSpec is the ECS AppSpec of CodeDeploy's documentation.
const docAppSpec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:111222333444:task-definition/my-task-definition-family-name:1"
        LoadBalancerInfo:
          ContainerName: "SampleApplicationName"
          ContainerPort: 80
# Optional properties
        PlatformVersion: "LATEST"
        NetworkConfiguration:
          AwsvpcConfiguration:
            Subnets: ["subnet-1234abcd","subnet-5678abcd"]
            SecurityGroups: ["sg-12345678"]
            AssignPublicIp: "ENABLED"
        CapacityProviderStrategy:
          - Base: 1
            CapacityProvider: "FARGATE_SPOT"
            Weight: 2
          - Base: 0
            CapacityProvider: "FARGATE"
            Weight: 1
Hooks:
  - BeforeInstall: "LambdaFunctionToValidateBeforeInstall"
  - AfterInstall: "LambdaFunctionToValidateAfterInstall"
  - AfterAllowTestTraffic: "LambdaFunctionToValidateAfterTestTrafficStarts"
  - BeforeAllowTraffic: "LambdaFunctionToValidateBeforeAllowingProductionTraffic"
  - AfterAllowTraffic: "LambdaFunctionToValidateAfterAllowingProductionTraffic"
`

var docWant = &AppSpec{Version: "0.0", TaskDefinition: "arn:aws:ecs:us-east-1:111222333444:task-definition/my-task-definition-family-name:1",
	ContainerName: "SampleApplicationName", ContainerPort: 80, PlatformVersion: "LATEST", Other: []string{"CapacityProviderStrategy", "NetworkConfiguration"},
	Hooks: LambdaHooks{BeforeInstall: "LambdaFunctionToValidateBeforeInstall", AfterInstall: "LambdaFunctionToValidateAfterInstall",
		AfterAllowTestTraffic: "LambdaFunctionToValidateAfterTestTrafficStarts", BeforeAllowTraffic: "LambdaFunctionToValidateBeforeAllowingProductionTraffic",
		AfterAllowTraffic: "LambdaFunctionToValidateAfterAllowingProductionTraffic"}}

func TestParseAppSpec(t *testing.T) {
	tests := []struct {
		name, in string
		want     *AppSpec
		err      string
	}{
		{name: "documentation YAML", in: docAppSpec, want: docWant},
		{name: "JSON", in: `{"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "web:3",
			"LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}}}}], "Hooks": [{"AfterAllowTestTraffic": "smoke"}]}`,
			want: &AppSpec{Version: "0.0", TaskDefinition: "web:3", ContainerName: "web", ContainerPort: 8080, Hooks: LambdaHooks{AfterAllowTestTraffic: "smoke"}}},
		{name: "sequence at its key's indentation, single quotes, comments", in: "version: 0.0 # v\nResources:\n- TargetService:\n    Type: 'AWS::ECS::Service'\n    Properties:\n      TaskDefinition: 'it''s:1'\n      LoadBalancerInfo: {ContainerName: a}\n",
			err: "flow mappings"},
		{name: "quoted port", in: "version: 0.0\nResources:\n- TargetService:\n    Type: 'AWS::ECS::Service' # the type\n    Properties:\n      TaskDefinition: 'it''s:1'\n      LoadBalancerInfo:\n        ContainerName: a#b\n        ContainerPort: '443'\n",
			want: &AppSpec{Version: "0.0", TaskDefinition: "it's:1", ContainerName: "a#b", ContainerPort: 443}},
		{name: "no task definition", in: "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        LoadBalancerInfo:\n          ContainerName: a\n          ContainerPort: 1\n", err: "TaskDefinition is required"},
		{name: "Lambda AppSpec", in: "version: 0.0\nResources:\n  - fn:\n      Type: AWS::Lambda::Function\n", err: "not an ECS AppSpec"},
		{name: "bad hook event", in: strings.Replace(docAppSpec, "  - BeforeInstall:", "  - ApplicationStop:", 1), err: `"ApplicationStop" is not a hook event`},
		{name: "bad indentation", in: "version: 0.0\n  Resources: x\n", err: "unexpected indentation"},
		{name: "anchor", in: "version: &v 0.0\n", err: "anchors"},
		{name: "tab", in: "version: 0.0\n\tResources: x\n", err: "tab"},
		{name: "empty", in: "# nothing\n", err: "empty document"},
		{name: "port", in: strings.Replace(docAppSpec, "ContainerPort: 80", "ContainerPort: http", 1), err: "not a port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAppSpec([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAppSpec: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// yamlQuote writes s as a YAML double-quoted scalar.
func yamlQuote(s string) string { return strconv.Quote(s) }

// renderYAML writes a in the documentation's YAML layout.
func renderYAML(a *AppSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: %s\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: %s\n        LoadBalancerInfo:\n          ContainerName: %s\n          ContainerPort: %d\n",
		a.Version, yamlQuote(a.TaskDefinition), yamlQuote(a.ContainerName), a.ContainerPort)
	if a.PlatformVersion != "" {
		fmt.Fprintf(&b, "        PlatformVersion: %s\n", yamlQuote(a.PlatformVersion))
	}
	if hs := a.Hooks.list(); len(hs) > 0 {
		b.WriteString("Hooks:\n")
		for _, h := range hs {
			fmt.Fprintf(&b, "  - %s: %s\n", h[0], yamlQuote(h[1]))
		}
	}
	return b.String()
}

// FuzzParseAppSpec: an AppSpec written as YAML (the documentation's
// layout) and as JSON (MarshalJSON) reads back as itself — the oracle is
// the value written; arbitrary input never panics, and whatever parses
// survives a JSON round trip unchanged.
func FuzzParseAppSpec(f *testing.F) {
	f.Add("arn:aws:ecs:task-definition/web:1", "web", 8080, "LATEST", "hook-a", "", []byte(docAppSpec))
	f.Add("it's \"quoted\" # not a comment", "a: b", 1, "", "", "x", []byte("version: 0.0\nResources: [a, 'b']\n"))
	f.Fuzz(func(t *testing.T, td, container string, port int, platform, hookA, hookB string, raw []byte) {
		if a, err := ParseAppSpec(raw); err == nil {
			b, err := a.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON(%+v): %v", a, err)
			}
			back, err := ParseAppSpec(b)
			if err != nil {
				t.Fatalf("the JSON of a parsed AppSpec does not parse: %v\n%s", err, b)
			}
			a.Other = nil // not written
			if diff := cmp.Diff(a, back); diff != "" {
				t.Fatalf("JSON round trip (-parsed +back):\n%s", diff)
			}
		}
		if td == "" || container == "" || port < 1 || port > 65535 || !validText(td, container, platform, hookA, hookB) {
			return
		}
		want := &AppSpec{Version: "0.0", TaskDefinition: td, ContainerName: container, ContainerPort: port, PlatformVersion: platform,
			Hooks: LambdaHooks{AfterAllowTestTraffic: hookA, AfterAllowTraffic: hookB}}
		got, err := ParseAppSpec([]byte(renderYAML(want)))
		if err != nil {
			t.Fatalf("YAML of %+v: %v\n%s", want, err, renderYAML(want))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("YAML (-written +read):\n%s\n%s", diff, renderYAML(want))
		}
		b, _ := want.MarshalJSON()
		if got, err = ParseAppSpec(b); err != nil || !cmp.Equal(want, got) {
			t.Fatalf("JSON: %v %s", err, cmp.Diff(want, got))
		}
	})
}

// validText reports whether every string is valid UTF-8 without
// newlines: the YAML written by strconv.Quote reads back only then.
func validText(ss ...string) bool {
	for _, s := range ss {
		if strings.ContainsAny(s, "\n\r") || !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

func TestConfigFromAppSpec(t *testing.T) {
	cfg, notes, err := ConfigFromAppSpec(Migration{AppSpec: []byte(docAppSpec), DeploymentConfigName: "CodeDeployDefault.ECSCanary10Percent5Minutes",
		ReadyWait: 30 * time.Minute, TerminationWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bluegreen.Canary(10, 5*time.Minute), cfg.Shift); diff != "" {
		t.Errorf("Shift (-want +got):\n%s", diff)
	}
	if cfg.BakeTime != time.Hour || len(cfg.Hooks) != 1 || !cfg.Hooks[0].Pause || cfg.Hooks[0].Timeout != 30*time.Minute || cfg.Hooks[0].Stages[0] != bluegreen.StagePostTestTrafficShift {
		t.Errorf("BakeTime %v, hooks %+v", cfg.BakeTime, cfg.Hooks)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"TaskDefinition arn:aws:ecs:us-east-1:111222333444:task-definition/my-task-definition-family-name:1 with container SampleApplicationName:80",
		"NetworkConfiguration: not carried over", "CapacityProviderStrategy: not carried over", "PlatformVersion LATEST",
		"Lambda hook LambdaFunctionToValidateAfterTestTrafficStarts (AfterAllowTestTraffic) is not carried over", "at POST_TEST_TRAFFIC_SHIFT",
		"before every production step", "pause hook \"ready-wait\"", "add them as Monitors"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	// The config is one New accepts (with a Compute, Router and Store).
	custom := Routing{Type: "TimeBasedLinear", Percentage: 20, IntervalMinutes: 2}
	cfg, _, err = ConfigFromAppSpec(Migration{AppSpec: []byte(docAppSpec), Routing: &custom})
	if err != nil || !cmp.Equal(cfg.Shift, bluegreen.Linear(20, 2*time.Minute)) {
		t.Errorf("custom routing: %+v %v", cfg.Shift, err)
	}
	if _, _, err := ConfigFromAppSpec(Migration{AppSpec: []byte(docAppSpec), DeploymentConfigName: "MyConfig"}); err == nil || !strings.Contains(err.Error(), "GetDeploymentConfig") {
		t.Errorf("custom name without routing: %v", err)
	}
}

func TestRoutingFor(t *testing.T) {
	for _, tc := range []struct {
		shift bluegreen.Shift
		want  Routing
		ok    bool
	}{
		{bluegreen.AllAtOnce(), Routing{Type: "AllAtOnce"}, true},
		{bluegreen.Linear(10, 3*time.Minute), Routing{Type: "TimeBasedLinear", Percentage: 10, IntervalMinutes: 3}, true},
		{bluegreen.Canary(15, 2*time.Minute), Routing{Type: "TimeBasedCanary", Percentage: 15, IntervalMinutes: 2}, true},
		{bluegreen.Linear(12.5, time.Minute), Routing{}, false},
		{bluegreen.Canary(10, 90*time.Second), Routing{}, false},
	} {
		steps, err := tc.shift.Resolve("Shift")
		if err != nil {
			t.Fatal(err)
		}
		got, ok := RoutingFor(steps)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RoutingFor(%+v) = %+v, %v; want %+v, %v", tc.shift, got, ok, tc.want, tc.ok)
		}
	}
}
