package bluegreentest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bluegreen-go/bluegreen"
)

// preparation is what the fake Compute did for one deployment's Prepare, the
// stand-in for the ECS adapter suspending auto scaling.
type preparation struct {
	service  string
	state    json.RawMessage
	restored []json.RawMessage
}

// preparedState is the JSON the fake's Prepare returns.
type preparedState struct {
	Service      string `json:"service"`
	DeploymentID string `json:"deploymentId"`
	Suspended    bool   `json:"suspended"`
}

// Prepare marks the service as prepared (think: auto scaling suspended) for
// green's deployment and returns state naming it. A second Prepare for the
// same deployment returns the same state.
func (c *Compute) Prepare(ctx context.Context, green bluegreen.Environment) (json.RawMessage, error) {
	if err := c.call(ctx, "Prepare", green); err != nil {
		return nil, err
	}
	state, err := json.Marshal(preparedState{Service: green.Service, DeploymentID: green.DeploymentID, Suspended: true})
	if err != nil {
		return nil, fmt.Errorf("bluegreentest: Prepare: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.prepared[green.DeploymentID]; ok {
		return cloneRaw(p.state), nil
	}
	c.prepared[green.DeploymentID] = &preparation{service: green.Service, state: state}
	return cloneRaw(state), nil
}

// Restore records that state was handed back for green's deployment. State
// the fake cannot decode is refused with bluegreen.CodeInvalid; restoring
// twice succeeds (Restore is idempotent) and both calls are recorded.
func (c *Compute) Restore(ctx context.Context, green bluegreen.Environment, state json.RawMessage) error {
	if err := c.record(ctx, Call{Op: "Restore", Service: green.Service, Detail: envDetail(green) + " state " + string(state), Arg: cloneEnv(green)}); err != nil {
		return err
	}
	var s preparedState
	if err := json.Unmarshal(state, &s); err != nil {
		return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("bluegreentest: Restore: state %q is not what Prepare returned: %w", state, err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.prepared[green.DeploymentID]
	if !ok {
		// Prepared by another process (a Compute the test threw away): adopt it.
		p = &preparation{service: green.Service, state: cloneRaw(state)}
		c.prepared[green.DeploymentID] = p
	}
	p.restored = append(p.restored, cloneRaw(state))
	return nil
}

// Prepared returns the state Prepare returned for the deployment, if it was prepared.
func (c *Compute) Prepared(deploymentID string) (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.prepared[deploymentID]
	if !ok {
		return nil, false
	}
	return cloneRaw(p.state), true
}

// Restored returns the states handed to Restore for the deployment, one per
// successful call, in order. A deployment restored exactly once has one,
// equal to what Prepared returns.
func (c *Compute) Restored(deploymentID string) []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.prepared[deploymentID]
	if !ok {
		return nil
	}
	out := make([]json.RawMessage, len(p.restored))
	for i, s := range p.restored {
		out[i] = cloneRaw(s)
	}
	return out
}

// Suspended reports whether some deployment of service was prepared and not
// yet restored: what a test checks is false once every deployment has ended.
func (c *Compute) Suspended(service string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.prepared {
		if p.service == service && len(p.restored) == 0 {
			return true
		}
	}
	return false
}
