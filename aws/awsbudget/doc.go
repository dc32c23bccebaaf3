// Package awsbudget is a client-side rate limit for the AWS calls of a
// process: one token bucket per API (or per group of APIs that AWS throttles
// together), shared by every deployment and every SDK client made from one
// aws.Config, so that a fleet of deployments backs off before AWS throttles
// the account.
//
// A Limiter is installed as smithy middleware on an aws.Config:
//
//	cfg, _ := config.LoadDefaultConfig(ctx)
//	limiter, _ := awsbudget.New(awsbudget.Options{})
//	limiter.Install(&cfg) // or config.WithAPIOptions(limiter.APIOptions())
//	ecsClient := ecs.NewFromConfig(cfg) // every client from cfg shares the buckets
//
// The middleware runs once per attempt, after the SDK's retryer and before
// signing: a retried call takes a token per attempt, as AWS counts it, and
// a request never waits after it was signed. It keys buckets by the SDK's
// service ID and operation name ("ECS:CreateTaskSet"); operations no bucket
// names are not limited unless Options.Other says so.
//
// # Feedback
//
// A throttling answer (ThrottlingException, TooManyRequestsException,
// RequestLimitExceeded, HTTP 429: what aws/internal/awserr classifies as
// bluegreen.CodeThrottled) halves the bucket's rate, at most once per
// Options.Cooldown, down to Options.MinFraction of the configured rate, and
// empties the bucket; the rate then grows back additively, by
// Options.Recovery of the configured rate per second. This is the AIMD rule
// TCP uses: other clients in the account (the console, CI, another
// replica) take part of the quota, and the limiter finds what is left.
//
// Some services also throttle every action of an account together: ELBv2
// has an account-level bucket (40 tokens, 10 a second) besides those of
// its categories. A Bucket whose Within names such a bucket takes a token
// from its own bucket, then from the account-level one.
//
// # Defaults
//
// DefaultBuckets lists AWS's documented default quotas for the APIs the
// bluegreen adapters call, each with the page and table it comes from:
// ELBv2 by category within its account-level bucket (ModifyRule and
// ModifyListener: 20 tokens, 3 a second), ECS by category (service reads
// 100 and 20), CloudWatch's TPS quotas, Lambda, Route 53 (50 tokens, 10 a
// second). Where AWS documents no figure (ECS task set writes, Application
// Auto Scaling) the bucket holds a conservative one and its Source says
// so. Quotas are per account and Region and shared with everything else
// calling the same APIs: when other software shares the account, configure
// a share of them. A throttling answer cuts the operation's own bucket,
// not the account-level one.
//
// DynamoDB is not rate-limited by default: its limits are capacity units
// per table, not requests per second, and its throttling answers
// (ProvisionedThroughputExceededException) feed back all the same when a
// bucket is configured for it. Nor are CodeDeploy and Elastic Beanstalk,
// which publish no request rates.
package awsbudget
