package elbrouter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/google/go-cmp/cmp"
)

// brownfield is a listener with a production rule and a test rule that
// another tool (the console, CloudFormation, a CodeDeploy setup) created
// directly in ELBv2, before the router was ever used on them.
type brownfield struct {
	fake              *awsfake.ELBv2
	client            *elbv2.Client
	tgA, tgB, tgX     string // the slots' target groups, and one of neither
	listener          string
	prodRule, tstRule string
	svc               elbrouter.Service
}

// forwardTo names the target groups of a forward action: "A", "B", "X"
// (neither slot's), each with an ALB weight, or with weight -1 written as
// a bare TargetGroupArn (one target group, no forward config).
type forwardTo map[string]int

func (b *brownfield) actions(f forwardTo) []awsfake.ELBAction {
	arns := map[string]string{"A": b.tgA, "B": b.tgB, "X": b.tgX}
	if len(f) == 1 {
		for k, w := range f {
			if w < 0 {
				return []awsfake.ELBAction{{Type: "forward", TargetGroupARN: arns[k]}}
			}
		}
	}
	fc := &awsfake.ELBForwardConfig{}
	for _, k := range []string{"A", "B", "X"} {
		if w, ok := f[k]; ok {
			fc.TargetGroups = append(fc.TargetGroups, awsfake.ELBWeightedTargetGroup{TargetGroupARN: arns[k], Weight: w})
		}
	}
	return []awsfake.ELBAction{{Type: "forward", Forward: fc}}
}

// newBrownfield creates the rules with the fake's own API: the production
// rule (host and path conditions, sticky, priority 7) forwarding as prod
// says, and the test rule (a header condition, priority 3) as test says.
func newBrownfield(t *testing.T, prod, test forwardTo) *brownfield {
	t.Helper()
	fake := awsfake.NewELBv2(t, awsfake.ELBv2Options{})
	b := &brownfield{fake: fake, client: elbv2.NewFromConfig(awsfake.Config(fake.URL))}
	b.tgA, b.tgB, b.tgX = fake.CreateTargetGroup("web-blue", 8080), fake.CreateTargetGroup("web-green", 8080), fake.CreateTargetGroup("legacy", 8080)
	var err error
	if b.listener, err = fake.CreateListener("web", 443, []awsfake.ELBAction{{Type: "fixed-response", FixedResponse: &awsfake.ELBFixedResponse{StatusCode: "404"}}}); err != nil {
		t.Fatal(err)
	}
	prodActions := b.actions(prod)
	prodActions[0].Order = 5
	if fc := prodActions[0].Forward; fc != nil {
		fc.Stickiness = &awsfake.ELBStickiness{Enabled: true, DurationSeconds: 3600}
	}
	b.prodRule, err = fake.CreateRule(b.listener, 7, []awsfake.ELBCondition{
		{Field: "host-header", HostHeader: []string{"web.example.com"}},
		{Field: "path-pattern", PathPattern: []string{"/api/*"}},
	}, prodActions)
	if err != nil {
		t.Fatal(err)
	}
	if b.tstRule, err = fake.CreateRule(b.listener, 3, []awsfake.ELBCondition{{Field: "http-header", HTTPHeaderName: "X-Test", HTTPHeaderValues: []string{"1"}}},
		b.actions(test)); err != nil {
		t.Fatal(err)
	}
	b.svc = elbrouter.Service{ProductionRuleARN: b.prodRule, TestRuleARN: b.tstRule, TargetGroupA: b.tgA, TargetGroupB: b.tgB}
	return b
}

