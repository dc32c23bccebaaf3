package bluegreen

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Revision is what the compute backend runs: an ECS task definition and its
// task-set options, or a command and its environment for the local backend.
// The Deployer treats it as opaque data with a human name.
type Revision struct {
	// Name is a human-readable name such as "web:42". Required.
	Name string `json:"name"`
	// Spec is the backend-specific body, as JSON so that it can be persisted
	// with the deployment's state. Each backend documents its shape.
	Spec json.RawMessage `json:"spec,omitempty"`
}

// Validate checks that the revision has a name and that its Spec, if any, is JSON.
func (r Revision) Validate(field string) error {
	if strings.TrimSpace(r.Name) == "" {
		return &ConfigError{Field: field + ".Name", Problem: "empty", Fix: `name the revision, for example "web:42"`}
	}
	if len(r.Spec) > 0 && !json.Valid(r.Spec) {
		return &ConfigError{Field: field + ".Spec", Problem: "not valid JSON", Fix: "encode the backend-specific body as JSON"}
	}
	return nil
}

// Environment is a revision of a service placed in a slot, for one deployment.
type Environment struct {
	// Service is the name of the service.
	Service string `json:"service"`
	// Slot is where the environment runs.
	Slot Slot `json:"slot"`
	// Revision is what runs there.
	Revision Revision `json:"revision"`
	// DeploymentID is the deployment that created the environment. Backends
	// use it to make creation idempotent (an ECS client token, say).
	DeploymentID string `json:"deploymentId"`
}

// String prints the environment, such as "web:42 in slot B".
func (e Environment) String() string { return fmt.Sprintf("%s in slot %s", e.Revision.Name, e.Slot) }

// Status is what a compute backend reports about an environment.
type Status struct {
	// Desired is the number of instances the environment should have.
	Desired int `json:"desired"`
	// Running is the number of instances running.
	Running int `json:"running"`
	// Healthy is the number of running instances passing their health checks.
	Healthy int `json:"healthy"`
	// Failed reports that the environment cannot become healthy without a new
	// revision (instances crash at start, an image is missing): the Deployer
	// stops waiting and rolls back.
	Failed bool `json:"failed,omitempty"`
	// Reason says why the environment is not (yet) healthy.
	Reason string `json:"reason,omitempty"`
}

// Ready reports whether every desired instance is running and healthy.
func (s Status) Ready() bool { return s.Desired > 0 && s.Healthy >= s.Desired && !s.Failed }

// Alarm is a reason a monitor wants the deployment rolled back.
type Alarm struct {
	// Name names the alarm, such as a CloudWatch alarm name or "green-5xx-rate".
	Name string `json:"name"`
	// Reason says why it fired.
	Reason string `json:"reason,omitempty"`
}

// Lease is a claim on a service: while it is held and not expired, no other
// owner may deploy the service.
type Lease struct {
	// Owner identifies the holder (Config.Owner), such as "host-1/pid-42".
	Owner string `json:"owner,omitempty"`
	// Expires is when the lease lapses unless its owner renews it.
	Expires time.Time `json:"expires,omitzero"`
}

// HeldBy reports whether the lease is held by someone other than owner at now.
func (l Lease) HeldBy(owner string, now time.Time) bool {
	return l.Owner != "" && l.Owner != owner && now.Before(l.Expires)
}
