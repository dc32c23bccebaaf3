package main

import (
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
)

// TestRun deploys two versions with the command's run against the Elastic
// Beanstalk fake in virtual time: the second is swapped in.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := awsfake.NewElasticBeanstalk(awsfake.ElasticBeanstalkOptions{LaunchDelay: 4 * time.Minute, UpdateDelay: time.Minute, TerminateDelay: 2 * time.Minute})
		fake.CreateApplication("shop")
		client := elasticbeanstalk.NewFromConfig(awsfake.InProcessConfig(fake))
		ddb := awsfake.NewDynamoDB()
		ddb.AddTable("bluegreen-state", awsfake.KeyAttribute{Name: "service", Type: "S"})
		ddbClient := dynamodb.NewFromConfig(awsfake.InProcessConfig(ddb))
		for _, v := range []string{"v1", "v2"} {
			o, err := parseFlags(strings.Fields("-app shop -env-a shop-web-a -env-b shop-web-b -prefix-a shop-web -prefix-b shop-web-stage "+
				"-production-prefix shop-web -table bluegreen-state -solution-stack Go -bucket builds -key "+v+".zip -version "+v), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			res, err := run(t.Context(), client, ddbClient, o, io.Discard)
			if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
				t.Fatalf("%s: %s, %v", v, res.Outcome, err)
			}
			time.Sleep(3 * time.Minute)
		}
		b, _ := fake.Environment("shop", "shop-web-b")
		if b.VersionLabel != "v2" || !strings.HasPrefix(b.CNAME, "shop-web.") {
			t.Errorf("slot B = %s on %s; want v2 on the production CNAME", b.VersionLabel, b.CNAME)
		}
	})
}

func TestFlags(t *testing.T) {
	for _, args := range []string{"-app shop", "-version v1 -bucket b", "-version v1 extra", "-version v1"} {
		if _, err := parseFlags(strings.Fields(args), io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", args)
		}
	}
}
