// Package bluegreen runs blue/green deployments from inside Go programs:
// deploy tools, integration tests and platform services that deploy
// thousands of services. It follows the Amazon ECS blue/green model, and
// makes every part of it pluggable and testable.
//
// # The model
//
// A service has two slots (A and B). The live revision runs in one of them:
// it is blue. A deployment starts the new revision, green, in the other slot,
// sends test traffic to it, then moves production traffic to it (all at once,
// linearly or as a canary), keeps both running for a bake time while monitors
// watch, and finally removes blue. Anything that goes wrong before blue's
// removal — a hook that answers FAILED, a monitor that fires, green failing
// its health checks, a traffic change that does not take, or the caller —
// rolls back: production and test traffic return to blue in one router call,
// then green is removed.
//
// # The lifecycle
//
// A deployment passes the stages of ECS, with ECS's names and hook rules:
//
//	RECONCILE_SERVICE             settle an unfinished deployment; adopt      hooks
//	                              what already serves as blue
//	PRE_SCALE_UP                  green not started; blue has all traffic     hooks
//	SCALE_UP                      green started at full size, no traffic      -
//	POST_SCALE_UP                 green running and healthy, no traffic       hooks
//	TEST_TRAFFIC_SHIFT            the test route moves to green               hooks, no pause
//	POST_TEST_TRAFFIC_SHIFT       all test traffic on green: test it here     hooks
//	PRE_PRODUCTION_TRAFFIC_SHIFT  gate before every production step           hooks
//	PRODUCTION_TRAFFIC_SHIFT      production weights move, step by step       hooks, no pause
//	POST_PRODUCTION_TRAFFIC_SHIFT green has all production traffic            hooks
//	BAKE_TIME                     both run; monitors watched                  -
//	CLEAN_UP                      blue removed; green recorded as live        -
//
// As in ECS, PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT run at
// every step of a linear or canary shift (their events carry the step), and
// during a rollback the TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT hooks
// run again, told it is a rollback; their answers cannot stop it. A service's
// first deployment has no blue: its production shift is one step and it has
// no bake time (BAKE_TIME is reported skipped).
//
// # A service that already serves
//
// A service the Store has no record of may already serve production. In
// RECONCILE_SERVICE the Deployer asks the Router what it routes and, through
// the optional Discoverer of the Compute, what runs, and adopts what serves
// production as blue (an EventAdopted): the deployment shifts traffic step
// by step and bakes against it, a rollback returns traffic to it, and
// clean-up removes it (making green primary first, through the optional
// PrimarySetter). Where what it finds cannot be told apart safely, it
// refuses before acting, saying what it found. A rollback never routes
// production to nothing when something served before the deployment.
//
// Hooks follow the contract of ECS lifecycle hook Lambda functions: they
// answer SUCCEEDED, FAILED or IN_PROGRESS; IN_PROGRESS is called again after
// its callback delay (30 s by default) with the details it returned. Hooks at
// one stage run in parallel; each has a timeout with an action (roll back, by
// default, or continue). A pause hook (LifecycleHook.Pause) holds its stage
// until Continue.
//
// Monitors answer healthy, alarm or inconclusive (not enough evidence yet).
// A production step and the bake time count as passed only once no monitor
// is inconclusive, waiting up to Config.InconclusiveTimeout; an alarm rolls
// back, naming the monitor.
//
// # Using it
//
// New validates a Config (backends, hooks, monitors, shift strategy, bake
// time) and returns a Deployer. Deploy runs a deployment to its end, calling
// Config.Callbacks as it goes; Start returns a Deployment handle whose Events
// iterator replays the deployment's events from the start and then follows
// it live, and whose Rollback, Continue and Promote act on it. Plan shows what
// a deployment will do without touching anything.
//
// # Canceling a deployment
//
// The context given to Start or Deploy governs the deployment. When it is
// canceled, by default (CancelRollback) the deployment rolls back with a
// fresh context bounded by RollbackTimeout: production and test traffic go
// back to blue in one router call and green is removed, so a deploy command
// interrupted by Ctrl-C leaves the service as it was. With CancelDetach the
// deployment stops where it is, traffic stays as it was (possibly split),
// and the persisted state and lease stay in the store: once the lease
// lapses, Deployer.Reconcile resumes it from where it stood (its handle is
// StartReconcile's), or the next deployment of the service settles it. Breaking out of an Events loop, or canceling the context given to
// Events or Wait, only stops the watching.
//
// # Guarantees
//
// Production weights are integers in tenths of a percent that always sum to
// 100%. Every side effect is preceded by a save of what is about to happen,
// under a lease that is renewed beside long backend calls and whose record
// version fences every write, so that at most one deployment of a service is
// in flight across processes, and a crash at any instant — before or after
// a save — is resumed or settled by the next owner. After every
// traffic change the Deployer waits until a router that can verify
// (Verifier) confirms the new routes are in force. Backend errors are wrapped
// once with the stage, the operation and a Code that errors.Is and ErrorCode
// test; transient ones are retried with backoff.
//
// # Backends
//
// Compute, Router, Hook, Monitor and Store are small interfaces; optional
// abilities (Preparer, Discoverer, PrimarySetter, Verifier) are separate
// interfaces the Deployer looks for. What only store implementers need
// (the record, its lease, the store contract) is in package driver: the
// Deployer's state is an opaque, versioned document to stores, and
// ReadState shows it to tools. Package bluegreentest has in-memory fakes of
// each interface and conformance suites every backend passes. Time comes from the time package (virtual inside a
// testing/synctest bubble, so a 30-minute deployment is tested in
// milliseconds) or from Config.Clock.
package bluegreen
