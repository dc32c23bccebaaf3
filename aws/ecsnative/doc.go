// Package ecsnative runs bluegreen deployments as Amazon ECS's own
// blue/green, linear and canary service deployments (the ECS deployment
// controller's BLUE_GREEN, LINEAR and CANARY strategies), with the
// caller's in-process Go hooks answering ECS's PAUSE lifecycle hooks.
//
// Set bluegreen.Config.Engine to an *Engine. A deployment calls
// UpdateService with the revision's task definition and a deployment
// configuration made from the Config: the strategy from Config.Shift
// (AllAtOnce is BLUE_GREEN, Linear is LINEAR with stepPercent and
// stepBakeTimeInMinutes, Canary is CANARY), bakeTimeInMinutes from
// Config.BakeTime, the CloudWatch alarms of Options.Alarms (with rollback),
// the Lambda hooks of Options.LambdaHooks, and one PAUSE hook for every
// stage that has in-process hooks or pauses. It then reads the service
// deployment every Options.PollInterval (DescribeServiceDeployments) and
// reports its stages, traffic and Lambda hook calls as the library's
// events; when a PAUSE hook awaits action it runs the stage's Go hooks with
// the Deployer (IN_PROGRESS answers, timeouts and pauses as usual) and
// answers ContinueServiceDeployment with CONTINUE or ROLLBACK.
//
// Caller commands: Rollback is StopServiceDeployment with stopType
// ROLLBACK (refused once ECS is at CLEAN_UP); Continue answers a pause
// hook; Promote is refused, as ECS has no call that cuts a traffic step's
// or the bake's wait short.
//
// # Differences from the Deployer's own engine
//
//   - Shift: explicit Steps schedules are refused; step and canary shares
//     and waits must be within ECS's ranges (stepPercent 3–100,
//     canaryPercent 0.1–100, whole minutes from 0 to 1440), and so must the
//     bake time.
//   - In-process hooks cannot be bound to TEST_TRAFFIC_SHIFT or
//     PRODUCTION_TRAFFIC_SHIFT (ECS cannot pause there; use
//     POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT or a Lambda
//     hook) nor RECONCILE_SERVICE (ECS runs it only when more than one
//     service revision is active). Their pause's timeout is the longest hook
//     timeout plus Options.PauseGrace, at most 14 days, after which ECS rolls
//     back by itself (when no Deployer answers, for example).
//   - Monitors and health are ECS's: Config.Monitors are not consulted;
//     alarms go in Options.Alarms, and ECS's rollbacks are reported with
//     TriggerMonitor (an alarm), TriggerHook (a Lambda hook) or
//     TriggerBackend (ECS's status reason).
//   - ECS's ServiceDeployment has no PRE_PRODUCTION_TRAFFIC_SHIFT
//     lifecycleStage: a pause before traffic step k shows as
//     PRODUCTION_TRAFFIC_SHIFT with step k-1's weight, and the engine
//     reports it as PRE_PRODUCTION_TRAFFIC_SHIFT#k.
//   - Stages shorter than the poll interval are reported when the next
//     poll sees a later one, in order, with the traffic they put in force:
//     the events are the same, their times lag by up to an interval.
//
// # Crashes
//
// UpdateService takes no client token. The engine saves its intent (the
// task definition and the time) before UpdateService and the service
// deployment's ARN after it. A Deployer that re-attaches (Reconcile) with
// an ARN follows that deployment and answers its pauses; with only the
// intent, it adopts the service deployment in progress if the service runs
// the intended task definition and the deployment was created since, and
// starts one otherwise. A repeated UpdateService with an unchanged task
// definition starts no second deployment.
//
// # Permissions
//
// iam-policy-ecsnative.json in the aws directory lists the ECS actions the
// engine calls: the methods of Client.
package ecsnative
