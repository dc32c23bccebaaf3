package beanstalk_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
)

// A Deployer for Elastic Beanstalk's own blue/green: CNAME swaps, all at once.
func Example_cnameSwap() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	client := elasticbeanstalk.NewFromConfig(cfg)
	services := map[string]beanstalk.Service{"web": {
		Application: "shop", EnvironmentA: "shop-web-a", EnvironmentB: "shop-web-b",
		CNAMEPrefixA: "shop-web", CNAMEPrefixB: "shop-web-stage", ProductionCNAMEPrefix: "shop-web",
		SolutionStackName: "64bit Amazon Linux 2023 v4.3.0 running Go 1",
	}}
	compute, err := beanstalk.New(beanstalk.Options{Client: client, Services: services})
	if err != nil {
		log.Fatal(err)
	}
	router, err := beanstalk.NewSwapRouter(beanstalk.SwapOptions{Client: client, Services: services})
	if err != nil {
		log.Fatal(err)
	}
	shift := bluegreen.AllAtOnce()
	if err := beanstalk.CheckShift(shift); err != nil {
		log.Fatal(err)
	}
	d, err := bluegreen.New(bluegreen.Config{Compute: compute, Router: router, Store: bluegreen.NewMemoryStore(),
		Shift: shift, BakeTime: 10 * time.Minute, HealthTimeout: 30 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	_ = d // d.Deploy(ctx, "web", bluegreen.Revision{Name: "v42", Spec: ...})
}

// A Deployer shifting Elastic Beanstalk traffic linearly with Route 53
// weighted records over the two environments' CNAMEs.
func Example_route53() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	svc := beanstalk.Service{Application: "shop", EnvironmentA: "shop-web-a", EnvironmentB: "shop-web-b",
		CNAMEPrefixA: "shop-web-a", CNAMEPrefixB: "shop-web-b", SolutionStackName: "64bit Amazon Linux 2023 v4.3.0 running Go 1"}
	compute, err := beanstalk.New(beanstalk.Options{Client: elasticbeanstalk.NewFromConfig(cfg), Services: map[string]beanstalk.Service{"web": svc}})
	if err != nil {
		log.Fatal(err)
	}
	records, err := beanstalk.Route53Service(svc, cfg.Region, "Z0123456789ABCDEFGHIJ", "www.shop.example.com", "test.shop.example.com")
	if err != nil {
		log.Fatal(err)
	}
	router, err := route53router.New(route53router.Options{Client: route53.NewFromConfig(cfg), Services: map[string]route53router.Service{"web": records}})
	if err != nil {
		log.Fatal(err)
	}
	d, err := bluegreen.New(bluegreen.Config{Compute: compute, Router: router, Store: bluegreen.NewMemoryStore(),
		Shift: bluegreen.Linear(25, 5*time.Minute), BakeTime: 10 * time.Minute, HealthTimeout: 30 * time.Minute,
		VerifyTimeout: 5 * time.Minute}) // above propagation + the records' TTL
	if err != nil {
		log.Fatal(err)
	}
	_ = d
}

// The revision Spec: the application version, created from an S3 bundle
// if the application does not have it yet.
func ExampleParseSpec() {
	spec, err := beanstalk.ParseSpec(bluegreen.Revision{Name: "web:42",
		Spec: []byte(`{"versionLabel": "v42", "sourceBundle": {"s3Bucket": "shop-builds", "s3Key": "web/v42.zip"}}`)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.VersionLabel, spec.SourceBundle.S3Key)
	// Output: v42 web/v42.zip
}

// CheckShift refuses shifts a CNAME swap cannot make, naming the fix.
func ExampleCheckShift() {
	fmt.Println(beanstalk.CheckShift(bluegreen.AllAtOnce()))
	fmt.Println(beanstalk.CheckShift(bluegreen.Linear(10, time.Minute)) != nil)
	// Output:
	// <nil>
	// true
}
