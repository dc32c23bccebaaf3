// Package ecscompute runs blue and green environments as Amazon ECS task
// sets: it implements bluegreen.Compute, bluegreen.Preparer and
// bluegreen.ErrorCoder over the aws-sdk-go-v2 ECS, ELBv2 and Application
// Auto Scaling clients.
//
// The service must use the EXTERNAL deployment controller, the API ECS
// offers to external deployment tools: each environment is a task set of the
// service, registered in its slot's target group.
//
//   - ScaleUp creates the task set (CreateTaskSet) at 100% of the service's
//     desired count, with the deployment id as external id and a client token
//     derived from the service, deployment id and slot, so a retried call
//     creates nothing twice. The revision's Spec (see Spec) gives the task
//     definition and the launch options passed through to ECS.
//   - Status reads the task set (DescribeTaskSets: computed desired count,
//     running count) and the health of its target group's targets
//     (DescribeTargetHealth). While tasks are missing it also looks for tasks
//     of the task set that failed to start (ListTasks, DescribeTasks), and
//     reports Failed once enough have.
//   - ScaleDown scales the task set to 0 (UpdateTaskSet) and deletes it
//     (DeleteTaskSet). A task set that is gone is already scaled down.
//
// An environment's task set is the one whose external id is the deployment
// id and whose load balancer target group is the slot's.
//
// # The primary task set
//
// ECS calls one task set of an EXTERNAL service primary: the one that
// carries the service's task definition. A first deployment makes its green
// task set primary as soon as it is created (there is nothing else). After
// that, green becomes primary when blue is scaled down while green runs: the
// Deployer's CLEAN_UP scales blue down only after green has had all
// production traffic for the bake time, so primary moves exactly when green
// is live. A rollback scales green down and leaves blue primary. Promote
// does the same on its own, for callers that want it earlier.
//
// # Auto scaling
//
// If the service's desired count is an Application Auto Scaling target,
// Prepare suspends dynamic scale-in (and scale-out, if the service asks) for
// the length of the deployment, so that the size green was created with
// holds and blue is not scaled in under traffic, and returns the suspended
// state that was there before. Restore puts exactly that state back.
//
// # Errors and retries
//
// Calls go through the SDK clients' retryers, which already retry throttling
// and transient errors; the adapter adds no retry loop of its own. ErrorCode
// maps API error codes to bluegreen codes.
package ecscompute
