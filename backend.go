package bluegreen

import (
	"context"
	"encoding/json"
	"time"
)

// The interfaces in this file are what backends implement. They are small on
// purpose: adding a method to an interface breaks every implementation, so
// optional abilities are separate interfaces the Deployer looks for.
//
// Backends return raw errors; the Deployer wraps each one once in an *Error
// with the stage, the operation and a Code. A backend that can classify its
// errors implements ErrorCoder or returns errors made with NewError.

// Compute runs environments: the place blue and green execute (ECS task sets,
// local processes). One Compute serves many services; each call names the
// environment it is about.
type Compute interface {
	// ScaleUp starts env at full size, with no traffic. It is idempotent: a
	// repeated call for the same env.DeploymentID and slot must not start a
	// second copy. It may return before the environment is healthy; the
	// Deployer polls Status.
	ScaleUp(ctx context.Context, env Environment) error
	// Status reports how many instances of env run and pass health checks.
	// An environment that was never started or is gone reports a zero Status.
	Status(ctx context.Context, env Environment) (Status, error)
	// ScaleDown stops env and releases what it holds, after its in-flight work
	// drains. It is idempotent: scaling down an environment that is not
	// running succeeds.
	ScaleDown(ctx context.Context, env Environment) error
}

// Preparer is an optional interface of Compute for backends that must change
// something for the length of a deployment and put it back afterwards (the
// ECS adapter suspends auto scaling, for example). Prepare runs once, before
// PRE_SCALE_UP; the state it returns is persisted with the deployment, and
// Restore receives it after the deployment ends, however it ends, including in
// RECONCILE_SERVICE after a crash. Restore must be idempotent.
type Preparer interface {
	Prepare(ctx context.Context, green Environment) (json.RawMessage, error)
	Restore(ctx context.Context, green Environment, state json.RawMessage) error
}

// Router sets and reports where a service's traffic goes. One Router serves
// many services.
type Router interface {
	// SetRoutes applies r (production weights and the test route) for service
	// in one call. It is idempotent.
	SetRoutes(ctx context.Context, service string, r Routes) error
	// Routes returns the routes currently configured for service; the zero
	// Routes when nothing is routed yet.
	Routes(ctx context.Context, service string) (Routes, error)
}

// Verifier is an optional interface of Router for routers whose configuration
// takes effect asynchronously (a load balancer's data plane, a fleet of
// proxies). After every SetRoutes the Deployer polls Verify until it reports
// true, so no stage finishes, and no environment is removed, while traffic
// still flows the old way.
type Verifier interface {
	// Verify reports whether r is in force for service on every data plane.
	Verify(ctx context.Context, service string, r Routes) (bool, error)
}

// Hook is a lifecycle hook: code the Deployer calls at a stage, which answers
// SUCCEEDED, FAILED or IN_PROGRESS, following the contract of ECS lifecycle
// hook Lambda functions.
type Hook interface {
	// Run is called with the deployment's context. It should return quickly:
	// long work answers HookInProgress and is called again after the callback
	// delay. An error counts as a FAILED answer, except an error whose code is
	// retryable (CodeTransient, CodeThrottled, CodeTimeout), which is tried
	// again after the callback delay until the hook's timeout.
	Run(ctx context.Context, in HookInput) (HookResult, error)
}

// HookFunc adapts a function to the Hook interface.
type HookFunc func(ctx context.Context, in HookInput) (HookResult, error)

// Run calls f.
func (f HookFunc) Run(ctx context.Context, in HookInput) (HookResult, error) { return f(ctx, in) }

// Monitor watches a deployment and says when it should be rolled back
// (CloudWatch alarms, error rates).
type Monitor interface {
	// Check returns the alarms that are firing for the deployment now, or none.
	Check(ctx context.Context, in MonitorInput) ([]Alarm, error)
}

// MonitorFunc adapts a function to the Monitor interface.
type MonitorFunc func(ctx context.Context, in MonitorInput) ([]Alarm, error)

// Check calls f.
func (f MonitorFunc) Check(ctx context.Context, in MonitorInput) ([]Alarm, error) { return f(ctx, in) }

// MonitorInput tells a monitor which deployment it is checking.
type MonitorInput struct {
	// DeploymentID identifies the deployment.
	DeploymentID string
	// Started is when the deployment started, so that a monitor can tell
	// alarms raised before it from alarms raised during it.
	Started time.Time
	// Stage is the stage the deployment is in.
	Stage Stage
	// Blue is the environment being replaced; nil on a service's first deployment.
	Blue *Environment
	// Green is the environment being deployed.
	Green Environment
	// Routes are the routes in force.
	Routes Routes
}

// Store persists one Record per service and arbitrates who may deploy it.
// Every write is a compare-and-swap on the record's version, so the lease and
// the deployment's state change together, atomically, across processes.
type Store interface {
	// Load returns the record of service. A service with no record yet gets
	// Record{Service: service} (Version 0) and no error.
	Load(ctx context.Context, service string) (Record, error)
	// Save writes rec if the stored version is still rec.Version (0: no record
	// stored yet) and returns the new version. If the stored version differs,
	// it writes nothing and returns an error with CodeConflict.
	Save(ctx context.Context, rec Record) (int64, error)
}
