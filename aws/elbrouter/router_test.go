package elbrouter_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// stack is an ELBv2 fake set up with one listener per service, each with a
// production rule (host header, sticky) and a test rule (header condition),
// both forwarding to slot A's target group.
type stack struct {
	fake     *awsfake.ELBv2
	client   *elbv2.Client
	services map[string]elbrouter.Service
}

func newStack(t *testing.T, names ...string) *stack {
	t.Helper()
	fake := awsfake.NewELBv2(t, awsfake.ELBv2Options{})
	s := &stack{fake: fake, client: elbv2.NewFromConfig(awsfake.Config(fake.URL)), services: map[string]elbrouter.Service{}}
	for i, name := range names {
		tgA, tgB := fake.CreateTargetGroup(name+"-a", 8080), fake.CreateTargetGroup(name+"-b", 8080)
		listener, err := fake.CreateListener(name, 80+i, []awsfake.ELBAction{{Type: "fixed-response", FixedResponse: &awsfake.ELBFixedResponse{StatusCode: "404"}}})
		if err != nil {
			t.Fatal(err)
		}
		prod, err := fake.CreateRule(listener, 20, []awsfake.ELBCondition{{Field: "host-header", HostHeader: []string{name + ".example.com"}}},
			[]awsfake.ELBAction{{Type: "forward", Forward: &awsfake.ELBForwardConfig{
				TargetGroups: []awsfake.ELBWeightedTargetGroup{{TargetGroupARN: tgA, Weight: 1}},
				Stickiness:   &awsfake.ELBStickiness{Enabled: true, DurationSeconds: 3600}}}})
		if err != nil {
			t.Fatal(err)
		}
		test, err := fake.CreateRule(listener, 10, []awsfake.ELBCondition{{Field: "http-header", HTTPHeaderName: "X-Canary", HTTPHeaderValues: []string{"1"}}},
			[]awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}})
		if err != nil {
			t.Fatal(err)
		}
		s.services[name] = elbrouter.Service{ProductionRuleARN: prod, TestRuleARN: test, TargetGroupA: tgA, TargetGroupB: tgB}
	}
	return s
}

func (s *stack) router(t *testing.T) *elbrouter.Router {
	t.Helper()
	r, err := elbrouter.New(elbrouter.Options{Client: s.client, Services: s.services, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance(t *testing.T) {
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		s := newStack(t, "web", "api")
		return bluegreentest.RouterHarness{
			Router:   s.router(t),
			Services: []string{"web", "api"},
			Initial:  bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA},
		}
	})
}

// forwardOf returns the target groups and weights of a rule's forward
// action as "arn=weight" and its stickiness.
func forwardOf(t *testing.T, fake *awsfake.ELBv2, arn string) (awsfake.ELBRule, []string, awsfake.ELBStickiness) {
	t.Helper()
	r, ok := fake.Rule(arn)
	if !ok {
		t.Fatalf("rule %s not found", arn)
	}
	var tgs []string
	var sticky awsfake.ELBStickiness
	for _, a := range r.Actions {
		if a.Forward != nil {
			for _, tg := range a.Forward.TargetGroups {
				tgs = append(tgs, fmt.Sprintf("%s=%d", tg.TargetGroupARN[strings.LastIndex(tg.TargetGroupARN[:strings.LastIndex(tg.TargetGroupARN, "/")], "/")+1:], tg.Weight))
			}
			if a.Forward.Stickiness != nil {
				sticky = *a.Forward.Stickiness
			}
		}
	}
	return r, tgs, sticky
}

