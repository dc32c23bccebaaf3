package awsbudget

// The pages the default quotas come from.
const (
	// CloudWatch service quotas, the "DescribeAlarms" and "GetMetricData"
	// rows ("9 transactions per second (TPS)", "50 TPS": the maximum
	// number of operation requests you can make per second without being
	// throttled; both can be raised).
	cloudWatchQuotas = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html"
	// Request throttling for the ELB API, "Request rate limiting" (the
	// account-level bucket) and "Request token bucket sizes and refill
	// rates" (the table of categories).
	elbThrottling = "https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html"
	// Request throttling for the Amazon ECS API, "Request token bucket
	// sizes and refill rates" (the table of API action categories).
	ecsThrottling = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html"
	// Quotas for Application Auto Scaling: resource quotas only, no
	// request rates.
	aasQuotas = "https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html"
	// Lambda quotas, "Lambda API requests".
	lambdaQuotas = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html#api-requests"
	// Throttling for Amazon Route 53 API requests, "Request rate token
	// bucket sizes and refill rates" and "Change throughput limiting".
	route53Throttling = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html"
)

// undocumented marks a Source whose page gives no figure for the
// operations: the bucket holds a conservative guess, and the comment
// beside it says how to find the account's figure.
const undocumented = " (no documented figure for these operations: conservative value)"

