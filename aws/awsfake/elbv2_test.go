package awsfake

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

type elbSetup struct {
	fake               *ELBv2
	client             *elbv2.Client
	tgA, tgB           string
	listener, testRule string
	prodRule           string
}

func newTestELB(t *testing.T, opts ELBv2Options) elbSetup {
	t.Helper()
	f := NewELBv2(t, opts)
	s := elbSetup{fake: f, client: elbv2.NewFromConfig(Config(f.URL))}
	s.tgA, s.tgB = f.CreateTargetGroup("web-a", 8080), f.CreateTargetGroup("web-b", 8080)
	var err error
	s.listener, err = f.CreateListener("web", 80, []ELBAction{{Type: "fixed-response", FixedResponse: &ELBFixedResponse{StatusCode: "404"}}})
	if err != nil {
		t.Fatal(err)
	}
	s.prodRule, err = f.CreateRule(s.listener, 10, []ELBCondition{{Field: "host-header", HostHeader: []string{"web.example.com"}}},
		[]ELBAction{{Type: "forward", Forward: &ELBForwardConfig{
			TargetGroups: []ELBWeightedTargetGroup{{TargetGroupARN: s.tgA, Weight: 1}},
			Stickiness:   &ELBStickiness{Enabled: true, DurationSeconds: 300}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.testRule, err = f.CreateRule(s.listener, 5, []ELBCondition{{Field: "http-header", HTTPHeaderName: "X-Test", HTTPHeaderValues: []string{"1"}}},
		[]ELBAction{{Type: "forward", TargetGroupARN: s.tgA}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestELBModifyRuleKeepsConditionsAndPriority(t *testing.T) {
	s := newTestELB(t, ELBv2Options{})
	ctx := context.Background()
	_, err := s.client.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(s.prodRule), Actions: []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumForward,
		ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups:                []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(s.tgA), Weight: aws.Int32(900)}, {TargetGroupArn: aws.String(s.tgB), Weight: aws.Int32(100)}},
			TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(300)},
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.client.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(s.listener)})
	if err != nil {
		t.Fatal(err)
	}
	type tg struct {
		ARN    string
		Weight int32
	}
	type rule struct {
		Priority   string
		Default    bool
		Conditions []string
		TGs        []tg
		TGArn      string
		Sticky     bool
		Duration   int32
	}
	var got []rule
	for _, r := range out.Rules {
		g := rule{Priority: aws.ToString(r.Priority), Default: aws.ToBool(r.IsDefault)}
		for _, c := range r.Conditions {
			g.Conditions = append(g.Conditions, aws.ToString(c.Field))
			if c.HostHeaderConfig != nil {
				g.Conditions = append(g.Conditions, c.HostHeaderConfig.Values...)
			}
			if c.HttpHeaderConfig != nil {
				g.Conditions = append(g.Conditions, aws.ToString(c.HttpHeaderConfig.HttpHeaderName))
			}
		}
		a := r.Actions[0]
		g.TGArn = aws.ToString(a.TargetGroupArn)
		if fc := a.ForwardConfig; fc != nil {
			for _, t := range fc.TargetGroups {
				g.TGs = append(g.TGs, tg{aws.ToString(t.TargetGroupArn), aws.ToInt32(t.Weight)})
			}
			g.Sticky = aws.ToBool(fc.TargetGroupStickinessConfig.Enabled)
			g.Duration = aws.ToInt32(fc.TargetGroupStickinessConfig.DurationSeconds)
		}
		got = append(got, g)
	}
	want := []rule{
		{Priority: "5", Conditions: []string{"http-header", "X-Test"}, TGs: []tg{{s.tgA, 1}}, TGArn: s.tgA},
		{Priority: "10", Conditions: []string{"host-header", "web.example.com"}, TGs: []tg{{s.tgA, 900}, {s.tgB, 100}}, Sticky: true, Duration: 300},
		{Priority: "default", Default: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestELBValidationErrors(t *testing.T) {
	s := newTestELB(t, ELBv2Options{})
	ctx := context.Background()
	forward := func(tgs ...elbtypes.TargetGroupTuple) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tgs}}}
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"weight above 999", func() error {
			_, err := s.client.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(s.prodRule),
				Actions: forward(elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(s.tgA), Weight: aws.Int32(1000)})})
			return err
		}, "ValidationError"},
		{"unknown target group", func() error {
			_, err := s.client.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(s.prodRule),
				Actions: forward(elbtypes.TargetGroupTuple{TargetGroupArn: aws.String("arn:nope"), Weight: aws.Int32(1)})})
			return err
		}, "TargetGroupNotFound"},
		{"unknown rule", func() error {
			_, err := s.client.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{s.prodRule + "0"}})
			return err
		}, "RuleNotFound"},
		{"unknown listener", func() error {
			_, err := s.client.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{"arn:nope"}})
			return err
		}, "ListenerNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var apiErr smithy.APIError
			if err := tt.call(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
				t.Errorf("error = %v, want %s", err, tt.code)
			}
		})
	}
	var nf *elbtypes.RuleNotFoundException
	if _, err := s.client.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String("arn:nope")}); !errors.As(err, &nf) {
		t.Errorf("error = %v, want a typed *RuleNotFoundException", err)
	}
}