func TestSetRoutesWritesALBWeightsAndKeepsTheRest(t *testing.T) {
	tests := []struct {
		name     string
		routes   bluegreen.Routes
		wantProd []string
		wantTest []string
	}{
		{"canary 0.1%", bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB},
			[]string{"web-a/0=999", "web-b/0=1"}, []string{"web-b/0=1"}},
		{"all to B", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB},
			[]string{"web-a/0=0", "web-b/0=999"}, []string{"web-b/0=1"}},
		{"all to A", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA},
			[]string{"web-a/0=999", "web-b/0=0"}, []string{"web-a/0=1"}},
		{"12.5% without a test slot: test mirrors production", bluegreen.Routes{Production: bluegreen.Weights{A: 875, B: 125}},
			[]string{"web-a/0=875", "web-b/0=125"}, []string{"web-a/0=875", "web-b/0=125"}},
		{"nothing routed", bluegreen.Routes{}, []string{"web-a/0=0", "web-b/0=0"}, []string{"web-a/0=0", "web-b/0=0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "web")
			before, _, _ := forwardOf(t, s.fake, s.services["web"].ProductionRuleARN)
			beforeTest, _, _ := forwardOf(t, s.fake, s.services["web"].TestRuleARN)
			r := s.router(t)
			if err := r.SetRoutes(context.Background(), "web", tt.routes); err != nil {
				t.Fatal(err)
			}
			prod, prodTGs, sticky := forwardOf(t, s.fake, s.services["web"].ProductionRuleARN)
			test, testTGs, _ := forwardOf(t, s.fake, s.services["web"].TestRuleARN)
			// Target group names are "<name>/<id>"; the fake's ids are unique, so trim them for the comparison.
			trim := func(in []string) []string {
				out := make([]string, len(in))
				for i, v := range in {
					name, rest, _ := strings.Cut(v, "/")
					_, w, _ := strings.Cut(rest, "=")
					out[i] = name + "/0=" + w
				}
				return out
			}
			if diff := cmp.Diff(tt.wantProd, trim(prodTGs)); diff != "" {
				t.Errorf("production forward (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTest, trim(testTGs)); diff != "" {
				t.Errorf("test forward (-want +got):\n%s", diff)
			}
			if want := (awsfake.ELBStickiness{Enabled: true, DurationSeconds: 3600}); sticky != want {
				t.Errorf("stickiness = %+v, want it kept as %+v", sticky, want)
			}
			if diff := cmp.Diff(before.Conditions, prod.Conditions); diff != "" || prod.Priority != before.Priority {
				t.Errorf("production rule conditions or priority changed (priority %s -> %s):\n%s", before.Priority, prod.Priority, diff)
			}
			if diff := cmp.Diff(beforeTest.Conditions, test.Conditions); diff != "" || test.Priority != beforeTest.Priority {
				t.Errorf("test rule conditions or priority changed:\n%s", diff)
			}
			got, err := r.Routes(context.Background(), "web")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.routes, got); diff != "" {
				t.Errorf("Routes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEveryWeightRoundTrips(t *testing.T) {
	s := newStack(t, "web")
	r := s.router(t)
	ctx := context.Background()
	for _, w := range []bluegreen.Weight{0, 1, 2, 9, 10, 99, 100, 333, 500, 501, 998, 999, 1000} {
		want := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, w), Test: bluegreen.SlotB}
		if err := r.SetRoutes(ctx, "web", want); err != nil {
			t.Fatal(err)
		}
		got, err := r.Routes(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("B=%v: Routes = %v, want %v", w, got, want)
		}
	}
}

func TestRoutesReadsWeightsSetByOthers(t *testing.T) {
	tests := []struct {
		name string
		a, b int
		want bluegreen.Weights
	}{
		{"tenths", 250, 750, bluegreen.Weights{A: 250, B: 750}},
		{"console 1:1", 1, 1, bluegreen.Weights{A: 500, B: 500}},
		{"console 80:20", 80, 20, bluegreen.Weights{A: 800, B: 200}},
		{"one side only", 0, 5, bluegreen.AllTo(bluegreen.SlotB)},
		{"a third rounds", 1, 2, bluegreen.Weights{A: 333, B: 667}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "web")
			svc := s.services["web"]
			_, err := s.client.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(svc.ProductionRuleARN),
				Actions: forwardActions(map[string]int{svc.TargetGroupA: tt.a, svc.TargetGroupB: tt.b})})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.router(t).Routes(context.Background(), "web")
			if err != nil {
				t.Fatal(err)
			}
			if got.Production != tt.want {
				t.Errorf("production = %v, want %v", got.Production, tt.want)
			}
		})
	}
}

func TestUnknownTargetGroupIsAClearError(t *testing.T) {
	s := newStack(t, "web")
	svc := s.services["web"]
	stranger := s.fake.CreateTargetGroup("stranger", 8080)
	_, err := s.client.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{RuleArn: aws.String(svc.ProductionRuleARN),
		Actions: forwardActions(map[string]int{svc.TargetGroupA: 10, stranger: 990})})
	if err != nil {
		t.Fatal(err)
	}
	r := s.router(t)
	_, err = r.Routes(context.Background(), "web")
	var ute *elbrouter.UnknownTargetGroupError
	if !errors.As(err, &ute) || ute.TargetGroup != stranger || !strings.Contains(err.Error(), "neither slot A's nor slot B's") {
		t.Fatalf("Routes error = %v, want an UnknownTargetGroupError naming %s", err, stranger)
	}
	if got := r.ErrorCode(err); got != bluegreen.CodeFailedPrecondition {
		t.Errorf("ErrorCode = %v, want %v", got, bluegreen.CodeFailedPrecondition)
	}
	// SetRoutes refuses too, rather than dropping traffic to a target group it does not know.
	if err := r.SetRoutes(context.Background(), "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); !errors.As(err, &ute) {
		t.Errorf("SetRoutes error = %v, want an UnknownTargetGroupError", err)
	}
}

