package bluegreen

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
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
	if !utf8.ValidString(r.Name) {
		// The name is saved as JSON, which would read it back changed
		// (U+FFFD for each bad byte) after a crash.
		return &ConfigError{Field: field + ".Name", Problem: fmt.Sprintf("%q is not valid UTF-8", r.Name), Fix: "name the revision in UTF-8 text"}
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
