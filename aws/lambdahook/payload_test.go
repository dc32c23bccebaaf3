package lambdahook_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	serviceARN = "arn:aws:ecs:us-west-2:123456789012:service/prod/web"
	greenARN   = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod/web/42"
	blueARN    = "arn:aws:ecs:us-west-2:123456789012:service-revision/prod/web/41"
)

// ecsHook returns a Hook whose options name things as ECS does.
func ecsHook(t *testing.T) *lambdahook.Hook {
	t.Helper()
	h, err := lambdahook.New(lambdahook.Options{
		Client:     unusedClient{},
		Function:   "arn:aws:lambda:us-west-2:123456789012:function:hook",
		ServiceARN: func(service string) string { return "arn:aws:ecs:us-west-2:123456789012:service/prod/" + service },
		RevisionARN: func(env bluegreen.Environment) string {
			return map[string]string{"web:42": greenARN, "web:41": blueARN}[env.Revision.Name]
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func envs() (*bluegreen.Environment, bluegreen.Environment) {
	return &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, DeploymentID: "d-0", Revision: bluegreen.Revision{Name: "web:41"}},
		bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, DeploymentID: "d-1", Revision: bluegreen.Revision{Name: "web:42"}}
}

func TestPayloadMapping(t *testing.T) {
	blue, green := envs()
	base := func(stage bluegreen.Stage, routes bluegreen.Routes) bluegreen.HookInput {
		return bluegreen.HookInput{DeploymentID: "d-1", Service: "web", Stage: stage, Blue: blue, Green: green, Routes: routes, Attempt: 1}
	}
	forward := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}
	wantDetails := func(test, prod map[string]float64) lambdahook.ExecutionDetails {
		return lambdahook.ExecutionDetails{ServiceARN: serviceARN, TargetServiceRevisionARN: greenARN, TestTrafficWeights: test, ProductionTrafficWeights: prod}
	}
	none := map[string]float64{}
	tests := []struct {
		name string
		in   bluegreen.HookInput
		want lambdahook.Payload
	}{
		{"pre scale up: no weights, configured details", func() bluegreen.HookInput {
			in := base(bluegreen.StagePreScaleUp, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
			in.Details = json.RawMessage(`{"S3_BUCKET_NAME":"b"}`)
			return in
		}(), lambdahook.Payload{LifecycleStage: "PRE_SCALE_UP", ResourceARN: "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/web/d-1",
			ExecutionDetails: wantDetails(none, none), HookDetails: json.RawMessage(`{"S3_BUCKET_NAME":"b"}`)}},
		{"test traffic shift: green takes the test route", base(bluegreen.StageTestTrafficShift, forward),
			lambdahook.Payload{LifecycleStage: "TEST_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(map[string]float64{greenARN: 100, blueARN: 0}, none)}},
		{"test traffic shift in a rollback: blue takes it back", func() bluegreen.HookInput {
			in := base(bluegreen.StageTestTrafficShift, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA})
			in.Rollback = true
			return in
		}(), lambdahook.Payload{LifecycleStage: "TEST_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(map[string]float64{greenARN: 0, blueARN: 100}, none)}},
		{"test traffic shift without a test route", base(bluegreen.StageTestTrafficShift, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}),
			lambdahook.Payload{LifecycleStage: "TEST_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, none)}},
		{"post test traffic shift: no weights", base(bluegreen.StagePostTestTrafficShift, forward),
			lambdahook.Payload{LifecycleStage: "POST_TEST_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, none)}},
		{"pre production shift: blue has it all", base(bluegreen.StagePreProductionTrafficShift, forward),
			lambdahook.Payload{LifecycleStage: "PRE_PRODUCTION_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, map[string]float64{greenARN: 0, blueARN: 100})}},
		{"production shift: a 0.1% canary", func() bluegreen.HookInput {
			in := base(bluegreen.StageProductionTrafficShift, bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB})
			in.Step = 1
			return in
		}(), lambdahook.Payload{LifecycleStage: "PRODUCTION_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, map[string]float64{greenARN: 0.1, blueARN: 99.9})}},
		{"production shift with green in slot A", func() bluegreen.HookInput {
			in := base(bluegreen.StageProductionTrafficShift, bluegreen.Routes{Production: bluegreen.Weights{A: 700, B: 300}})
			b, g := *blue, green
			b.Slot, g.Slot = bluegreen.SlotB, bluegreen.SlotA
			in.Blue, in.Green = &b, g
			return in
		}(), lambdahook.Payload{LifecycleStage: "PRODUCTION_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, map[string]float64{greenARN: 70, blueARN: 30})}},
		{"post production shift: no weights", base(bluegreen.StagePostProductionTrafficShift, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}),
			lambdahook.Payload{LifecycleStage: "POST_PRODUCTION_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, none)}},
		{"first deployment: only green is listed", func() bluegreen.HookInput {
			in := base(bluegreen.StageProductionTrafficShift, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)})
			in.Blue = nil
			return in
		}(), lambdahook.Payload{LifecycleStage: "PRODUCTION_TRAFFIC_SHIFT", ExecutionDetails: wantDetails(none, map[string]float64{greenARN: 100})}},
	}
	h := ecsHook(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want.ResourceARN == "" {
				tt.want.ResourceARN = "arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/web/d-1"
			}
			got := h.Payload(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(lambdahook.Payload{}, "ExecutionID")); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadDefaults(t *testing.T) {
	h, err := lambdahook.New(lambdahook.Options{Client: unusedClient{}, Function: "hook"})
	if err != nil {
		t.Fatal(err)
	}
	blue, green := envs()
	blue.Revision.Name = "web:42" // a redeployment of the same revision
	got := h.Payload(bluegreen.HookInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StageProductionTrafficShift,
		Blue: blue, Green: green, Routes: bluegreen.Routes{Production: bluegreen.Weights{A: 250, B: 750}}})
	want := lambdahook.Payload{
		LifecycleStage: "PRODUCTION_TRAFFIC_SHIFT",
		ResourceARN:    "d-1",
		ExecutionDetails: lambdahook.ExecutionDetails{ServiceARN: "web", TargetServiceRevisionARN: "web:42#B",
			TestTrafficWeights: map[string]float64{}, ProductionTrafficWeights: map[string]float64{"web:42#B": 75, "web:42#A": 25}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(lambdahook.Payload{}, "ExecutionID")); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
}

// TestPayloadJSON pins the wire form against the ECS documentation's example.
func TestPayloadJSON(t *testing.T) {
	blue, green := envs()
	p := ecsHook(t).Payload(bluegreen.HookInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StageProductionTrafficShift,
		Blue: blue, Green: green, Routes: bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}})
	p.ExecutionID = "f4fcae0f-9bec-41c6-ba87-0eaa0cef8af5"
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"executionId":"f4fcae0f-9bec-41c6-ba87-0eaa0cef8af5","lifecycleStage":"PRODUCTION_TRAFFIC_SHIFT",` +
		`"resourceArn":"arn:aws:ecs:us-west-2:123456789012:service-deployment/prod/web/d-1",` +
		`"executionDetails":{"serviceArn":"` + serviceARN + `","targetServiceRevisionArn":"` + greenARN + `",` +
		`"testTrafficWeights":{},"productionTrafficWeights":{"` + blueARN + `":0,"` + greenARN + `":100}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestExecutionID(t *testing.T) {
	h := ecsHook(t)
	_, green := envs()
	in := bluegreen.HookInput{DeploymentID: "d-1", Service: "web", Stage: bluegreen.StageProductionTrafficShift, Step: 1, Green: green, Attempt: 1}
	id := h.Payload(in).ExecutionID
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("executionId %q is not UUID-shaped", id)
	}
	again := in
	again.Attempt, again.Details = 2, json.RawMessage(`{"n":1}`)
	if got := h.Payload(again).ExecutionID; got != id {
		t.Errorf("an IN_PROGRESS call again got executionId %q, want the first call's %q", got, id)
	}
	for name, change := range map[string]func(*bluegreen.HookInput){
		"next step":  func(in *bluegreen.HookInput) { in.Step = 2 },
		"rollback":   func(in *bluegreen.HookInput) { in.Rollback = true },
		"stage":      func(in *bluegreen.HookInput) { in.Stage = bluegreen.StagePreProductionTrafficShift },
		"deployment": func(in *bluegreen.HookInput) { in.DeploymentID = "d-2" },
	} {
		other := in
		change(&other)
		if got := h.Payload(other).ExecutionID; got == id {
			t.Errorf("%s: executionId unchanged (%s)", name, got)
		}
	}
}
