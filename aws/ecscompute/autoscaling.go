package ecscompute

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/bluegreen-go/bluegreen"
)

// ScalingState is the JSON snapshot Snapshot returns, and Prepare and
// Restore take: the service's scalable target and the suspended state it
// had before the deployment.
type ScalingState struct {
	// ResourceID is the scalable target, "service/<cluster>/<service>".
	ResourceID string `json:"resourceId"`
	// Registered is false when the service had no scalable target: there is
	// nothing to restore.
	Registered bool `json:"registered"`
	// Before is the suspended state before the deployment.
	Before Suspended `json:"before"`
}

// Suspended is a scalable target's suspended state.
type Suspended struct {
	DynamicScalingIn  bool `json:"dynamicScalingInSuspended"`
	DynamicScalingOut bool `json:"dynamicScalingOutSuspended"`
	Scheduled         bool `json:"scheduledScalingSuspended"`
}

func suspendedOf(s *aastypes.SuspendedState) Suspended {
	if s == nil {
		return Suspended{}
	}
	return Suspended{aws.ToBool(s.DynamicScalingInSuspended), aws.ToBool(s.DynamicScalingOutSuspended), aws.ToBool(s.ScheduledScalingSuspended)}
}

func (s Suspended) toAWS() *aastypes.SuspendedState {
	return &aastypes.SuspendedState{DynamicScalingInSuspended: aws.Bool(s.DynamicScalingIn),
		DynamicScalingOutSuspended: aws.Bool(s.DynamicScalingOut), ScheduledScalingSuspended: aws.Bool(s.Scheduled)}
}

func (s Service) resourceID() string { return "service/" + lastPart(s.Cluster) + "/" + s.Name }

// Snapshot reads, changing nothing, the scalable target of green's service
// and its suspended state, as a ScalingState: what Restore will put back.
// Without an AutoScaling client in the Options it returns nil (nothing to
// restore). The Deployer saves the snapshot before it calls Prepare, so a
// crash at any instant leaves the state from before the deployment on
// record.
func (c *Compute) Snapshot(ctx context.Context, green bluegreen.Environment) (json.RawMessage, error) {
	if c.scaling == nil {
		return nil, nil
	}
	s, err := c.service(green)
	if err != nil {
		return nil, err
	}
	state := ScalingState{ResourceID: s.resourceID()}
	target, err := c.scalableTarget(ctx, state.ResourceID)
	if err != nil {
		return nil, err
	}
	if target != nil {
		state.Registered, state.Before = true, suspendedOf(target.SuspendedState)
	}
	b, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("ecscompute: encode scaling state: %w", err)
	}
	return b, nil
}

// Prepare suspends dynamic scale-in of green's service (and scale-out, if
// Service.SuspendScaleOut) when its desired count is an Application Auto
// Scaling target, on top of the suspended state the snapshot recorded. It
// is idempotent: a target already suspended so is left alone.
func (c *Compute) Prepare(ctx context.Context, green bluegreen.Environment, snapshot json.RawMessage) error {
	state, err := decodeScalingState(snapshot)
	if err != nil || !state.Registered {
		return err
	}
	if c.scaling == nil {
		return errNoScalingClient(state)
	}
	s, err := c.service(green)
	if err != nil {
		return err
	}
	target, err := c.scalableTarget(ctx, state.ResourceID)
	if err != nil || target == nil {
		return err
	}
	want := state.Before
	want.DynamicScalingIn = true
	want.DynamicScalingOut = want.DynamicScalingOut || s.SuspendScaleOut
	if suspendedOf(target.SuspendedState) == want {
		return nil
	}
	if err := c.setSuspended(ctx, state.ResourceID, want); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "ecscompute: auto scaling suspended", "service", green.Service, "resource", state.ResourceID,
		"scaleIn", want.DynamicScalingIn, "scaleOut", want.DynamicScalingOut)
	return nil
}

func decodeScalingState(raw json.RawMessage) (ScalingState, error) {
	var state ScalingState
	if len(raw) == 0 || string(raw) == "null" {
		return state, nil
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		return state, &bluegreen.ConfigError{Field: "snapshot", Problem: fmt.Sprintf("%q is not an ecscompute.ScalingState: %v", raw, err),
			Fix: "pass back the snapshot Snapshot returned"}
	}
	return state, nil
}

func errNoScalingClient(state ScalingState) error {
	return &bluegreen.ConfigError{Field: "ecscompute.Options.AutoScaling", Problem: "nil, but the deployment suspends auto scaling of " + state.ResourceID,
		Fix: "pass applicationautoscaling.NewFromConfig(cfg) so the suspended state can be restored"}
}

// Restore puts back the suspended state the snapshot recorded. It is
// idempotent: a target already in that state, or gone, is left alone.
func (c *Compute) Restore(ctx context.Context, green bluegreen.Environment, snapshot json.RawMessage) error {
	state, err := decodeScalingState(snapshot)
	if err != nil || !state.Registered {
		return err
	}
	if c.scaling == nil {
		return errNoScalingClient(state)
	}
	target, err := c.scalableTarget(ctx, state.ResourceID)
	if err != nil || target == nil {
		return err
	}
	if suspendedOf(target.SuspendedState) == state.Before {
		return nil
	}
	if err := c.setSuspended(ctx, state.ResourceID, state.Before); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "ecscompute: auto scaling restored", "service", green.Service, "resource", state.ResourceID,
		"scaleInSuspended", state.Before.DynamicScalingIn, "scaleOutSuspended", state.Before.DynamicScalingOut)
	return nil
}

func (c *Compute) scalableTarget(ctx context.Context, resourceID string) (*aastypes.ScalableTarget, error) {
	out, err := c.scaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{resourceID},
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount})
	if err != nil {
		return nil, fmt.Errorf("ecscompute: describe scalable target %s: %w", resourceID, err)
	}
	for i := range out.ScalableTargets {
		if aws.ToString(out.ScalableTargets[i].ResourceId) == resourceID {
			return &out.ScalableTargets[i], nil
		}
	}
	return nil, nil
}

// setSuspended updates only the target's suspended state: a registration
// that names an existing target changes only what it sets.
func (c *Compute) setSuspended(ctx context.Context, resourceID string, s Suspended) error {
	_, err := c.scaling.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount, SuspendedState: s.toAWS()})
	if err != nil {
		return fmt.Errorf("ecscompute: update suspended state of %s: %w", resourceID, err)
	}
	return nil
}
