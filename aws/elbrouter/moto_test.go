package elbrouter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// ec2Query runs an EC2 query action against moto and returns the first
// match of pattern's group in the response (no EC2 client in go.mod).
func ec2Query(t *testing.T, base, action string, pattern *regexp.Regexp, n int) []string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base, strings.NewReader(url.Values{"Action": {action}, "Version": {"2016-11-15"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto picks the service from the credential scope; it checks no signature.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDAWSFAKE/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, m := range pattern.FindAllSubmatch(body, n) {
		out = append(out, string(m[1]))
	}
	if len(out) < n {
		t.Fatalf("%s: found %d ids, want %d", action, len(out), n)
	}
	return out
}

// motoService creates a load balancer, two target groups, a listener and a
// sticky production rule and a test rule in moto.
func motoService(t *testing.T, client *elbv2.Client, base, name string) elbrouter.Service {
	t.Helper()
	ctx := context.Background()
	subnets := ec2Query(t, base, "DescribeSubnets", regexp.MustCompile(`<subnetId>(subnet-[0-9a-f]+)</subnetId>`), 2)
	vpc := ec2Query(t, base, "DescribeVpcs", regexp.MustCompile(`<vpcId>(vpc-[0-9a-f]+)</vpcId>`), 1)[0]
	lb, err := client.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(name), Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	tg := func(suffix string) string {
		out, err := client.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name + "-" + suffix), Protocol: elbtypes.ProtocolEnumHttp,
			Port: aws.Int32(8080), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	tgA, tgB := tg("a"), tg("b")
	l, err := client.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
	if err != nil {
		t.Fatal(err)
	}
	rule := func(priority int32, cond elbtypes.RuleCondition) string {
		actions := forwardActions(map[string]int{tgA: 1})
		actions[0].ForwardConfig.TargetGroupStickinessConfig = &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(600)}
		out, err := client.CreateRule(ctx, &elbv2.CreateRuleInput{ListenerArn: l.Listeners[0].ListenerArn, Priority: aws.Int32(priority),
			Conditions: []elbtypes.RuleCondition{cond}, Actions: actions})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Rules[0].RuleArn)
	}
	prod := rule(20, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{name + ".example.com"}}})
	test := rule(10, elbtypes.RuleCondition{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{
		HttpHeaderName: aws.String("X-Canary"), Values: []string{"1"}}})
	return elbrouter.Service{ProductionRuleARN: prod, TestRuleARN: test, TargetGroupA: tgA, TargetGroupB: tgB}
}

// TestConformanceAgainstMoto runs the router conformance suite against
// moto's ELBv2: a second opinion on the wire protocol and the rule shapes.
func TestConformanceAgainstMoto(t *testing.T) {
	base := awsfake.StartMoto(t)
	client := elbv2.NewFromConfig(awsfake.Config(base))
	n := 0
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		n++
		services := map[string]elbrouter.Service{}
		for _, name := range []string{"web", "api"} {
			services[name] = motoService(t, client, base, fmt.Sprintf("%s%d", name, n))
		}
		r, err := elbrouter.New(elbrouter.Options{Client: client, Services: services, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return bluegreentest.RouterHarness{Router: r, Services: []string{"web", "api"},
			Initial: bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}}
	})
}
