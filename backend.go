package bluegreen

import (
	"context"
	"encoding/json"

	"github.com/bluegreen-go/bluegreen/driver"
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
// ECS adapter suspends auto scaling, for example).
//
// It is split in three so that the Deployer can save what it needs before
// anything changes: in PRE_SCALE_UP it calls Snapshot, saves the snapshot
// with the deployment, and only then calls Prepare. Restore receives the
// snapshot after the deployment ends, however it ends, including in a later
// RECONCILE_SERVICE after a crash at any instant (even between Prepare and
// the next save). Prepare and Restore must be idempotent.
type Preparer interface {
	// Snapshot reads, changing nothing, the state that Prepare will change
	// and Restore will put back. Nil means there is nothing to restore.
	Snapshot(ctx context.Context, green Environment) (json.RawMessage, error)
	// Prepare makes the change for the length of the deployment.
	Prepare(ctx context.Context, green Environment, snapshot json.RawMessage) error
	// Restore puts back what snapshot describes.
	Restore(ctx context.Context, green Environment, snapshot json.RawMessage) error
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

// Store persists the Deployer's state of each service and arbitrates who
// may deploy it; see package driver for the contract implementers follow.
// NewMemoryStore serves one process; local/filestore and aws/dynamostore
// serve several.
type Store = driver.Store