func TestListenerDefaultActions(t *testing.T) {
	fake := awsfake.NewELBv2(t, awsfake.ELBv2Options{})
	tgA, tgB := fake.CreateTargetGroup("a", 80), fake.CreateTargetGroup("b", 80)
	prod, err := fake.CreateListener("web", 443, []awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}})
	if err != nil {
		t.Fatal(err)
	}
	test, err := fake.CreateListener("web", 8443, []awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}})
	if err != nil {
		t.Fatal(err)
	}
	client := elbv2.NewFromConfig(awsfake.Config(fake.URL))
	r, err := elbrouter.New(elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{
		"web": {ProductionListenerARN: prod, TestListenerARN: test, TargetGroupA: tgA, TargetGroupB: tgB}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}
	if err := r.SetRoutes(ctx, "web", want); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Verify(ctx, "web", want); err != nil || !ok {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
	l, _ := fake.Listener(test)
	if got := l.DefaultActions[0].TargetGroupARN; got != tgB {
		t.Errorf("test listener forwards to %s, want %s", got, tgB)
	}
	if calls := fake.Faults.Calls(); calls["ModifyListener"] != 2 || calls["DescribeListeners"] != 1 || calls["DescribeRules"] != 0 {
		t.Errorf("calls = %v, want 2 ModifyListener, 1 DescribeListeners (read before writing; Verify checks the writes' answers)", calls)
	}
}

func TestCallsForOneSetRoutesAndVerify(t *testing.T) {
	s := newStack(t, "web")
	r := s.router(t)
	ctx := context.Background()
	want := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}
	if err := r.SetRoutes(ctx, "web", want); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Verify(ctx, "web", want); err != nil || !ok {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
	// Verify checks ModifyRule's answers: one read per traffic change.
	if diff := cmp.Diff(map[string]int{"DescribeRules": 1, "ModifyRule": 2}, s.fake.Faults.Calls()); diff != "" {
		t.Errorf("calls for SetRoutes+Verify (-want +got):\n%s", diff)
	}
	// Setting the same routes again reads and writes nothing.
	if err := r.SetRoutes(ctx, "web", want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"DescribeRules": 2, "ModifyRule": 2}, s.fake.Faults.Calls()); diff != "" {
		t.Errorf("calls after a repeated SetRoutes (-want +got):\n%s", diff)
	}
}

// TestVerifyReadsUnlessRightAfterAWrite: only the Verify right after a
// write trusts the write's answer; any other Verify reads, and sees a
// change made by someone else.
func TestVerifyReadsUnlessRightAfterAWrite(t *testing.T) {
	s := newStack(t, "web")
	ctx := context.Background()
	want := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}
	for _, tt := range []struct {
		name      string
		opts      time.Duration
		wantReads int // DescribeRules calls for SetRoutes, Verify, Verify
	}{{"default", 0, 2}, {"always read", -1, 3}} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := elbrouter.New(elbrouter.Options{Client: s.client, Services: s.services, Logger: quiet, VerifyFromWrite: tt.opts})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
				t.Fatal(err)
			}
			before := s.fake.Faults.Calls()["DescribeRules"]
			if err := r.SetRoutes(ctx, "web", want); err != nil {
				t.Fatal(err)
			}
			if ok, err := r.Verify(ctx, "web", want); err != nil || !ok {
				t.Fatalf("Verify = %v, %v; want true", ok, err)
			}
			// Another router sends everything back to A.
			other := s.router(t)
			if err := other.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
				t.Fatal(err)
			}
			before++ // its read
			if ok, err := r.Verify(ctx, "web", want); err != nil || ok {
				t.Errorf("Verify after another writer = %v, %v; want false", ok, err)
			}
			if got := s.fake.Faults.Calls()["DescribeRules"] - before; got != tt.wantReads {
				t.Errorf("%d DescribeRules calls, want %d", got, tt.wantReads)
			}
		})
	}
}

