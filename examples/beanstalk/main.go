// Command beanstalk deploys a new application version to an AWS Elastic
// Beanstalk application with Elastic Beanstalk's own blue/green: the
// version runs in the slot environment that is not live, and a CNAME swap
// (SwapEnvironmentCNAMEs) moves production to it all at once, after a hook
// stage and before a bake time; a failure swaps back.
//
//	go run ./examples/beanstalk \
//	  -app shop -env-a shop-web-a -env-b shop-web-b \
//	  -prefix-a shop-web -prefix-b shop-web-stage -production-prefix shop-web \
//	  -solution-stack "64bit Amazon Linux 2023 v4.3.0 running Go 1" \
//	  -table bluegreen-state -version v42 -bucket shop-builds -key web/v42.zip -bake 10m
//
// Credentials and region come from config.LoadDefaultConfig. The
// deployment's state and the lease live in the DynamoDB table -table
// (partition key "service", a string), so the next run knows which slot is
// live and settles a deployment this one left unfinished. It exits 0 when the version is live, 1 when the deployment
// rolled back or failed, 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/elasticbeanstalk"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
)

type options struct {
	table                  string
	svc                    beanstalk.Service
	spec                   beanstalk.Spec
	bucket, key            string
	bake, healthTimeout    time.Duration
	healthInterval         time.Duration
	verifyInterval, settle time.Duration
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("beanstalk", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.svc.Application, "app", "", "Elastic Beanstalk application (required)")
	fs.StringVar(&o.svc.EnvironmentA, "env-a", "", "environment of slot A (required)")
	fs.StringVar(&o.svc.EnvironmentB, "env-b", "", "environment of slot B (required)")
	fs.StringVar(&o.svc.CNAMEPrefixA, "prefix-a", "", "CNAME prefix of slot A's environment (required)")
	fs.StringVar(&o.svc.CNAMEPrefixB, "prefix-b", "", "CNAME prefix of slot B's environment (required)")
	fs.StringVar(&o.svc.ProductionCNAMEPrefix, "production-prefix", "", "the CNAME prefix production uses: -prefix-a or -prefix-b (required)")
	fs.StringVar(&o.svc.SolutionStackName, "solution-stack", "", "solution stack of new environments")
	fs.StringVar(&o.svc.PlatformArn, "platform-arn", "", "platform ARN of new environments (instead of -solution-stack)")
	fs.StringVar(&o.table, "table", "", "DynamoDB table of the deployment state (required)")
	fs.StringVar(&o.spec.VersionLabel, "version", "", "application version label to deploy (required)")
	fs.StringVar(&o.bucket, "bucket", "", "S3 bucket of the source bundle, to create the version if it does not exist")
	fs.StringVar(&o.key, "key", "", "S3 key of the source bundle")
	fs.DurationVar(&o.bake, "bake", 10*time.Minute, "bake time with production on the new version, before the old environment is terminated")
	fs.DurationVar(&o.healthTimeout, "health-timeout", 30*time.Minute, "how long the new environment may take to become Ready and Green")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.spec.VersionLabel == "" {
		return options{}, errors.New("-version is required")
	}
	if o.table == "" {
		return options{}, errors.New("-table is required")
	}
	if (o.bucket == "") != (o.key == "") {
		return options{}, errors.New("-bucket and -key go together")
	}
	if o.bucket != "" {
		o.spec.SourceBundle = &beanstalk.SourceBundle{S3Bucket: o.bucket, S3Key: o.key}
	}
	o.healthInterval, o.verifyInterval = 15*time.Second, 5*time.Second
	return o, nil
}

// run deploys o's version and reports progress to out.
func run(ctx context.Context, client *elasticbeanstalk.Client, ddb *dynamodb.Client, o options, out io.Writer) (bluegreen.Result, error) {
	services := map[string]beanstalk.Service{o.svc.Application: o.svc}
	compute, err := beanstalk.New(beanstalk.Options{Client: client, Services: services})
	if err != nil {
		return bluegreen.Result{}, err
	}
	router, err := beanstalk.NewSwapRouter(beanstalk.SwapOptions{Client: client, Services: services, SettleTime: o.settle})
	if err != nil {
		return bluegreen.Result{}, err
	}
	shift := bluegreen.AllAtOnce()
	if err := beanstalk.CheckShift(shift); err != nil {
		return bluegreen.Result{}, err
	}
	store, err := dynamostore.New(dynamostore.Options{Client: ddb, Table: o.table})
	if err != nil {
		return bluegreen.Result{}, err
	}
	d, err := bluegreen.New(bluegreen.Config{Compute: compute, Router: router, Store: store,
		Shift: shift, BakeTime: o.bake, HealthTimeout: o.healthTimeout, HealthInterval: o.healthInterval, VerifyInterval: o.verifyInterval,
		Callbacks: bluegreen.Callbacks{OnStage: func(ev bluegreen.Event) {
			if ev.Kind == bluegreen.EventStageStarted {
				fmt.Fprintf(out, "%s %s\n", ev.Time.Format(time.TimeOnly), ev.Stage)
			}
		}}})
	if err != nil {
		return bluegreen.Result{}, err
	}
	spec, err := beanstalkSpec(o.spec)
	if err != nil {
		return bluegreen.Result{}, err
	}
	return d.Deploy(ctx, o.svc.Application, bluegreen.Revision{Name: o.spec.VersionLabel, Spec: spec})
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "beanstalk:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beanstalk:", err)
		os.Exit(1)
	}
	res, err := run(ctx, elasticbeanstalk.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg), o, os.Stdout)
	fmt.Printf("%s: %s\n", res.Outcome, res.Green)
	if err != nil {
		fmt.Fprintln(os.Stderr, "beanstalk:", err)
		os.Exit(1)
	}
}