func (b *brownfield) router(t *testing.T) *elbrouter.Router {
	t.Helper()
	r, err := elbrouter.New(elbrouter.Options{Client: b.client, Services: map[string]elbrouter.Service{"web": b.svc}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoutesOfRulesTheRouterNeverTouched(t *testing.T) {
	tests := []struct {
		name       string
		prod, test forwardTo
		// noWeights rewrites the production rule over the API with one
		// target group and no weight, as a tool that never heard of
		// weights would.
		noWeights string
		want      bluegreen.Routes
		// wantUnknown is the target group ("X") an error must name.
		wantUnknown string
	}{
		{"plain forward to A, test to A", forwardTo{"A": -1}, forwardTo{"A": -1}, "",
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}, ""},
		{"A alone at weight 1", forwardTo{"A": 1}, forwardTo{"A": 1}, "",
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}, ""},
		{"A at 100, B at 0 (the console's 100%)", forwardTo{"A": 100, "B": 0}, forwardTo{"B": -1}, "",
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, ""},
		{"one target group, no weight given", forwardTo{"A": 1}, forwardTo{"A": -1}, "B",
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotA}, ""},
		{"B alone at 999", forwardTo{"B": 999}, forwardTo{"B": -1}, "",
			bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}, ""},
		{"split 80:20", forwardTo{"A": 80, "B": 20}, forwardTo{"B": -1}, "",
			bluegreen.Routes{Production: bluegreen.Weights{A: 800, B: 200}, Test: bluegreen.SlotB}, ""},
		{"split 1:3", forwardTo{"A": 1, "B": 3}, forwardTo{"A": 1, "B": 3}, "",
			bluegreen.Routes{Production: bluegreen.Weights{A: 250, B: 750}}, ""},
		{"canary 999:1 is 0.1%", forwardTo{"A": 999, "B": 1}, forwardTo{"B": -1}, "",
			bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}, ""},
		{"998:1 scales to tenths and keeps the small share", forwardTo{"A": 998, "B": 1}, forwardTo{"A": -1}, "",
			bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotA}, ""},
		{"both at 0: nothing routed", forwardTo{"A": 0, "B": 0}, forwardTo{"A": -1}, "",
			bluegreen.Routes{Test: bluegreen.SlotA}, ""},
		{"production to a target group of neither slot", forwardTo{"X": -1}, forwardTo{"A": -1}, "", bluegreen.Routes{}, "X"},
		{"a third target group, even at weight 0", forwardTo{"A": 999, "X": 0}, forwardTo{"A": -1}, "", bluegreen.Routes{}, "X"},
		{"test to a target group of neither slot", forwardTo{"A": -1}, forwardTo{"X": 1}, "", bluegreen.Routes{}, "X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrownfield(t, tt.prod, tt.test)
			if tt.noWeights != "" {
				tg := map[string]string{"A": b.tgA, "B": b.tgB}[tt.noWeights]
				_, err := b.client.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(b.prodRule), Actions: []elbtypes.Action{{
					Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
						TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tg)}}}}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			r := b.router(t)
			got, err := r.Routes(context.Background(), "web")
			if tt.wantUnknown != "" {
				var ute *elbrouter.UnknownTargetGroupError
				if !errors.As(err, &ute) || ute.TargetGroup != b.tgX || !strings.Contains(err.Error(), b.tgX) {
					t.Fatalf("Routes = %v, %v; want an UnknownTargetGroupError naming %s", got, err, b.tgX)
				}
				if code := r.ErrorCode(err); code != bluegreen.CodeFailedPrecondition {
					t.Errorf("ErrorCode = %v, want failed precondition", code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Routes (-want +got):\n%s", diff)
			}
			if ok, err := r.Verify(context.Background(), "web", got); err != nil || !ok {
				t.Errorf("Verify(Routes()) = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestRoutesOfRuleWithoutForwardAction(t *testing.T) {
	b := newBrownfield(t, forwardTo{"A": -1}, forwardTo{"A": -1})
	_, err := b.client.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(b.prodRule), Actions: []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("503")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.router(t).Routes(context.Background(), "web"); err == nil || !strings.Contains(err.Error(), b.prodRule+" has no forward action") {
		t.Errorf("Routes = %v, want an error saying the production rule has no forward action", err)
	}
}

// TestSetRoutesKeepsBrownfieldRules shifts a rule another tool created
// (conditions, priority, action order, stickiness) through a deployment and
// its rollback, and checks that only the forward weights changed.
func TestSetRoutesKeepsBrownfieldRules(t *testing.T) {
	b := newBrownfield(t, forwardTo{"A": 1}, forwardTo{"A": -1})
	r := b.router(t)
	ctx := context.Background()
	prodBefore, _ := b.fake.Rule(b.prodRule)
	testBefore, _ := b.fake.Rule(b.tstRule)
	// forward reports a rule's forward action with the target groups by slot.
	forward := func(rule awsfake.ELBRule) (order int, tgs map[string]int, sticky awsfake.ELBStickiness) {
		names := map[string]string{b.tgA: "A", b.tgB: "B", b.tgX: "X"}
		a := rule.Actions[0]
		tgs = map[string]int{}
		for _, tg := range a.Forward.TargetGroups {
			tgs[names[tg.TargetGroupARN]] = tg.Weight
		}
		return a.Order, tgs, *a.Forward.Stickiness
	}
	_, _, prodSticky := forward(prodBefore)
	if !prodSticky.Enabled {
		t.Fatalf("setup: production rule is not sticky: %+v", prodSticky)
	}
	steps := []struct {
		name     string
		routes   bluegreen.Routes
		wantProd map[string]int
		wantTest map[string]int
	}{
		{"test traffic to green", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB},
			map[string]int{"A": 999, "B": 0}, map[string]int{"B": 1}},
		{"10% to green", bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 100), Test: bluegreen.SlotB},
			map[string]int{"A": 900, "B": 100}, map[string]int{"B": 1}},
		{"rollback: all back to blue", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA},
			map[string]int{"A": 999, "B": 0}, map[string]int{"A": 1}},
	}
	for _, s := range steps {
		if err := r.SetRoutes(ctx, "web", s.routes); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		prod, _ := b.fake.Rule(b.prodRule)
		test, _ := b.fake.Rule(b.tstRule)
		order, prodTGs, sticky := forward(prod)
		_, testTGs, _ := forward(test)
		if diff := cmp.Diff(s.wantProd, prodTGs); diff != "" {
			t.Errorf("%s: production weights (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantTest, testTGs); diff != "" {
			t.Errorf("%s: test weights (-want +got):\n%s", s.name, diff)
		}
		if order != 5 || sticky != prodSticky {
			t.Errorf("%s: production action order %d, stickiness %+v; want 5 and %+v as they were", s.name, order, sticky, prodSticky)
		}
		for _, c := range []struct{ before, after awsfake.ELBRule }{{prodBefore, prod}, {testBefore, test}} {
			if diff := cmp.Diff(c.before.Conditions, c.after.Conditions); diff != "" || c.before.Priority != c.after.Priority {
				t.Errorf("%s: rule %s: priority %s -> %s, conditions (-before +after):\n%s", s.name, c.after.ARN, c.before.Priority, c.after.Priority, diff)
			}
		}
		if got, err := r.Routes(ctx, "web"); err != nil || got != s.routes {
			t.Errorf("%s: Routes = %v, %v; want %v", s.name, got, err, s.routes)
		}
	}
}

