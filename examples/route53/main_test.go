package main

import (
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
)

// TestRun deploys two versions with the command's run against the Elastic
// Beanstalk and Route 53 fakes in virtual time: the second moves over in
// four steps, and the records end with all weight on slot B.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eb := awsfake.NewElasticBeanstalk(awsfake.ElasticBeanstalkOptions{LaunchDelay: 4 * time.Minute, UpdateDelay: time.Minute, TerminateDelay: 2 * time.Minute})
		eb.CreateApplication("shop")
		dns := awsfake.NewRoute53(awsfake.Route53Options{PropagationDelay: 30 * time.Second})
		zone := dns.CreateHostedZone("shop.example.com")
		ddb := awsfake.NewDynamoDB()
		ddb.AddTable("bluegreen-state", awsfake.KeyAttribute{Name: "service", Type: "S"})
		c := clients{eb: elasticbeanstalk.NewFromConfig(awsfake.InProcessConfig(eb)), r53: route53.NewFromConfig(awsfake.InProcessConfig(dns)),
			ddb: dynamodb.NewFromConfig(awsfake.InProcessConfig(ddb)), region: "us-east-1"}
		for _, v := range []string{"v1", "v2"} {
			o, err := parseFlags(strings.Fields("-app shop -env-a shop-web-a -env-b shop-web-b -prefix-a shop-web-a -prefix-b shop-web-b "+
				"-solution-stack Go -zone "+zone+" -name www.shop.example.com -test-name test.shop.example.com "+
				"-table bluegreen-state -bucket builds -key "+v+".zip -version "+v+" -step 25 -step-wait 1m -bake 5m"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			res, err := run(t.Context(), c, o, io.Discard)
			if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
				t.Fatalf("%s: %s, %v", v, res.Outcome, err)
			}
			time.Sleep(3 * time.Minute)
		}
		b, _ := dns.Record(zone, "www.shop.example.com", "CNAME", "www.shop.example.com-B")
		a, _ := dns.Record(zone, "www.shop.example.com", "CNAME", "www.shop.example.com-A")
		if *a.Weight != 0 || *b.Weight != 255 || b.Values[0] != "shop-web-b.us-east-1.elasticbeanstalk.com" {
			t.Errorf("records: A=%d B=%d -> %v; want all on slot B's environment", *a.Weight, *b.Weight, b.Values)
		}
		if n := dns.Faults.Calls()["ChangeResourceRecordSets"]; n != 2+5 {
			t.Errorf("ChangeResourceRecordSets calls = %d, want 7 (2 for v1, 5 for v2)", n)
		}
	})
}

func TestFlags(t *testing.T) {
	for _, args := range []string{"-app shop", "-version v1 -bucket b", "-version v1 -step 0", "-version v1 extra", "-version v1"} {
		if _, err := parseFlags(strings.Fields(args), io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
}
