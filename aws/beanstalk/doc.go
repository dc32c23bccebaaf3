// Package beanstalk runs blue/green deployments of AWS Elastic Beanstalk
// applications: a bluegreen.Compute and bluegreen.Discoverer over two
// environments of one application, one per slot, and SwapRouter, a
// bluegreen.Router that moves production with Elastic Beanstalk's own CNAME
// swap. For linear and canary shifts, route with route53router over the two
// environments' CNAMEs instead (Route53Service builds its configuration).
//
// The package is named beanstalk, not elasticbeanstalk, so that it and the
// SDK's elasticbeanstalk package can be imported side by side without
// renaming either; it holds the compute backend and both routers of one
// service, as Elastic Beanstalk's environments and their CNAMEs go together.
//
// # Compute
//
// A revision's Spec (see Spec) names the application version; ScaleUp
// creates the slot's environment with it (CreateEnvironment) or updates the
// environment there (UpdateEnvironment), creating the application version
// from an S3 source bundle first if the Spec gives one and the application
// lacks it. Status maps DescribeEnvironments: Ready with health Green running
// the version is healthy; Launching and Updating are not yet; health Red is
// Failed with a reason. An environment counts as one unit (Desired 1):
// Elastic Beanstalk scales its instances itself. ScaleDown terminates the
// environment (TerminateEnvironment), or with Options.Keep leaves it
// running. A terminated environment is gone and reports the zero Status;
// one launched and then terminated by Elastic Beanstalk itself is reported
// the same way, and the Deployer's HealthTimeout ends the wait.
//
// Discover reports the environments that exist, so a service that Elastic
// Beanstalk already runs is adopted as blue by its first deployment.
//
// # Routing: CNAME swap or Route 53
//
// SwapRouter is Elastic Beanstalk's blue/green: the environment that holds
// the production CNAME prefix serves production, and SwapEnvironmentCNAMEs
// exchanges the two environments' CNAMEs, all at once. Use it with
// bluegreen.AllAtOnce(); CheckShift refuses any other shift before the
// Deployer is built, and SetRoutes refuses split weights before acting.
// The test route is green's own CNAME, which always reaches green: nothing
// is switched for it, and Routes reports no test slot. Verify waits for
// both environments to be Ready after the swap and then SettleTime (60s,
// the TTL of Elastic Beanstalk's CNAMEs), as resolvers still answer with
// the old environment until then.
//
// With route53router, each environment keeps its slot's CNAME prefix and two
// weighted records of your own name point at the two CNAMEs; production
// moves by weight in steps, with the test hostname pointing at green.
//
// Creating environments needs more than the Elastic Beanstalk actions in
// aws/iam-policy-route53-beanstalk.json: Elastic Beanstalk acts with the
// caller's permissions on CloudFormation, EC2, Auto Scaling, Elastic Load
// Balancing and S3, as AWS's managed policy
// AdministratorAccess-AWSElasticBeanstalk grants.
package beanstalk
