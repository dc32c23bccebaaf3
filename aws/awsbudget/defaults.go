package awsbudget

// The pages the default quotas come from.
const (
	cloudWatchQuotas = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html"
	elbThrottling    = "https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html"
	ecsThrottling    = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html"
	aasQuotas        = "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html"
	lambdaQuotas     = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
)

// DefaultBuckets returns a bucket for each API the bluegreen AWS adapters
// call, at AWS's default quota for it in one account and Region, with the
// page it comes from in Source. Where the page gives a figure, the bucket
// uses it; where it does not give one for the operation (marked
// "assumed" in Source), the bucket uses a conservative figure below the
// documented ones of the same service. Raise them to the quotas Service
// Quotas shows for your account, or lower them to leave room for other
// callers. The slice is new at each call: edit it freely.
func DefaultBuckets() []Bucket {
	return []Bucket{
		// CloudWatch: "DescribeAlarms: 9 TPS", "GetMetricData: 50 TPS"
		// (API requests, per Region). A TPS quota caps each second, so
		// these buckets hold one token: calls are spaced evenly and no
		// second sees more than the rate.
		{Name: "cloudwatch:DescribeAlarms", Operations: []string{"CloudWatch:DescribeAlarms"},
			Limit: Limit{Rate: 9, Burst: 1}, Source: cloudWatchQuotas},
		{Name: "cloudwatch:GetMetricData", Operations: []string{"CloudWatch:GetMetricData"},
			Limit: Limit{Rate: 50, Burst: 1}, Source: cloudWatchQuotas},

		// ELBv2: every non-mutating action shares one bucket of 40 tokens
		// refilled at 10 a second.
		{Name: "elasticloadbalancing:Describe*", Operations: []string{
			"Elastic Load Balancing v2:DescribeRules", "Elastic Load Balancing v2:DescribeListeners",
			"Elastic Load Balancing v2:DescribeTargetHealth", "Elastic Load Balancing v2:DescribeTargetGroups",
			"Elastic Load Balancing v2:DescribeLoadBalancers",
		}, Limit: Limit{Rate: 10, Burst: 40}, Source: elbThrottling},
		// Mutating actions have buckets of their own on the same page;
		// assumed: half the Describe* rate.
		{Name: "elasticloadbalancing:Modify*", Operations: []string{
			"Elastic Load Balancing v2:ModifyRule", "Elastic Load Balancing v2:ModifyListener",
		}, Limit: Limit{Rate: 5, Burst: 10}, Source: elbThrottling + " (assumed)"},

		// ECS: the page's example bucket for cluster reads holds 50 tokens
		// refilled at 20 a second; reads of services and task sets are
		// assumed to be no lower. Task set writes: assumed 5 a second,
		// burst 10, the lowest rates the page's categories use for writes.
		{Name: "ecs:reads", Operations: []string{"ECS:DescribeServices", "ECS:DescribeTaskSets", "ECS:ListTasks", "ECS:DescribeTasks"},
			Limit: Limit{Rate: 20, Burst: 50}, Source: ecsThrottling + " (assumed from the cluster-read example)"},
		{Name: "ecs:task-set-writes", Operations: []string{
			"ECS:CreateTaskSet", "ECS:UpdateTaskSet", "ECS:DeleteTaskSet", "ECS:UpdateServicePrimaryTaskSet",
		}, Limit: Limit{Rate: 5, Burst: 10}, Source: ecsThrottling + " (assumed)"},

		// Application Auto Scaling publishes no per-action rate on its
		// quotas page; assumed 10 a second for reads and 5 for
		// RegisterScalableTarget, which a deployment calls twice.
		{Name: "application-autoscaling:DescribeScalableTargets", Operations: []string{"Application Auto Scaling:DescribeScalableTargets"},
			Limit: Limit{Rate: 10, Burst: 20}, Source: aasQuotas + " (assumed)"},
		{Name: "application-autoscaling:RegisterScalableTarget", Operations: []string{"Application Auto Scaling:RegisterScalableTarget"},
			Limit: Limit{Rate: 5, Burst: 10}, Source: aasQuotas + " (assumed)"},

		// Lambda: synchronous invocations are limited per function and
		// Region to 10 times the concurrency quota (1,000 by default), so
		// 10,000 a second; the hook is one call per deployment and stage.
		{Name: "lambda:Invoke", Operations: []string{"Lambda:Invoke"},
			Limit: Limit{Rate: 10000, Burst: 10000}, Source: lambdaQuotas},
	}
}
