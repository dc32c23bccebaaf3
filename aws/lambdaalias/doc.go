// Package lambdaalias deploys AWS Lambda functions blue/green with the
// bluegreen Deployer: environments are published versions of a function,
// and traffic is the routing configuration of an alias. One Backend is the
// Deployer's Compute, its Router and its Discoverer:
//
//	b, err := lambdaalias.New(lambdaalias.Options{Client: lambda.NewFromConfig(cfg)})
//	d, err := bluegreen.New(bluegreen.Config{Compute: b, Router: b, Store: store, Shift: bluegreen.Linear(10, time.Minute)})
//	res, err := d.Deploy(ctx, "orders", bluegreen.Revision{Name: "orders:42", Spec: spec})
//
// The service name is the function's name (Options.Function maps it
// otherwise), and callers invoke the function through its production alias
// (Options.Alias, "live").
//
// # Aliases
//
// A function deployed by a Backend has up to four aliases:
//
//   - live: the production alias. Its FunctionVersion is the primary
//     version, and during a shift AdditionalVersionWeights holds the other
//     slot's version with its share. The description records the
//     production weights last set ({"bluegreenRoutes":{...}}).
//   - live-test: the test route, pointing at the test slot's version. It is
//     deleted when no test route is set.
//   - live-slot-a and live-slot-b: which version each slot holds, and the
//     deployment that put it there (the description is
//     {"deploymentId":"…","revision":"…"}). ScaleUp creates the slot
//     alias, ScaleDown deletes it. They are also handy to invoke green
//     directly before any traffic reaches it.
//
// Why slot aliases: the router must know which version each slot holds,
// and that knowledge must survive the process (a deployment resumed by
// another process after a crash still has to route). Keeping it in AWS,
// next to the routes it explains, makes every call self-contained: one
// ListAliases reads the slots, the routes and the test route together, and
// no memory has to agree with AWS. It also covers a case version
// descriptions cannot: Lambda publishes no new version of unchanged code,
// so a redeployment of the same code puts one version in both slots, and
// only the slot aliases tell the two environments apart (the production
// and test aliases' descriptions then tell the routes apart). Compute and
// Router are one type because they share these names and this reading.
//
// # Compute
//
// ScaleUp updates the function's code from the revision's Spec (an S3
// object, a zip file or a container image; see Spec), waits for
// LastUpdateStatus to leave InProgress, publishes a version with
// PublishVersion (guarded by the update's CodeSha256, its description
// recording the deployment) and records the version in the slot's alias.
// A Spec with Version records an already published version instead. Status
// reads the version's configuration: State Active and LastUpdateStatus
// Successful is Desired = Running = Healthy = 1; Failed (of the version, or
// of ScaleUp's code update, which is then never published) is a Failed
// Status with Lambda's reason. ScaleDown deletes the slot alias; there is
// nothing to drain. The version is kept unless Options.DeleteVersions, and
// never deleted while another alias routes to it.
//
// ScaleUp waits for the code update (seconds for a zip, longer for an
// image) within the call, up to Options.UpdateTimeout; a Rollback or
// Continue asked for meanwhile acts when it returns.
//
// # Routes
//
// Weights map exactly: Lambda's weight of the additional version is the
// bluegreen weight divided by 1000 (1 = 0.1% is 0.001, 125 = 12.5% is
// 0.125, 999 is 0.999), and is read back rounded to the nearest tenth of a
// percent, so every weight from 0 to 1000 round-trips. The primary version
// stays the one the alias already serves while both slots take traffic, so
// a shift from blue to green is FunctionVersion = blue with green's
// additional weight growing, and at 100% the alias points at green alone
// with no additional weights (as CodeDeploy shifts Lambda aliases).
// Rollback is the same call back to blue. Alias updates carry the
// RevisionId read just before, so a concurrent change by someone else
// fails with CodeConflict instead of being overwritten.
//
// # Adopting a function
//
// A function whose production alias someone else made (and which has no
// slot aliases) is adopted: its FunctionVersion is taken to be in slot A
// (a weighted additional version in slot B), with the deployment id
// "adopted-v" + version. Discover reports it, Routes reports all traffic
// on slot A, and the first ScaleUp records it in live-slot-a before
// deploying green to slot B, so that the deployment, its rollback and its
// clean-up treat it as any other environment. The alias's own description
// is replaced on the first SetRoutes.
//
// # Hooks and monitors
//
// aws/lambdahook (ECS-contract Lambda hooks), hooks/httphook and
// aws/cwmonitor (CloudWatch alarms, such as one on the function's Errors
// metric for the alias) work with it unchanged. iam-policy-lambda.json
// lists the actions a Backend calls.
package lambdaalias
