package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// AutoScaling is an in-process fake of Application Auto Scaling serving AWS
// JSON 1.1 (X-Amz-Target: AnyScaleFrontendService.<Op>):
// DescribeScalableTargets and RegisterScalableTarget, enough to suspend and
// restore dynamic scaling of an ECS service.
type AutoScaling struct {
	// Faults counts calls per operation and injects faults.
	Faults Faults
	// URL is the endpoint to pass as BaseEndpoint.
	URL string

	mu      sync.Mutex
	targets map[string]*ScalableTarget // by namespace|resource|dimension
}

// SuspendedState is a scalable target's suspended scaling activities.
type SuspendedState struct {
	DynamicScalingInSuspended  bool `json:"DynamicScalingInSuspended"`
	DynamicScalingOutSuspended bool `json:"DynamicScalingOutSuspended"`
	ScheduledScalingSuspended  bool `json:"ScheduledScalingSuspended"`
}

// ScalableTarget is a registered scalable target, such as an ECS service's
// desired count ("ecs", "service/<cluster>/<service>", "ecs:service:DesiredCount").
type ScalableTarget struct {
	ServiceNamespace  string         `json:"ServiceNamespace"`
	ResourceID        string         `json:"ResourceId"`
	ScalableDimension string         `json:"ScalableDimension"`
	MinCapacity       int            `json:"MinCapacity"`
	MaxCapacity       int            `json:"MaxCapacity"`
	RoleARN           string         `json:"RoleARN"`
	ScalableTargetARN string         `json:"ScalableTargetARN"`
	CreationTime      epoch          `json:"CreationTime"`
	SuspendedState    SuspendedState `json:"SuspendedState"`
}

// NewAutoScaling starts an Application Auto Scaling fake on a loopback
// server closed by c.
func NewAutoScaling(c Cleaner) *AutoScaling {
	a := &AutoScaling{targets: map[string]*ScalableTarget{}}
	a.URL = ServeTest(c, a)
	return a
}

func aasKey(ns, resource, dim string) string { return ns + "|" + resource + "|" + dim }

// Register registers (or updates) a scalable target directly, for test setup.
func (a *AutoScaling) Register(t ScalableTarget) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.register(t)
}

func (a *AutoScaling) register(t ScalableTarget) *ScalableTarget {
	key := aasKey(t.ServiceNamespace, t.ResourceID, t.ScalableDimension)
	if t.ScalableTargetARN == "" {
		t.ScalableTargetARN = fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%04d", fakeRegion, fakeAccount, len(a.targets)+1)
	}
	if time.Time(t.CreationTime).IsZero() {
		t.CreationTime = epoch(time.Now())
	}
	c := t
	a.targets[key] = &c
	return &c
}

// Target returns a registered scalable target.
func (a *AutoScaling) Target(namespace, resourceID, dimension string) (ScalableTarget, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.targets[aasKey(namespace, resourceID, dimension)]
	if !ok {
		return ScalableTarget{}, false
	}
	return *t, true
}

type aasDescribeInput struct {
	ServiceNamespace  string   `json:"ServiceNamespace"`
	ResourceIDs       []string `json:"ResourceIds"`
	ScalableDimension string   `json:"ScalableDimension"`
}

type aasRegisterInput struct {
	ServiceNamespace  string          `json:"ServiceNamespace"`
	ResourceID        string          `json:"ResourceId"`
	ScalableDimension string          `json:"ScalableDimension"`
	MinCapacity       *int            `json:"MinCapacity"`
	MaxCapacity       *int            `json:"MaxCapacity"`
	RoleARN           string          `json:"RoleARN"`
	SuspendedState    *suspendedInput `json:"SuspendedState"`
}

// suspendedInput is SuspendedState as sent: a flag left out is unchanged.
type suspendedInput struct {
	In        *bool `json:"DynamicScalingInSuspended"`
	Out       *bool `json:"DynamicScalingOutSuspended"`
	Scheduled *bool `json:"ScheduledScalingSuspended"`
}

// ServeHTTP serves the Application Auto Scaling JSON 1.1 API.
func (a *AutoScaling) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := rpc11Accept(w, r, "AnyScaleFrontendService", &a.Faults)
	if !ok {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rpc11Error(w, Fault{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()})
		return
	}
	a.mu.Lock()
	out, err := a.serve(op, body)
	a.mu.Unlock()
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			rpc11Error(w, ae.Fault)
			return
		}
		rpc11Error(w, Fault{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()})
		return
	}
	rpc11Reply(w, out)
}

func (a *AutoScaling) serve(op string, body []byte) (any, error) {
	switch op {
	case "DescribeScalableTargets":
		var in aasDescribeInput
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		if in.ServiceNamespace == "" {
			return nil, clientErr("ValidationException", "ServiceNamespace is required")
		}
		out := []ScalableTarget{}
		for _, t := range a.targets {
			if t.ServiceNamespace != in.ServiceNamespace || in.ScalableDimension != "" && t.ScalableDimension != in.ScalableDimension {
				continue
			}
			if len(in.ResourceIDs) > 0 && !slices.Contains(in.ResourceIDs, t.ResourceID) {
				continue
			}
			out = append(out, *t)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ScalableTargetARN < out[j].ScalableTargetARN })
		return map[string]any{"ScalableTargets": out}, nil
	case "RegisterScalableTarget":
		var in aasRegisterInput
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		if in.ServiceNamespace == "" || in.ResourceID == "" || in.ScalableDimension == "" {
			return nil, clientErr("ValidationException", "ServiceNamespace, ResourceId and ScalableDimension are required")
		}
		t, exists := a.targets[aasKey(in.ServiceNamespace, in.ResourceID, in.ScalableDimension)]
		if !exists {
			// A new registration needs its capacities; an update changes only what it names.
			if in.MinCapacity == nil || in.MaxCapacity == nil {
				return nil, clientErr("ValidationException", "MinCapacity and MaxCapacity are required to register a new scalable target")
			}
			t = a.register(ScalableTarget{ServiceNamespace: in.ServiceNamespace, ResourceID: in.ResourceID, ScalableDimension: in.ScalableDimension})
		}
		if in.MinCapacity != nil {
			t.MinCapacity = *in.MinCapacity
		}
		if in.MaxCapacity != nil {
			t.MaxCapacity = *in.MaxCapacity
		}
		if t.MinCapacity > t.MaxCapacity {
			return nil, clientErr("ValidationException", "MinCapacity must not exceed MaxCapacity")
		}
		if in.RoleARN != "" {
			t.RoleARN = in.RoleARN
		}
		if s := in.SuspendedState; s != nil {
			setIf(&t.SuspendedState.DynamicScalingInSuspended, s.In)
			setIf(&t.SuspendedState.DynamicScalingOutSuspended, s.Out)
			setIf(&t.SuspendedState.ScheduledScalingSuspended, s.Scheduled)
		}
		return map[string]any{"ScalableTargetARN": t.ScalableTargetARN}, nil
	}
	return nil, clientErr("UnknownOperationException", "the Application Auto Scaling fake does not serve %s", op)
}

func setIf(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}