// DefaultBuckets returns a bucket for each API the bluegreen AWS adapters
// call, at AWS's default quota for it in one account and Region, with the
// page it comes from in Source. Where the page gives no figure for an
// operation (Source says so), the bucket holds a conservative figure, no
// higher than the documented ones of the same service. Raise them to the
// quotas your account has (the Service Quotas console, or AWS Support for
// the request rates Service Quotas does not list), or lower them to leave
// room for other callers. The slice is new at each call: edit it freely.
//
// CodeDeploy and Elastic Beanstalk publish no request rates and their
// adapters make a few calls per deployment: they have no default bucket
// (Options.Other limits them if set). DynamoDB has none either: its limits
// are capacity units per table.
func DefaultBuckets() []Bucket {
	return []Bucket{
		// CloudWatch: DescribeAlarms 9 TPS, GetMetricData 50 TPS, per
		// account and Region. A TPS quota caps each second, so these
		// buckets hold one token: calls are spaced evenly and no second
		// sees more than the rate.
		{Name: "cloudwatch:DescribeAlarms", Operations: []string{"CloudWatch:DescribeAlarms"},
			Limit: Limit{Rate: 9, Burst: 1}, Source: cloudWatchQuotas},
		{Name: "cloudwatch:GetMetricData", Operations: []string{"CloudWatch:GetMetricData"},
			Limit: Limit{Rate: 50, Burst: 1}, Source: cloudWatchQuotas},

		// ELBv2: every action of the account draws from one bucket of 40
		// tokens refilled at 10 a second, and from the bucket of its
		// category: non-mutating (Describe*) 40 and 10, mutating
		// (ModifyRule, ModifyListener, CreateRule...) 20 and 3,
		// registration (RegisterTargets, DeregisterTargets) 20 and 4.
		{Name: "elasticloadbalancing:account", Limit: Limit{Rate: 10, Burst: 40}, Source: elbThrottling},
		{Name: "elasticloadbalancing:non-mutating", Within: "elasticloadbalancing:account", Operations: []string{
			"Elastic Load Balancing v2:DescribeRules", "Elastic Load Balancing v2:DescribeListeners",
			"Elastic Load Balancing v2:DescribeTargetHealth", "Elastic Load Balancing v2:DescribeTargetGroups",
			"Elastic Load Balancing v2:DescribeLoadBalancers",
		}, Limit: Limit{Rate: 10, Burst: 40}, Source: elbThrottling},
		{Name: "elasticloadbalancing:mutating", Within: "elasticloadbalancing:account", Operations: []string{
			"Elastic Load Balancing v2:ModifyRule", "Elastic Load Balancing v2:ModifyListener",
			"Elastic Load Balancing v2:CreateRule", "Elastic Load Balancing v2:DeleteRule",
		}, Limit: Limit{Rate: 3, Burst: 20}, Source: elbThrottling},
		{Name: "elasticloadbalancing:registration", Within: "elasticloadbalancing:account", Operations: []string{
			"Elastic Load Balancing v2:RegisterTargets", "Elastic Load Balancing v2:DeregisterTargets",
		}, Limit: Limit{Rate: 4, Burst: 20}, Source: elbThrottling},

		// ECS, by the page's categories: service read actions
		// (DescribeServices, ListServices) 100 tokens refilled at 20 a
		// second; cluster resource read actions (DescribeTasks,
		// ListTasks...) 100 and 20; service deployment actions
		// (ListServiceDeployments, DescribeServiceDeployments) 50 and 20;
		// service modify actions (CreateService, UpdateService,
		// DeleteService) 50 and 5; task definition modify actions
		// (RegisterTaskDefinition) 20 and 1.
		{Name: "ecs:service-read", Operations: []string{"ECS:DescribeServices", "ECS:ListServices", "ECS:DescribeTaskSets"},
			Limit: Limit{Rate: 20, Burst: 100}, Source: ecsThrottling},
		{Name: "ecs:cluster-resource-read", Operations: []string{"ECS:ListTasks", "ECS:DescribeTasks"},
			Limit: Limit{Rate: 20, Burst: 100}, Source: ecsThrottling},
		{Name: "ecs:service-deployment", Operations: []string{"ECS:ListServiceDeployments", "ECS:DescribeServiceDeployments"},
			Limit: Limit{Rate: 20, Burst: 50}, Source: ecsThrottling},
		{Name: "ecs:service-modify", Operations: []string{"ECS:CreateService", "ECS:UpdateService", "ECS:DeleteService"},
			Limit: Limit{Rate: 5, Burst: 50}, Source: ecsThrottling},
		{Name: "ecs:task-definition-modify", Operations: []string{"ECS:RegisterTaskDefinition", "ECS:DeregisterTaskDefinition"},
			Limit: Limit{Rate: 1, Burst: 20}, Source: ecsThrottling},
		// The page's table lists no task set action (DescribeTaskSets
		// is counted with the service reads above, a bucket its calls
		// then share). Task set writes: conservative, the service modify
		// rate (5 a second) with a burst of 10, a fifth of that
		// category's. The account's figures: AWS Support (the ECS request
		// rates are not in Service Quotas).
		{Name: "ecs:task-set-writes", Operations: []string{
			"ECS:CreateTaskSet", "ECS:UpdateTaskSet", "ECS:DeleteTaskSet", "ECS:UpdateServicePrimaryTaskSet",
		}, Limit: Limit{Rate: 5, Burst: 10}, Source: ecsThrottling + undocumented},

		// Application Auto Scaling publishes resource quotas only (its
		// page and the Service Quotas console list no request rate).
		// Conservative: 10 a second for reads and 5 for
		// RegisterScalableTarget, which a deployment calls twice. The
		// account's figures: AWS Support.
		{Name: "application-autoscaling:DescribeScalableTargets", Operations: []string{"Application Auto Scaling:DescribeScalableTargets"},
			Limit: Limit{Rate: 10, Burst: 20}, Source: aasQuotas + undocumented},
		{Name: "application-autoscaling:RegisterScalableTarget", Operations: []string{"Application Auto Scaling:RegisterScalableTarget"},
			Limit: Limit{Rate: 5, Burst: 10}, Source: aasQuotas + undocumented},

		// Lambda: synchronous invocations are limited per function and
		// Region to 10 times the concurrency quota (1,000 by default), so
		// 10,000 a second; the hook is one call per deployment and stage.
		// The control plane API (every action but invocation, GetFunction
		// and GetPolicy: the lambdaalias backend's UpdateFunctionCode,
		// PublishVersion, GetFunctionConfiguration, aliases...) shares
		// 15 requests a second, which cannot be raised.
		{Name: "lambda:Invoke", Operations: []string{"Lambda:Invoke"},
			Limit: Limit{Rate: 10000, Burst: 10000}, Source: lambdaQuotas},
		{Name: "lambda:control-plane", Operations: []string{
			"Lambda:UpdateFunctionCode", "Lambda:GetFunctionConfiguration", "Lambda:PublishVersion",
			"Lambda:DeleteFunction", "Lambda:ListAliases", "Lambda:CreateAlias", "Lambda:UpdateAlias",
			"Lambda:DeleteAlias",
		}, Limit: Limit{Rate: 15, Burst: 1}, Source: lambdaQuotas},

		// Route 53: every action of the account draws from one bucket of
		// 50 tokens refilled at 10 a second (the per-action buckets of
		// these three are the same, 50 and 10). ChangeResourceRecordSets
		// also spends change tokens, 1,500 refilled at 100 a second, 2
		// per UPSERT: the router's few records per call stay far below.
		{Name: "route53", Operations: []string{
			"Route 53:ChangeResourceRecordSets", "Route 53:GetChange", "Route 53:ListResourceRecordSets",
		}, Limit: Limit{Rate: 10, Burst: 50}, Source: route53Throttling},
	}
}
