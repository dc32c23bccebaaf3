// Package codedeployengine is a bluegreen.Engine that runs deployments as
// AWS CodeDeploy blue/green deployments of an ECS service, for teams that
// already run CodeDeploy: the caller keeps the library's surface (events,
// Wait, Rollback, Continue, Promote, in-process Go hooks, the store's
// record and lease, Reconcile after a crash) while CodeDeploy moves the
// traffic.
//
// # What it calls
//
// Run reads the deployment group (GetDeploymentGroup) and refuses one
// whose waits do not allow the configured hooks and bake time; saves an
// intent (a time and a marker, the deployment's description) with
// EngineRun.Save; creates the deployment (CreateDeployment, an
// AppSpecContent revision in JSON: the task definition, the container and
// port, the Lambda hooks of Service.Hooks; automatic rollback enabled);
// saves its id; then polls GetDeployment and the ECS target's lifecycle
// events and task-set weights (ListDeploymentTargets once,
// GetDeploymentTarget) every PollInterval. A Run re-attached with an intent
// but no id finds the deployment with ListDeployments (the group's,
// created since shortly before the intent) and GetDeployment (the marker)
// before it creates one: CreateDeployment takes no client token.
//
// # Stages
//
// CodeDeploy's ECS lifecycle events map onto the library's stages:
// BeforeInstall → PRE_SCALE_UP, Install → SCALE_UP, AfterInstall →
// POST_SCALE_UP, AllowTestTraffic → TEST_TRAFFIC_SHIFT,
// AfterAllowTestTraffic → POST_TEST_TRAFFIC_SHIFT, BeforeAllowTraffic →
// PRE_PRODUCTION_TRAFFIC_SHIFT, AllowTraffic → PRODUCTION_TRAFFIC_SHIFT
// (one step per share of the green task set's traffic weight reached),
// AfterAllowTraffic → POST_PRODUCTION_TRAFFIC_SHIFT; the wait before the
// original task set is removed is BAKE_TIME, and its removal CLEAN_UP.
//
// # Go hooks run at CodeDeploy's two waits
//
// CodeDeploy pauses an ECS deployment only where ContinueDeployment
// releases it. Go hooks and pauses at POST_TEST_TRAFFIC_SHIFT and
// PRE_PRODUCTION_TRAFFIC_SHIFT run at READY_WAIT (status Ready, before
// production traffic is rerouted; the group needs deploymentReadyOption
// STOP_DEPLOYMENT with a wait longer than they take), and the engine then
// calls ContinueDeployment READY_WAIT. PRE_PRODUCTION_TRAFFIC_SHIFT runs
// once, at step 1: CodeDeploy cannot pause between its steps. Go hooks at
// POST_PRODUCTION_TRAFFIC_SHIFT run at TERMINATION_WAIT (green has all
// production traffic, blue still runs); the bake time follows, and the
// engine ends the wait with ContinueDeployment TERMINATION_WAIT (the
// group's terminationWaitTimeInMinutes must be at least the bake time).
// CheckConfig refuses Go hooks on any other stage, naming the AppSpec
// Lambda hook to use instead.
//
// Rollback (a hook's, the caller's, a canceled context's) is StopDeployment
// with autoRollbackEnabled; the engine follows CodeDeploy's rollback
// deployment to its end. A deployment CodeDeploy fails itself (a Lambda
// hook, an alarm) is reported as a rollback by the backend. Promote ends
// the termination wait early (ContinueDeployment TERMINATION_WAIT) and is
// refused elsewhere: CodeDeploy cannot skip the steps of its shift.
// Continue outside a pause is refused.
//
// # Shift
//
// Config.Shift maps to CodeDeploy's predefined ECS configuration that
// moves traffic the same way (CodeDeployDefault.ECSAllAtOnce,
// ECSLinear10PercentEvery1Minutes, ECSLinear10PercentEvery3Minutes,
// ECSCanary10Percent5Minutes, ECSCanary10Percent15Minutes); any other
// linear or canary shift in whole percent and whole minutes needs a custom
// configuration named in Options.DeploymentConfigName, and New refuses it
// otherwise with the CreateDeploymentConfig parameters to use. Shifts
// CodeDeploy cannot express (uneven steps, fractions of a percent or of a
// minute) are refused.
//
// # Moving off CodeDeploy
//
// ConfigFromAppSpec reads an appspec.yaml (or JSON) and the group's
// traffic routing and waits into a bluegreen.Config for the library's own
// engine, with notes on what it cannot carry over.
package codedeployengine
