package elbrouter_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
)

// Construction from the default AWS configuration, with a production rule
// and a header-condition test rule on the same listener.
func Example_loadDefaultConfig() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	router, err := elbrouter.New(elbrouter.Options{
		Client: elbv2.NewFromConfig(cfg),
		Services: map[string]elbrouter.Service{
			"web": {
				ProductionRuleARN: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
				TestRuleARN:       "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/1b2f1ab39b5e1c64",
				TargetGroupA:      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-a/0123456789abcdef",
				TargetGroupB:      "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-b/fedcba9876543210",
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = router // pass it as bluegreen.Config.Router
}

// A 0.1% canary on slot B with the test route on B, against the in-process
// ELBv2 fake (with a real account the client comes from
// config.LoadDefaultConfig, as in the other example).
func Example() {
	ctx := context.Background()
	var closers awsfake.Closers
	defer closers.Close()
	fake := awsfake.NewELBv2(&closers, awsfake.ELBv2Options{})
	tgA, tgB := fake.CreateTargetGroup("web-a", 8080), fake.CreateTargetGroup("web-b", 8080)
	listener, err := fake.CreateListener("web", 443, []awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}})
	if err != nil {
		log.Fatal(err)
	}
	testRule, err := fake.CreateRule(listener, 1, []awsfake.ELBCondition{{Field: "http-header", HTTPHeaderName: "X-Test", HTTPHeaderValues: []string{"1"}}},
		[]awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}})
	if err != nil {
		log.Fatal(err)
	}

	router, err := elbrouter.New(elbrouter.Options{
		Client: elbv2.NewFromConfig(awsfake.Config(fake.URL)),
		Services: map[string]elbrouter.Service{
			"web": {ProductionListenerARN: listener, TestRuleARN: testRule, TargetGroupA: tgA, TargetGroupB: tgB},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	canary := bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}
	if err := router.SetRoutes(ctx, "web", canary); err != nil {
		log.Fatal(err)
	}
	ok, err := router.Verify(ctx, "web", canary)
	if err != nil {
		log.Fatal(err)
	}
	routes, err := router.Routes(ctx, "web")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(routes, ok)
	// Output: A=99.9% B=0.1% test=B true
}
