package bluegreentest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/bluegreen-go/bluegreen"
)

// The fake Compute's Preparer stands in for the ECS adapter suspending auto
// scaling: each service has a "suspended" switch, which Prepare turns on and
// Restore sets back to what Snapshot saw. A snapshot taken while the switch
// is on (a second Snapshot after a crash, say) would restore it on, and
// Suspended would then report the service stuck suspended, as a real
// backend would be.

// preparation is what the fake did for one deployment.
type preparation struct {
	service  string
	snapshot json.RawMessage
	// snapSuspended is what snapshot says, decoded once.
	snapSuspended bool
	prepared      bool
	restored      []json.RawMessage
}

// snapshotState is the JSON the fake's Snapshot returns.
type snapshotState struct {
	Service      string `json:"service"`
	DeploymentID string `json:"deploymentId"`
	// Suspended is the switch as Snapshot found it.
	Suspended bool `json:"suspended"`
}

// Snapshot returns the service's switch as it is now, for green's deployment.
func (c *Compute) Snapshot(ctx context.Context, green bluegreen.Environment) (json.RawMessage, error) {
	if err := c.call(ctx, "Snapshot", green); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	state, err := json.Marshal(snapshotState{Service: green.Service, DeploymentID: green.DeploymentID, Suspended: c.suspended[green.Service]})
	if err != nil {
		return nil, fmt.Errorf("bluegreentest: Snapshot: %w", err)
	}
	p := c.preparationOf(green)
	if p.snapshot == nil {
		p.snapshot, p.snapSuspended = cloneRaw(state), c.suspended[green.Service]
	}
	return state, nil
}

// Prepare turns the service's switch on for green's deployment. It is
// idempotent.
func (c *Compute) Prepare(ctx context.Context, green bluegreen.Environment, snapshot json.RawMessage) error {
	if err := c.call(ctx, "Prepare", green); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.preparationOf(green); !bytes.Equal(p.snapshot, snapshot) {
		// Not the snapshot this fake took (another process's, say): it
		// must at least be one it could have taken.
		if _, err := decodeSnapshot(snapshot); err != nil {
			return err
		}
	}
	c.suspended[green.Service] = true
	c.preparationOf(green).prepared = true
	return nil
}

// Restore sets the service's switch back to what snapshot says and records
// the call. A snapshot the fake cannot decode is refused with
// bluegreen.CodeInvalid; restoring twice succeeds (Restore is idempotent)
// and both calls are recorded.
func (c *Compute) Restore(ctx context.Context, green bluegreen.Environment, snapshot json.RawMessage) error {
	if err := c.record(ctx, Call{Op: "Restore", Service: green.Service, Detail: envDetail(green) + " state " + string(snapshot), Arg: cloneEnv(green)}); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.preparationOf(green)
	suspended := p.snapSuspended
	if !bytes.Equal(p.snapshot, snapshot) {
		// Not the snapshot this fake took (another process's, say).
		s, err := decodeSnapshot(snapshot)
		if err != nil {
			return err
		}
		suspended = s.Suspended
	}
	c.suspended[green.Service] = suspended
	p.restored = append(p.restored, cloneRaw(snapshot))
	return nil
}

func decodeSnapshot(snapshot json.RawMessage) (snapshotState, error) {
	var s snapshotState
	if err := json.Unmarshal(snapshot, &s); err != nil || s.Service == "" {
		return s, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("bluegreentest: snapshot %q is not what Snapshot returned", snapshot))
	}
	return s, nil
}

// preparationOf returns the record of green's deployment, made on first use
// (a deployment prepared by another process, a Compute the test threw
// away, is adopted). c.mu must be held.
func (c *Compute) preparationOf(green bluegreen.Environment) *preparation {
	p, ok := c.prepared[green.DeploymentID]
	if !ok {
		p = &preparation{service: green.Service}
		c.prepared[green.DeploymentID] = p
	}
	return p
}

// Prepared returns the snapshot Snapshot returned for the deployment, and
// whether Prepare was called for it.
func (c *Compute) Prepared(deploymentID string) (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.prepared[deploymentID]
	if !ok {
		return nil, false
	}
	return cloneRaw(p.snapshot), p.prepared
}

// Restored returns the snapshots handed to Restore for the deployment, one
// per successful call, in order.
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

// Suspended reports whether the service's switch is on: what a test checks
// is false once every deployment has ended.
func (c *Compute) Suspended(service string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.suspended[service]
}
