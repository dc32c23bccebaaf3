// Package awsfake serves in-process fakes of the AWS APIs the bluegreen AWS
// adapters call — ECS (task sets and native blue/green deployments),
// Elastic Load Balancing v2, Application Auto Scaling, Lambda, CloudWatch,
// DynamoDB, Route 53, Elastic Beanstalk and CodeDeploy — speaking the wire
// protocols the pinned aws-sdk-go-v2 clients send, so that the real SDK
// clients reach them through BaseEndpoint with static credentials (Config,
// Serve), or in process inside a testing/synctest bubble (InProcessConfig).
//
// It is a supported test package, as Go CDK's memblob is: a program that
// drives deployments through the AWS adapters tests them against these
// fakes, offline and in virtual time, with the same code it runs against
// AWS. Each fake keeps state, counts calls per operation and injects faults
// (Faults). Each serves exactly the operations the adapters' client
// interfaces use, written from the AWS API reference; an operation it does
// not serve is refused with InvalidAction (or the protocol's equivalent),
// never answered wrongly.
package awsfake
