package route53router_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
)

// Construction from the default AWS configuration: two load balancers
// behind weighted alias records, and a test hostname.
func Example_loadDefaultConfig() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	router, err := route53router.New(route53router.Options{
		Client: route53.NewFromConfig(cfg),
		Services: map[string]route53router.Service{
			"web": {
				HostedZoneID: "Z0123456789ABCDEFGHIJ", Name: "www.example.com", TestName: "test.www.example.com",
				A: route53router.Target{Alias: &route53router.Alias{DNSName: "web-a-123.us-east-1.elb.amazonaws.com", HostedZoneID: "Z35SXDOTRQ7X7K", EvaluateTargetHealth: true}},
				B: route53router.Target{Alias: &route53router.Alias{DNSName: "web-b-456.us-east-1.elb.amazonaws.com", HostedZoneID: "Z35SXDOTRQ7X7K", EvaluateTargetHealth: true}},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = router // pass it as bluegreen.Config.Router, with a VerifyTimeout above the TTL
}

// A 10% step on slot B against the in-process Route 53 fake: the records'
// weights, and the routes reported.
func Example() {
	ctx := context.Background()
	var closers awsfake.Closers
	defer closers.Close()
	fake := awsfake.NewRoute53(awsfake.Route53Options{})
	fake.URL = awsfake.ServeTest(&closers, fake)
	zone := fake.CreateHostedZone("example.com")

	router, err := route53router.New(route53router.Options{
		Client: route53.NewFromConfig(awsfake.Config(fake.URL)),
		Services: map[string]route53router.Service{
			"web": {HostedZoneID: zone, Name: "www.example.com", TestName: "test.example.com", TTL: 60,
				A: route53router.Target{CNAME: "web-a.us-east-1.elasticbeanstalk.com"},
				B: route53router.Target{CNAME: "web-b.us-east-1.elasticbeanstalk.com"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	step := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}
	if err := router.SetRoutes(ctx, "web", step); err != nil {
		log.Fatal(err)
	}
	for _, r := range fake.Records(zone) {
		if r.Weight != nil {
			fmt.Println(r.SetIdentifier, *r.Weight, r.Values[0])
		}
	}
	routes, err := router.Routes(ctx, "web")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(routes)
	// Output:
	// www.example.com-A 252 web-a.us-east-1.elasticbeanstalk.com
	// www.example.com-B 28 web-b.us-east-1.elasticbeanstalk.com
	// A=90% B=10% test=B
}

// The Route 53 weights of a few 0.1% weights, and the share they carry.
func ExampleRecordWeights() {
	for _, w := range []bluegreen.Weight{0, 1, 100, 250, 500} {
		a, b := route53router.RecordWeights(bluegreen.Split(bluegreen.SlotB, w))
		fmt.Printf("%v to B: A=%d B=%d, in force %v\n", w, a, b, route53router.Share(a, b))
	}
	// Output:
	// 0% to B: A=255 B=0, in force A=100% B=0%
	// 0.1% to B: A=255 B=1, in force A=99.6% B=0.4%
	// 10% to B: A=252 B=28, in force A=90% B=10%
	// 25% to B: A=255 B=85, in force A=75% B=25%
	// 50% to B: A=255 B=255, in force A=50% B=50%
}
