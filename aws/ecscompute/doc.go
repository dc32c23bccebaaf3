// Package ecscompute runs blue and green environments as Amazon ECS task
// sets: it implements bluegreen.Compute, bluegreen.Preparer,
// bluegreen.Discoverer, bluegreen.PrimarySetter and bluegreen.ErrorCoder
// over the aws-sdk-go-v2 ECS, ELBv2 and Application Auto Scaling clients.
//
// The service must use the EXTERNAL deployment controller, the API ECS
// offers to external deployment tools: each environment is a task set of the
// service, registered in its slot's target group.
//
//   - ScaleUp creates the task set (CreateTaskSet) at 100% of the service's
//     desired count, with the deployment id as external id and a client token
//     derived from the service, deployment id and slot, so a retried call
//     creates nothing twice. The revision's Spec (see Spec) gives the task
//     definition and the launch options passed through to ECS. If another
//     deployment's task set still has tasks in the slot's target group, its
//     tasks would take green's traffic beside green's own: ScaleUp creates
//     nothing and returns a *SlotInUseError naming it.
//   - Status reads the task set (DescribeTaskSets: computed desired count,
//     running count) and the health of its target group's targets
//     (DescribeTargetHealth). While tasks are missing it also looks for tasks
//     of the task set that failed to start (ListTasks, DescribeTasks), and
//     reports Failed once enough have. A task set computed at zero tasks
//     (the service's desired count is 0, or the task set is scaled to 0%)
//     can never become healthy: Status reports it Failed at once, saying
//     which and how to fix it, and ScaleUp on a service whose desired count
//     is 0 creates nothing and returns a *ZeroDesiredError.
//   - ScaleDown scales the task set to 0 (UpdateTaskSet) and deletes it
//     (DeleteTaskSet). A task set that is gone is already scaled down.
//
// An environment's task set is the one registered in the slot's target
// group whose external id is the environment's DeploymentID, or, for a task
// set adopted from someone else (see below), whose task-set id or ARN is.
//
// # Adopting what already runs
//
// A service may already serve traffic from task sets the library did not
// create: made by another deployment tool, by hand, or by this package in a
// deployment whose record was lost. Discover (bluegreen.Discoverer) reads
// the service's task sets (DescribeServices) and reports each one that is
// PRIMARY or ACTIVE, or DRAINING with tasks still running, as an
// environment: its slot is the slot whose target group it registers in, its
// revision is named by its task definition's family:revision with a Spec
// rebuilt from the task set, and its status is what Status would say. The
// Deployer adopts what serves production as blue, and from then on Status,
// ScaleDown and SetPrimary find it by its DeploymentID, which Discover sets
// to
//
//   - the task set's external id, if it has one that no other task set in
//     its target group shares (for a task set this package created, the
//     deployment id it was created with);
//   - otherwise its task-set id ("ecs-svc/…").
//
// A task set that registers in neither slot's target group, or in both, or
// in no target group, cannot be placed in a slot: Discover returns a
// *TaskSetSlotError naming it (CodeFailedPrecondition) and the deployment
// refuses to start, rather than leave traffic on a task set it cannot see.
//
// # The primary task set
//
// ECS calls one task set of an EXTERNAL service primary: the one that
// carries the service's task definition and that service auto scaling
// resizes. A first deployment makes its green task set primary as soon as
// it is created (there is nothing else). After that, the Deployer calls
// SetPrimary (bluegreen.PrimarySetter) with green in CLEAN_UP, after green
// has had all production traffic for the bake time and before blue is
// scaled down, and with blue in a rollback that had already made green
// primary. SetPrimary calls UpdateServicePrimaryTaskSet naming the task set
// by its ARN (the API takes the id or the ARN, but emulators such as moto
// match only the ARN), and calls nothing when the task set is primary
// already, so calling it again after a crash is safe. ScaleDown keeps a
// safety net: scaling down the primary task set first makes the newest task
// set of the other slot primary, if there is one.
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