func TestSDKRetriesThrottlingAndServerErrors(t *testing.T) {
	s := newStack(t, "web")
	s.fake.Faults.Add(awsfake.Rule{Op: "DescribeRules", Fault: awsfake.Throttling(), Times: 1})
	s.fake.Faults.Add(awsfake.Rule{Op: "ModifyRule", Fault: awsfake.InternalError(), Times: 1})
	r := s.router(t)
	want := bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 500}, Test: bluegreen.SlotB}
	if err := r.SetRoutes(context.Background(), "web", want); err != nil {
		t.Fatalf("SetRoutes with one throttled read and one 500 on write: %v", err)
	}
	if got, err := r.Routes(context.Background(), "web"); err != nil || got != want {
		t.Errorf("Routes = %v, %v; want %v", got, err, want)
	}
	if got := s.fake.Faults.Injected(); got != 2 {
		t.Errorf("faults injected = %d, want 2", got)
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		name  string
		fault awsfake.Fault
		want  bluegreen.Code
	}{
		{"throttled for good", awsfake.Throttling(), bluegreen.CodeThrottled},
		{"server error for good", awsfake.InternalError(), bluegreen.CodeTransient},
		{"service unavailable", awsfake.Fault{Status: 503, Code: "ServiceUnavailable", Message: "try later"}, bluegreen.CodeTransient},
		{"access denied", awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not allowed"}, bluegreen.CodePermission},
		{"rule not found", awsfake.Fault{Status: 400, Code: "RuleNotFound", Message: "gone"}, bluegreen.CodeNotFound},
		{"validation", awsfake.Fault{Status: 400, Code: "ValidationError", Message: "bad"}, bluegreen.CodeInvalid},
		{"refused configuration", awsfake.Fault{Status: 400, Code: "InvalidConfigurationRequest", Message: "bad rule"}, bluegreen.CodeInvalid},
		{"operation not permitted", awsfake.Fault{Status: 400, Code: "OperationNotPermitted", Message: "no"}, bluegreen.CodeFailedPrecondition},
		{"unknown 400", awsfake.Fault{Status: 400, Code: "Mystery", Message: "?"}, bluegreen.CodeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, "web")
			s.fake.Faults.Add(awsfake.Rule{Op: "DescribeRules", Fault: tt.fault})
			r := s.router(t)
			_, err := r.Routes(context.Background(), "web")
			if err == nil {
				t.Fatal("Routes succeeded, want an error")
			}
			if got := r.ErrorCode(err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
	r := newStack(t, "web").router(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Routes(ctx, "web"); r.ErrorCode(err) != bluegreen.CodeCanceled {
		t.Errorf("canceled: ErrorCode(%v) = %v, want canceled", err, r.ErrorCode(err))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	client := elbv2.NewFromConfig(awsfake.Config("http://127.0.0.1:1"))
	ok := elbrouter.Service{ProductionRuleARN: "rule", TargetGroupA: "a", TargetGroupB: "b"}
	tests := []struct {
		name      string
		opts      elbrouter.Options
		wantField string
	}{
		{"no client", elbrouter.Options{Services: map[string]elbrouter.Service{"web": ok}}, "elbrouter.Options.Client"},
		{"no services", elbrouter.Options{Client: client}, "elbrouter.Options.Services"},
		{"no production route", elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{"web": {TargetGroupA: "a", TargetGroupB: "b"}}},
			"elbrouter.Options.Services[web].ProductionRuleARN"},
		{"two production routes", elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{"web": {ProductionRuleARN: "r", ProductionListenerARN: "l", TargetGroupA: "a", TargetGroupB: "b"}}},
			"elbrouter.Options.Services[web].ProductionRuleARN"},
		{"two test routes", elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{"web": {ProductionRuleARN: "r", TestRuleARN: "t", TestListenerARN: "l", TargetGroupA: "a", TargetGroupB: "b"}}},
			"elbrouter.Options.Services[web].TestRuleARN"},
		{"no slot B", elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{"web": {ProductionRuleARN: "r", TargetGroupA: "a"}}},
			"elbrouter.Options.Services[web].TargetGroupB"},
		{"same target groups", elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{"web": {ProductionRuleARN: "r", TargetGroupA: "a", TargetGroupB: "a"}}},
			"elbrouter.Options.Services[web].TargetGroupB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := elbrouter.New(tt.opts)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.wantField || ce.Fix == "" {
				t.Errorf("New error = %v, want a ConfigError for %s with a fix", err, tt.wantField)
			}
		})
	}
	r, err := elbrouter.New(elbrouter.Options{Client: client, Services: map[string]elbrouter.Service{"web": ok}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoutes(context.Background(), "nope", bluegreen.Routes{}); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("SetRoutes of an unconfigured service = %v, want ErrInvalid", err)
	}
}
