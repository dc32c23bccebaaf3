package elbrouter

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/bluegreen-go/bluegreen"
)

// route is a rule's actions, or a listener's default actions, as read.
type route struct {
	arn      string
	listener bool
	actions  []elbtypes.Action
}

// current holds a service's routes as read; test is nil when the service
// has no test route.
type current struct {
	prod route
	test *route
}

// read fetches the service's production and test routes: its rules with
// DescribeRules and its listeners with DescribeListeners, in calls shared
// with the concurrent reads of other services (see Options.SeparateReads).
func (r *Router) read(ctx context.Context, s Service) (current, error) {
	var rules, listeners []string
	for _, arn := range []string{s.ProductionRuleARN, s.TestRuleARN} {
		if arn != "" {
			rules = append(rules, arn)
		}
	}
	for _, arn := range []string{s.ProductionListenerARN, s.TestListenerARN} {
		if arn != "" {
			listeners = append(listeners, arn)
		}
	}
	found := map[string]route{}
	if len(rules) > 0 {
		got, err := r.readRules(ctx, rules)
		if err != nil {
			return current{}, fmt.Errorf("elbrouter: describe rules: %w", err)
		}
		maps.Copy(found, got)
	}
	if len(listeners) > 0 {
		got, err := r.readListeners(ctx, listeners)
		if err != nil {
			return current{}, fmt.Errorf("elbrouter: describe listeners: %w", err)
		}
		maps.Copy(found, got)
	}
	get := func(arn string) (route, error) {
		rt, ok := found[arn]
		if !ok {
			return route{}, fmt.Errorf("elbrouter: %s was not in the describe response", arn)
		}
		return rt, nil
	}
	var cur current
	var err error
	if cur.prod, err = get(s.ProductionRuleARN + s.ProductionListenerARN); err != nil {
		return current{}, err
	}
	if arn := s.TestRuleARN + s.TestListenerARN; arn != "" {
		t, err := get(arn)
		if err != nil {
			return current{}, err
		}
		cur.test = &t
	}
	return cur, nil
}

// readRules returns the rules of arns that DescribeRules answered, by ARN.
func (r *Router) readRules(ctx context.Context, arns []string) (map[string]route, error) {
	if r.rules != nil {
		return r.rules.read(ctx, arns)
	}
	return r.describeRules(ctx, arns)
}

// readListeners returns the listeners of arns that DescribeListeners
// answered, by ARN.
func (r *Router) readListeners(ctx context.Context, arns []string) (map[string]route, error) {
	if r.listeners != nil {
		return r.listeners.read(ctx, arns)
	}
	return r.describeListeners(ctx, arns)
}

// describeRules makes one DescribeRules call for arns.
func (r *Router) describeRules(ctx context.Context, arns []string) (map[string]route, error) {
	out, err := r.client.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: arns})
	if err != nil {
		return nil, err
	}
	found := make(map[string]route, len(out.Rules))
	for _, rule := range out.Rules {
		found[aws.ToString(rule.RuleArn)] = route{arn: aws.ToString(rule.RuleArn), actions: rule.Actions}
	}
	return found, nil
}

// describeListeners makes one DescribeListeners call for arns.
func (r *Router) describeListeners(ctx context.Context, arns []string) (map[string]route, error) {
	out, err := r.client.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: arns})
	if err != nil {
		return nil, err
	}
	found := make(map[string]route, len(out.Listeners))
	for _, l := range out.Listeners {
		found[aws.ToString(l.ListenerArn)] = route{arn: aws.ToString(l.ListenerArn), listener: true, actions: l.DefaultActions}
	}
	return found, nil
}

// noForwardError reports a route without a forward action.
type noForwardError struct{ route string }

func (e *noForwardError) Error() string {
	return fmt.Sprintf("elbrouter: %s has no forward action; give it a forward action to the service's target groups", e.route)
}

// forward returns the index of the route's forward action.
func (rt route) forward() (int, error) {
	for i, a := range rt.actions {
		if a.Type == elbtypes.ActionTypeEnumForward {
			return i, nil
		}
	}
	return 0, &noForwardError{route: rt.arn}
}

// targets returns the target groups and weights the route forwards to.
func (rt route) targets() (map[string]int, error) {
	i, err := rt.forward()
	if err != nil {
		return nil, err
	}
	a := rt.actions[i]
	out := map[string]int{}
	if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
		if arn := aws.ToString(a.TargetGroupArn); arn != "" {
			out[arn] = 1
		}
		return out, nil
	}
	for _, tg := range a.ForwardConfig.TargetGroups {
		w := 1 // a target group listed without a weight gets the default weight
		if tg.Weight != nil {
			w = int(*tg.Weight)
		}
		out[aws.ToString(tg.TargetGroupArn)] = w
	}
	return out, nil
}

// slotWeights returns the ALB weights of the two slots in a route and the
// target groups it lists, which must be the slots' own.
func (s Service) slotWeights(rt route) (a, b int, tgs map[string]int, err error) {
	tgs, err = rt.targets()
	if err != nil {
		return 0, 0, nil, err
	}
	for _, arn := range slices.Sorted(maps.Keys(tgs)) {
		switch arn {
		case s.TargetGroupA:
			a = tgs[arn]
		case s.TargetGroupB:
			b = tgs[arn]
		default:
			return 0, 0, nil, &UnknownTargetGroupError{Route: rt.arn, TargetGroup: arn}
		}
	}
	return a, b, tgs, nil
}