// bareForwardRules answers DescribeRules with forward actions that name one
// target group in TargetGroupArn and have no ForwardConfig, the shape ELBv2
// returned before weighted target groups existed, as canned XML read by the
// real SDK client.
func bareForwardRules(rules map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "DescribeRules" {
			http.Error(w, "only DescribeRules", http.StatusBadRequest)
			return
		}
		var b strings.Builder
		b.WriteString(`<DescribeRulesResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeRulesResult><Rules>`)
		for i := 1; ; i++ {
			arn := r.PostForm.Get(fmt.Sprintf("RuleArns.member.%d", i))
			if arn == "" {
				break
			}
			fmt.Fprintf(&b, `<member><RuleArn>%s</RuleArn><Priority>%d</Priority><IsDefault>false</IsDefault><Conditions/>`+
				`<Actions><member><Type>forward</Type><Order>1</Order><TargetGroupArn>%s</TargetGroupArn></member></Actions></member>`, arn, i, rules[arn])
		}
		b.WriteString(`</Rules></DescribeRulesResult><ResponseMetadata><RequestId>canned</RequestId></ResponseMetadata></DescribeRulesResponse>`)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, b.String())
	}
}

func TestRoutesOfBareForwardActions(t *testing.T) {
	const (
		prod = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3"
		test = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/4"
		tgA  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/1"
		tgB  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/2"
		tgX  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/legacy/3"
	)
	tests := []struct {
		name        string
		prodTG      string
		testTG      string
		want        bluegreen.Routes
		wantUnknown string
	}{
		{"production and test on A", tgA, tgA, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}, ""},
		{"production on B, test on A", tgB, tgA, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotA}, ""},
		{"production on neither", tgX, tgA, bluegreen.Routes{}, tgX},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := awsfake.ServeTest(t, bareForwardRules(map[string]string{prod: tt.prodTG, test: tt.testTG}))
			r, err := elbrouter.New(elbrouter.Options{Client: elbv2.NewFromConfig(awsfake.Config(url)), Logger: quiet,
				Services: map[string]elbrouter.Service{"web": {ProductionRuleARN: prod, TestRuleARN: test, TargetGroupA: tgA, TargetGroupB: tgB}}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Routes(context.Background(), "web")
			if tt.wantUnknown != "" {
				var ute *elbrouter.UnknownTargetGroupError
				if !errors.As(err, &ute) || ute.TargetGroup != tt.wantUnknown {
					t.Fatalf("Routes = %v, %v; want an UnknownTargetGroupError naming %s", got, err, tt.wantUnknown)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Routes = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
