package bluegreen

import "context"

// Discoverer is an optional interface of Compute for backends that can find
// what already runs for a service, whoever started it: the ECS adapter lists
// the service's task sets, the local backend its running instances.
//
// RECONCILE_SERVICE asks it when the store has no record of a live
// environment (a service that was live before the library first deployed
// it, or whose record was lost), together with the router's Routes, and
// adopts what serves production as blue, so that the deployment, its
// rollback and its clean-up treat it exactly as an environment the library
// created. Where what it finds cannot be told apart safely (two environments
// each taking production traffic, weights split with no record, something
// running in the slot green would use), the Deployer refuses before acting,
// naming what it found.
type Discoverer interface {
	// Discover returns the environments of service that exist now. Each
	// Found.Environment must identify its environment well enough for
	// Status and ScaleDown to find it again (its Slot, and the
	// DeploymentID the backend keys it by). An environment scaled to zero
	// but not removed is returned too, with its Status. A service with
	// nothing running returns no environments and no error.
	Discover(ctx context.Context, service string) ([]Found, error)
}

// Found is an environment a Discoverer found.
type Found struct {
	// Environment identifies what was found: the service, its slot, the
	// revision it runs (its Name at least; Spec where the backend can give
	// it) and the DeploymentID the backend keys it by.
	Environment Environment `json:"environment"`
	// Status is its status when it was found.
	Status Status `json:"status"`
	// Primary marks the environment the backend itself treats as the
	// service's current one, such as ECS's PRIMARY task set.
	Primary bool `json:"primary,omitempty"`
}

// PrimarySetter is an optional interface of Compute for backends that mark
// one environment of a service as its current one (ECS calls it the primary
// task set: the one that carries the service's task definition and that
// service auto scaling resizes). The Deployer calls SetPrimary with green in
// CLEAN_UP, after green has had all production traffic for the bake time and
// before blue is removed, and with blue during a rollback that had already
// made green primary. It must be idempotent.
type PrimarySetter interface {
	SetPrimary(ctx context.Context, env Environment) error
}