// toTenths converts ALB weights to bluegreen weights (see the package doc).
func toTenths(a, b int) bluegreen.Weights {
	switch {
	case a+b == 0:
		return bluegreen.Weights{}
	case a+b == int(bluegreen.Full):
		return bluegreen.Weights{A: bluegreen.Weight(a), B: bluegreen.Weight(b)}
	case b == 0:
		return bluegreen.AllTo(bluegreen.SlotA)
	case a == 0:
		return bluegreen.AllTo(bluegreen.SlotB)
	}
	wa := bluegreen.Weight(math.Round(float64(a) * float64(bluegreen.Full) / float64(a+b)))
	return bluegreen.Weights{A: wa, B: bluegreen.Full - wa}
}

// toALB converts bluegreen weights to ALB weights (0–999).
func toALB(w bluegreen.Weights) (a, b int) {
	switch {
	case w.A == bluegreen.Full:
		return 999, 0
	case w.B == bluegreen.Full:
		return 0, 999
	}
	return int(w.A), int(w.B)
}

// production returns the target groups and weights of the production route.
func (s Service) production(w bluegreen.Weights) map[string]int {
	a, b := toALB(w)
	return map[string]int{s.TargetGroupA: a, s.TargetGroupB: b}
}

// test returns the target groups and weights of the test route: the test
// slot alone, or the production weights when there is no test slot.
func (s Service) test(rt bluegreen.Routes) map[string]int {
	switch rt.Test {
	case bluegreen.SlotA:
		return map[string]int{s.TargetGroupA: 1}
	case bluegreen.SlotB:
		return map[string]int{s.TargetGroupB: 1}
	}
	return s.production(rt.Production)
}

// routes converts what was read to bluegreen routes.
func (s Service) routes(cur current) (bluegreen.Routes, error) {
	a, b, _, err := s.slotWeights(cur.prod)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	out := bluegreen.Routes{Production: toTenths(a, b)}
	if cur.test == nil {
		return out, nil
	}
	_, _, tgs, err := s.slotWeights(*cur.test)
	if err != nil {
		return bluegreen.Routes{}, err
	}
	if len(tgs) == 1 {
		// A test route forwarding to one target group tests that slot; one
		// forwarding to both mirrors production and tests no slot.
		out.Test = bluegreen.SlotB
		if _, ok := tgs[s.TargetGroupA]; ok {
			out.Test = bluegreen.SlotA
		}
	}
	return out, nil
}

// write sets the route's forward action to want, keeping everything else,
// unless it already forwards exactly so.
//
// It returns the route as ELBv2 answered the write (the rule or listener as
// stored), or rt itself when nothing was written; ok is false when the
// answer did not include it.
func (r *Router) write(ctx context.Context, service, which string, rt route, want map[string]int) (after route, ok bool, err error) {
	got, err := rt.targets()
	if err != nil {
		return route{}, false, err
	}
	i, _ := rt.forward()
	if maps.Equal(got, want) {
		return rt, true, nil
	}
	actions := make([]elbtypes.Action, len(rt.actions))
	copy(actions, rt.actions)
	fwd := actions[i]
	fc := &elbtypes.ForwardActionConfig{}
	if fwd.ForwardConfig != nil {
		// Stickiness is kept as it was.
		fc.TargetGroupStickinessConfig = fwd.ForwardConfig.TargetGroupStickinessConfig
	}
	for _, arn := range slices.Sorted(maps.Keys(want)) {
		fc.TargetGroups = append(fc.TargetGroups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(int32(want[arn]))})
	}
	// A forward to several target groups must not also name one in
	// TargetGroupArn; the forward config says it all.
	fwd.TargetGroupArn, fwd.ForwardConfig = nil, fc
	actions[i] = fwd
	for j := range actions {
		// ELBv2 never returns an OIDC client secret; writing the action back
		// must ask it to keep the one it has.
		if c := actions[j].AuthenticateOidcConfig; c != nil && c.ClientSecret == nil {
			cc := *c
			cc.UseExistingClientSecret = aws.Bool(true)
			actions[j].AuthenticateOidcConfig = &cc
		}
	}
	if rt.listener {
		var out *elbv2.ModifyListenerOutput
		out, err = r.client.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(rt.arn), DefaultActions: actions})
		if err == nil {
			for _, l := range out.Listeners {
				if aws.ToString(l.ListenerArn) == rt.arn {
					after, ok = route{arn: rt.arn, listener: true, actions: l.DefaultActions}, true
				}
			}
		}
	} else {
		var out *elbv2.ModifyRuleOutput
		out, err = r.client.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(rt.arn), Actions: actions})
		if err == nil {
			for _, rule := range out.Rules {
				if aws.ToString(rule.RuleArn) == rt.arn {
					after, ok = route{arn: rt.arn, actions: rule.Actions}, true
				}
			}
		}
	}
	if err != nil {
		return route{}, false, fmt.Errorf("elbrouter: service %s: set %s route %s: %w", service, which, shortARN(rt.arn), err)
	}
	r.log.InfoContext(ctx, "elbrouter: route changed", "service", service, "route", which, "arn", shortARN(rt.arn), "forward", describe(want))
	return after, ok, nil
}

// describe prints target groups and weights for a log line, such as
// "web-a=900 web-b=100", by the target groups' names.
func describe(weights map[string]int) string {
	var b strings.Builder
	for _, arn := range slices.Sorted(maps.Keys(weights)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		name := arn
		// arn:aws:elasticloadbalancing:region:account:targetgroup/<name>/<id>
		if _, rest, ok := strings.Cut(arn, ":targetgroup/"); ok {
			name, _, _ = strings.Cut(rest, "/")
		}
		fmt.Fprintf(&b, "%s=%d", name, weights[arn])
	}
	return b.String()
}
