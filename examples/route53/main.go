// Command route53 deploys a new application version to an AWS Elastic
// Beanstalk application and moves its traffic with Amazon Route 53
// weighted records, linearly: the version runs in the slot environment
// that is not live, a test hostname points at it, then production moves in
// steps of -step percent, each step in force once Route 53 is INSYNC and
// the records' TTL has passed; a failure puts all weight back in one
// change batch.
//
//	go run ./examples/route53 \
//	  -app shop -env-a shop-web-a -env-b shop-web-b -prefix-a shop-web-a -prefix-b shop-web-b \
//	  -solution-stack "64bit Amazon Linux 2023 v4.3.0 running Go 1" \
//	  -zone Z0123456789ABCDEFGHIJ -name www.shop.example.com -test-name test.shop.example.com \
//	  -table bluegreen-state -version v42 -bucket shop-builds -key web/v42.zip -step 25 -step-wait 5m -bake 10m
//
// Credentials and region come from config.LoadDefaultConfig. The
// deployment's state and the lease live in the DynamoDB table -table
// (partition key "service", a string), so the next run knows which slot is
// live and settles a deployment this one left unfinished. It exits 0 when the version is live, 1 when the deployment rolled back or
// failed, 2 on bad flags.
package main

import (
	"context"
	"encoding/json"
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
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/beanstalk"
	"github.com/bluegreen-go/bluegreen/aws/dynamostore"
	"github.com/bluegreen-go/bluegreen/aws/route53router"
)

type options struct {
	table                          string
	svc                            beanstalk.Service
	spec                           beanstalk.Spec
	bucket, key                    string
	zone, name, testName           string
	region                         string
	step                           float64
	stepWait, bake                 time.Duration
	healthTimeout                  time.Duration
	verifyTimeout                  time.Duration
	healthInterval, verifyInterval time.Duration
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("route53", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&o.svc.Application, "app", "", "Elastic Beanstalk application (required)")
	fs.StringVar(&o.svc.EnvironmentA, "env-a", "", "environment of slot A (required)")
	fs.StringVar(&o.svc.EnvironmentB, "env-b", "", "environment of slot B (required)")
	fs.StringVar(&o.svc.CNAMEPrefixA, "prefix-a", "", "CNAME prefix of slot A's environment (required)")
	fs.StringVar(&o.svc.CNAMEPrefixB, "prefix-b", "", "CNAME prefix of slot B's environment (required)")
	fs.StringVar(&o.svc.SolutionStackName, "solution-stack", "", "solution stack of new environments")
	fs.StringVar(&o.table, "table", "", "DynamoDB table of the deployment state (required)")
	fs.StringVar(&o.zone, "zone", "", "Route 53 hosted zone ID (required)")
	fs.StringVar(&o.name, "name", "", "production record name (required)")
	fs.StringVar(&o.testName, "test-name", "", "test hostname, pointed at the new version before production moves")
	fs.StringVar(&o.region, "region", "", "region of the environments; the SDK's region if empty")
	fs.StringVar(&o.spec.VersionLabel, "version", "", "application version label to deploy (required)")
	fs.StringVar(&o.bucket, "bucket", "", "S3 bucket of the source bundle, to create the version if it does not exist")
	fs.StringVar(&o.key, "key", "", "S3 key of the source bundle")
	fs.Float64Var(&o.step, "step", 25, "percent of production moved per step")
	fs.DurationVar(&o.stepWait, "step-wait", 5*time.Minute, "wait between steps")
	fs.DurationVar(&o.bake, "bake", 10*time.Minute, "bake time with all production on the new version")
	fs.DurationVar(&o.healthTimeout, "health-timeout", 30*time.Minute, "how long the new environment may take to become Ready and Green")
	fs.DurationVar(&o.verifyTimeout, "verify-timeout", 5*time.Minute, "how long a step may take to be in force (Route 53 propagation plus the records' TTL)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	switch {
	case fs.NArg() > 0:
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.spec.VersionLabel == "":
		return options{}, errors.New("-version is required")
	case o.table == "":
		return options{}, errors.New("-table is required")
	case (o.bucket == "") != (o.key == ""):
		return options{}, errors.New("-bucket and -key go together")
	case o.step <= 0 || o.step > 100:
		return options{}, fmt.Errorf("-step %v: give a percentage in (0, 100]", o.step)
	}
	if o.bucket != "" {
		o.spec.SourceBundle = &beanstalk.SourceBundle{S3Bucket: o.bucket, S3Key: o.key}
	}
	o.healthInterval, o.verifyInterval = 15*time.Second, 5*time.Second
	return o, nil
}

// clients are the SDK clients run uses.
type clients struct {
	eb     *elasticbeanstalk.Client
	r53    *route53.Client
	ddb    *dynamodb.Client
	region string
}

// run deploys o's version and reports progress to out.
func run(ctx context.Context, c clients, o options, out io.Writer) (bluegreen.Result, error) {
	service := o.svc.Application
	compute, err := beanstalk.New(beanstalk.Options{Client: c.eb, Services: map[string]beanstalk.Service{service: o.svc}})
	if err != nil {
		return bluegreen.Result{}, err
	}
	region := o.region
	if region == "" {
		region = c.region
	}
	records, err := beanstalk.Route53Service(o.svc, region, o.zone, o.name, o.testName)
	if err != nil {
		return bluegreen.Result{}, err
	}
	router, err := route53router.New(route53router.Options{Client: c.r53, Services: map[string]route53router.Service{service: records}})
	if err != nil {
		return bluegreen.Result{}, err
	}
	store, err := dynamostore.New(dynamostore.Options{Client: c.ddb, Table: o.table})
	if err != nil {
		return bluegreen.Result{}, err
	}
	d, err := bluegreen.New(bluegreen.Config{Compute: compute, Router: router, Store: store,
		Shift: bluegreen.Linear(o.step, o.stepWait), BakeTime: o.bake,
		HealthTimeout: o.healthTimeout, HealthInterval: o.healthInterval, VerifyTimeout: o.verifyTimeout, VerifyInterval: o.verifyInterval,
		Callbacks: bluegreen.Callbacks{OnStage: func(ev bluegreen.Event) {
			if ev.Kind == bluegreen.EventStageStarted {
				fmt.Fprintf(out, "%s %s\n", ev.Time.Format(time.TimeOnly), ev.Stage)
			}
		}}})
	if err != nil {
		return bluegreen.Result{}, err
	}
	spec, err := json.Marshal(o.spec)
	if err != nil {
		return bluegreen.Result{}, err
	}
	return d.Deploy(ctx, service, bluegreen.Revision{Name: o.spec.VersionLabel, Spec: spec})
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "route53:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "route53:", err)
		os.Exit(1)
	}
	res, err := run(ctx, clients{eb: elasticbeanstalk.NewFromConfig(cfg), r53: route53.NewFromConfig(cfg), ddb: dynamodb.NewFromConfig(cfg), region: cfg.Region}, o, os.Stdout)
	fmt.Printf("%s: %s\n", res.Outcome, res.Green)
	if err != nil {
		fmt.Fprintln(os.Stderr, "route53:", err)
		os.Exit(1)
	}
}
