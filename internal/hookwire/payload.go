package hookwire

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/bluegreen-go/bluegreen"
)

// Payload is the event a hook receives: the shape of the ECS lifecycle-hook
// Lambda event.
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

// Naming says how a transport names things in payloads. The zero Naming
// names them as Builder's defaults do.
type Naming struct {
	// ServiceARN returns the serviceArn of a service's payloads; the service
	// name if nil.
	ServiceARN func(service string) string
	// RevisionARN returns the name of an environment in the payload; the
	// revision name if nil.
	RevisionARN func(env bluegreen.Environment) string
	// ResourceARN returns the resourceArn of a payload; if nil, the ECS
	// service-deployment ARN when ServiceARN returns an ECS service ARN,
	// else the deployment id.
	ResourceARN func(in bluegreen.HookInput) string
}

// Builder builds the payloads of one hook target.
type Builder struct {
	naming Naming
	target []string
}

// NewBuilder returns a Builder naming things per n. target identifies the
// hook (a function and qualifier, a URL): it seeds the execution ids, so
// two hooks at one stage get different ones.
func NewBuilder(n Naming, target ...string) Builder {
	if n.ServiceARN == nil {
		n.ServiceARN = func(service string) string { return service }
	}
	if n.RevisionARN == nil {
		n.RevisionARN = func(env bluegreen.Environment) string { return env.Revision.Name }
	}
	if n.ResourceARN == nil {
		serviceARN := n.ServiceARN
		n.ResourceARN = func(in bluegreen.HookInput) string {
			if arn, ok := ecsDeploymentARN(serviceARN(in.Service), in.DeploymentID); ok {
				return arn
			}
			return in.DeploymentID
		}
	}
	return Builder{naming: n, target: target}
}

// Payload returns the payload of in.
func (b Builder) Payload(in bluegreen.HookInput) Payload {
	service := b.naming.ServiceARN(in.Service)
	greenKey := b.naming.RevisionARN(in.Green)
	var blueKey string
	if in.Blue != nil {
		blueKey = b.naming.RevisionARN(*in.Blue)
		if blueKey == greenKey {
			// One revision in both slots: keep two keys in the weight maps.
			blueKey += "#" + string(in.Blue.Slot)
			greenKey += "#" + string(in.Green.Slot)
		}
	}
	p := Payload{
		ExecutionID:    b.executionID(in),
		LifecycleStage: in.Stage.String(),
		ResourceARN:    b.naming.ResourceARN(in),
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
// SHA-256 hash) of one hook execution: the target, the deployment, the
// stage, the step and the direction.
func (b Builder) executionID(in bluegreen.HookInput) string {
	parts := append(append([]string(nil), b.target...),
		in.DeploymentID, in.Stage.String(), strconv.Itoa(in.Step), strconv.FormatBool(in.Rollback))
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
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
