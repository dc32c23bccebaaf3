package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// endpoints override the endpoint each client resolves; an empty one keeps
// the SDK's resolution (which AWS_ENDPOINT_URL_<SERVICE> also steers).
// Tests point them at in-process fakes.
type endpoints struct {
	ECS, ELB, AutoScaling, Lambda, CloudWatch, DynamoDB string
}

// clients are the SDK clients the adapters use.
type clients struct {
	ecs        *ecs.Client
	elb        *elbv2.Client
	scaling    *aas.Client
	lambda     *lambda.Client
	cloudwatch *cloudwatch.Client
	dynamo     *dynamodb.Client
}

// newClients makes one client per service from cfg, each with its endpoint
// from e if set: every service's Options has its own BaseEndpoint, set
// here through the functional options NewFromConfig takes.
func newClients(cfg aws.Config, e endpoints) clients {
	return clients{
		ecs:        ecs.NewFromConfig(cfg, func(o *ecs.Options) { setEndpoint(&o.BaseEndpoint, e.ECS) }),
		elb:        elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { setEndpoint(&o.BaseEndpoint, e.ELB) }),
		scaling:    aas.NewFromConfig(cfg, func(o *aas.Options) { setEndpoint(&o.BaseEndpoint, e.AutoScaling) }),
		lambda:     lambda.NewFromConfig(cfg, func(o *lambda.Options) { setEndpoint(&o.BaseEndpoint, e.Lambda) }),
		cloudwatch: cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { setEndpoint(&o.BaseEndpoint, e.CloudWatch) }),
		dynamo:     dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { setEndpoint(&o.BaseEndpoint, e.DynamoDB) }),
	}
}

func setEndpoint(dst **string, url string) {
	if url != "" {
		*dst = aws.String(url)
	}
}
