package lambdahook

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bluegreen-go/bluegreen"
)

// Payload is the event a hook function receives: the shape of the ECS
// lifecycle-hook Lambda event.
type Payload struct {
	// ExecutionID identifies one hook execution (stable across IN_PROGRESS calls).
	ExecutionID string `json:"executionId"`
	// LifecycleStage is the stage's ECS name, such as "POST_TEST_TRAFFIC_SHIFT".
	LifecycleStage string `json:"lifecycleStage"`
	// ResourceARN identifies the deployment.
	ResourceARN string `json:"resourceArn"`
	// ExecutionDetails describe the service and its traffic.
	ExecutionDetails ExecutionDetails `json:"executionDetails"`
	// HookDetails are the hook's details, if any: a JSON object.
	HookDetails json.RawMessage `json:"hookDetails,omitempty"`
}

// ExecutionDetails is the executionDetails object of a Payload.
type ExecutionDetails struct {
	// ServiceARN identifies the service.
	ServiceARN string `json:"serviceArn"`
	// TargetServiceRevisionARN names green, the revision being deployed.
	TargetServiceRevisionARN string `json:"targetServiceRevisionArn"`
	// TestTrafficWeights maps revision names to test traffic percentages;
	// empty outside TEST_TRAFFIC_SHIFT.
	TestTrafficWeights map[string]float64 `json:"testTrafficWeights"`
	// ProductionTrafficWeights maps revision names to production traffic
	// percentages; empty outside PRE_PRODUCTION_TRAFFIC_SHIFT and
	// PRODUCTION_TRAFFIC_SHIFT.
	ProductionTrafficWeights map[string]float64 `json:"productionTrafficWeights"`
}

// Payload returns the payload h sends for in. It is what Run sends; it is
// exported so that tests of hook functions can build real events.
func (h *Hook) Payload(in bluegreen.HookInput) Payload {
	service := h.opts.ServiceARN(in.Service)
	greenKey := h.opts.RevisionARN(in.Green)
	var blueKey string
	if in.Blue != nil {
		blueKey = h.opts.RevisionARN(*in.Blue)
		if blueKey == greenKey {
			// One revision in both slots: keep two keys in the weight maps.
			blueKey += "#" + string(in.Blue.Slot)
			greenKey += "#" + string(in.Green.Slot)
		}
	}
	p := Payload{
		ExecutionID:    h.executionID(in),
		LifecycleStage: in.Stage.String(),
		ResourceARN:    h.opts.ResourceARN(in),
		ExecutionDetails: ExecutionDetails{
			ServiceARN:               service,
			TargetServiceRevisionARN: greenKey,
			TestTrafficWeights:       map[string]float64{},
			ProductionTrafficWeights: map[string]float64{},
		},
	}
	if len(in.Details) > 0 {
		p.HookDetails = in.Details
	}
	// weights sets the share of green and blue in m; blue only if there is one.
	weights := func(m map[string]float64, green, blue bluegreen.Weight) {
		m[greenKey] = green.Percent()
		if in.Blue != nil {
			m[blueKey] = blue.Percent()
		}
	}
	switch in.Stage {
	case bluegreen.StageTestTrafficShift:
		switch in.Routes.Test {
		case in.Green.Slot:
			weights(p.ExecutionDetails.TestTrafficWeights, bluegreen.Full, 0)
		case "":
		default:
			weights(p.ExecutionDetails.TestTrafficWeights, 0, bluegreen.Full)
		}
	case bluegreen.StagePreProductionTrafficShift, bluegreen.StageProductionTrafficShift:
		if w := in.Routes.Production; !w.Empty() {
			weights(p.ExecutionDetails.ProductionTrafficWeights, w.Of(in.Green.Slot), w.Of(in.Green.Slot.Other()))
		}
	}
	return p
}

// executionID derives a UUID-shaped identifier (RFC 9562 version 8, from a
// SHA-256 hash) of one hook execution: the function, the deployment, the
// stage, the step and the direction.
func (h *Hook) executionID(in bluegreen.HookInput) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		h.opts.Function, h.opts.Qualifier, in.DeploymentID, in.Stage.String(), strconv.Itoa(in.Step), strconv.FormatBool(in.Rollback),
	}, "\x00")))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80 // version 8
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ecsDeploymentARN returns the ECS service-deployment ARN of deployment id
// of the service serviceARN, if serviceARN is an ECS service ARN
// (arn:partition:ecs:region:account:service/cluster/name).
func ecsDeploymentARN(serviceARN, id string) (string, bool) {
	parts := strings.SplitN(serviceARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", false
	}
	resource, ok := strings.CutPrefix(parts[5], "service/")
	if !ok || strings.Count(resource, "/") != 1 {
		return "", false
	}
	return strings.Join(parts[:5], ":") + ":service-deployment/" + resource + "/" + id, true
}