func TestELBListenerDefaultActions(t *testing.T) {
	s := newTestELB(t, ELBv2Options{})
	ctx := context.Background()
	_, err := s.client.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(s.listener), DefaultActions: []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(s.tgB)}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.client.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{s.listener}})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Listeners[0].DefaultActions[0]
	if got := aws.ToString(a.TargetGroupArn); got != s.tgB || len(a.ForwardConfig.TargetGroups) != 1 || aws.ToInt32(a.ForwardConfig.TargetGroups[0].Weight) != 1 {
		t.Errorf("default action = %s %+v, want a forward to %s with weight 1", got, a.ForwardConfig, s.tgB)
	}
	tgs, err := s.client.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{s.tgB}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tgs.TargetGroups[0].LoadBalancerArns; len(got) != 1 {
		t.Errorf("load balancers of the target group = %v, want one", got)
	}
}

func TestELBTargetHealthFollowsECSTaskSets(t *testing.T) {
	clock := &manualClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newTestELB(t, ELBv2Options{HealthDelay: 30 * time.Second, Now: clock.Now})
	ecsFake := NewECS(t, ECSOptions{StartDelay: time.Minute, Now: clock.Now})
	s.fake.AddTargetSource(ecsFake)
	if err := ecsFake.CreateService(ECSService{Cluster: "prod", Name: "web", DesiredCount: 2, DeploymentController: "EXTERNAL"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := createTaskSetInput("")
	in.LoadBalancers[0].TargetGroupArn = aws.String(s.tgB)
	if _, err := ecs.NewFromConfig(Config(ecsFake.URL)).CreateTaskSet(ctx, in); err != nil {
		t.Fatal(err)
	}
	states := func() []string {
		t.Helper()
		out, err := s.client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(s.tgB)})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, d := range out.TargetHealthDescriptions {
			got = append(got, aws.ToString(d.Target.Id)+":"+string(d.TargetHealth.State))
		}
		return got
	}
	steps := []struct {
		advance time.Duration
		fail    string
		want    []string
	}{
		{0, "", []string{}},
		{time.Minute, "", []string{"10.0.1.1:initial", "10.0.1.2:initial"}},
		{30 * time.Second, "", []string{"10.0.1.1:healthy", "10.0.1.2:healthy"}},
		{0, "Health checks failed with these codes: [502]", []string{"10.0.1.1:unhealthy", "10.0.1.2:unhealthy"}},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if st.fail != "" {
			s.fake.FailHealthChecks(s.tgB, st.fail)
		}
		if diff := cmp.Diff(st.want, states()); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
	if got := s.fake.Faults.Calls()["DescribeTargetHealth"]; got != len(steps) {
		t.Errorf("DescribeTargetHealth calls = %d, want %d", got, len(steps))
	}
}
