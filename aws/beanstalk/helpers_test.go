package beanstalk_test

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	eb "github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
)

var quiet = slog.New(slog.DiscardHandler)

const app = "shop"

// world is an Elastic Beanstalk fake served in process (usable inside a
// testing/synctest bubble) and a real client reaching it.
type world struct {
	fake   *awsfake.ElasticBeanstalk
	client *eb.Client
}

func newWorld(opts awsfake.ElasticBeanstalkOptions) *world {
	fake := awsfake.NewElasticBeanstalk(opts)
	fake.CreateApplication(app)
	return &world{fake: fake, client: eb.NewFromConfig(awsfake.InProcessConfig(fake))}
}

// service is the service "web": environments shop-web-a and shop-web-b
// with CNAME prefixes shop-web (production) and shop-web-stage.
func service() beanstalk.Service {
	return beanstalk.Service{Application: app, EnvironmentA: "shop-web-a", EnvironmentB: "shop-web-b",
		CNAMEPrefixA: "shop-web", CNAMEPrefixB: "shop-web-stage", ProductionCNAMEPrefix: "shop-web",
		SolutionStackName: "64bit Amazon Linux 2023 v4.3.0 running Go 1"}
}

func (w *world) compute(t testing.TB, opts beanstalk.Options) *beanstalk.Compute {
	t.Helper()
	opts.Client = w.client
	if opts.Services == nil {
		opts.Services = map[string]beanstalk.Service{"web": service()}
	}
	opts.Logger = quiet
	c, err := beanstalk.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) swapRouter(t testing.TB) *beanstalk.SwapRouter {
	t.Helper()
	r, err := beanstalk.NewSwapRouter(beanstalk.SwapOptions{Client: w.client, Services: map[string]beanstalk.Service{"web": service()},
		SettleTime: time.Minute, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// revision returns a revision whose version is created from an S3 bundle.
func revision(label string) bluegreen.Revision {
	spec, _ := json.Marshal(beanstalk.Spec{VersionLabel: label, SourceBundle: &beanstalk.SourceBundle{S3Bucket: "shop-builds", S3Key: "web/" + label + ".zip"}})
	return bluegreen.Revision{Name: "web@" + label, Spec: spec}
}
