package awsbudget_test

import (
	"context"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen/aws/awsbudget"
)

// This example shares one set of buckets among every client a deploying
// process makes, with ECS task set writes raised to what the account's
// Service Quotas show. It is not run: it needs AWS credentials.
func Example() {
	ctx := context.Background()
	buckets := awsbudget.DefaultBuckets()
	for i := range buckets {
		if buckets[i].Name == "ecs:task-set-writes" {
			buckets[i].Limit = awsbudget.Limit{Rate: 10, Burst: 20}
		}
	}
	limiter, err := awsbudget.New(awsbudget.Options{Buckets: buckets})
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithAPIOptions(limiter.APIOptions()))
	if err != nil {
		log.Fatal(err)
	}
	_ = ecs.NewFromConfig(cfg)
	_ = elbv2.NewFromConfig(cfg)
	_ = cloudwatch.NewFromConfig(cfg)
	// Pass the clients to ecscompute, elbrouter and cwmonitor as usual.
}
