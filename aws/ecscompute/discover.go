package ecscompute

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
)

var (
	_ bluegreen.Discoverer    = (*Compute)(nil)
	_ bluegreen.PrimarySetter = (*Compute)(nil)
)

// Discover returns the task sets of service's ECS service, whoever created
// them, as environments: it implements bluegreen.Discoverer, so that a first
// deployment onto a service that already serves traffic adopts what serves
// it as blue.
//
// Each PRIMARY or ACTIVE task set is reported, and each DRAINING one that
// still has tasks running; Found.Primary marks the PRIMARY one. A task set's
// slot is the slot whose target group it registers its tasks in. Its
// Revision's Name is its task definition's family:revision, and its Spec
// the task definition, launch type or capacity provider strategy, platform
// version and network configuration it runs with. Its DeploymentID is the
// key that Status, ScaleDown and SetPrimary find it by again:
//
//   - its external id, when it has one that no other task set in the same
//     target group has: the deployment id, for a task set this package
//     created;
//   - otherwise its task-set id ("ecs-svc/…"), unique by construction.
//
// A task set that is not draining and registers in neither slot's target
// group (or in both, or in none) cannot be placed in a slot: Discover
// returns a *TaskSetSlotError naming it, with CodeFailedPrecondition, and
// reports nothing, so the Deployer refuses before acting.
func (c *Compute) Discover(ctx context.Context, service string) ([]bluegreen.Found, error) {
	s, ok := c.services[service]
	if !ok {
		return nil, &bluegreen.ConfigError{Field: "service", Problem: fmt.Sprintf("no ECS service configured for %q", service),
			Fix: "add it to ecscompute.Options.Services"}
	}
	svc, err := c.describeService(ctx, s)
	if err != nil {
		return nil, err
	}
	type placed struct {
		ts   *ecstypes.TaskSet
		slot bluegreen.Slot
	}
	var sets []placed
	for i := range svc.TaskSets {
		ts := &svc.TaskSets[i]
		draining := aws.ToString(ts.Status) == statusDraining
		if draining && ts.RunningCount == 0 {
			continue // gone but for its record
		}
		inA, inB := inTargetGroup(*ts, s.TargetGroupA), inTargetGroup(*ts, s.TargetGroupB)
		switch {
		case inA && !inB:
			sets = append(sets, placed{ts, bluegreen.SlotA})
		case inB && !inA:
			sets = append(sets, placed{ts, bluegreen.SlotB})
		case draining:
			// Being deleted, in no slot of ours: it takes no part.
		default:
			return nil, bluegreen.NewError(bluegreen.CodeFailedPrecondition, slotError(s, service, *ts, inA && inB))
		}
	}
	slices.SortStableFunc(sets, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.slot, b.slot), aws.ToTime(a.ts.CreatedAt).Compare(aws.ToTime(b.ts.CreatedAt)))
	})
	found := make([]bluegreen.Found, 0, len(sets))
	for _, p := range sets {
		env := bluegreen.Environment{Service: service, Slot: p.slot, Revision: revisionOf(*p.ts), DeploymentID: adoptedID(s, svc.TaskSets, *p.ts)}
		st, err := c.status(ctx, s, p.slot, p.ts)
		if err != nil {
			return nil, err
		}
		found = append(found, bluegreen.Found{Environment: env, Status: st, Primary: aws.ToString(p.ts.Status) == statusPrimary})
	}
	return found, nil
}

// adoptedID returns the DeploymentID that identifies ts among sets (see
// Discover): its external id if no other task set of its target groups
// carries it, else its task-set id.
func adoptedID(s Service, sets []ecstypes.TaskSet, ts ecstypes.TaskSet) string {
	ext, id := aws.ToString(ts.ExternalId), aws.ToString(ts.Id)
	if ext == "" {
		return id
	}
	for _, other := range sets {
		if aws.ToString(other.Id) == id || aws.ToString(other.ExternalId) != ext {
			continue
		}
		for _, tg := range []string{s.TargetGroupA, s.TargetGroupB} {
			if inTargetGroup(ts, tg) && inTargetGroup(other, tg) {
				return id
			}
		}
	}
	return ext
}

// revisionOf rebuilds the revision a task set runs: named by its task
// definition's family:revision, with a Spec that ParseSpec accepts.
func revisionOf(ts ecstypes.TaskSet) bluegreen.Revision {
	taskDef := aws.ToString(ts.TaskDefinition)
	name := taskDef
	if _, after, ok := strings.Cut(taskDef, ":task-definition/"); ok {
		name = after
	}
	if strings.TrimSpace(name) == "" {
		// ECS always reports a task definition; name the task set instead
		// rather than return a revision without a name.
		return bluegreen.Revision{Name: cmp.Or(strings.TrimSpace(aws.ToString(ts.Id)), "task set without a task definition")}
	}
	spec := Spec{TaskDefinition: taskDef, PlatformVersion: aws.ToString(ts.PlatformVersion)}
	for _, c := range ts.CapacityProviderStrategy {
		spec.CapacityProviderStrategy = append(spec.CapacityProviderStrategy, CapacityProvider{
			CapacityProvider: aws.ToString(c.CapacityProvider), Weight: c.Weight, Base: c.Base})
	}
	if len(spec.CapacityProviderStrategy) == 0 {
		// ECS reports one or the other; a spec takes at most one.
		spec.LaunchType = string(ts.LaunchType)
	}
	if n := ts.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil && len(n.AwsvpcConfiguration.Subnets) > 0 {
		v := n.AwsvpcConfiguration
		spec.NetworkConfiguration = &NetworkConfiguration{AwsvpcConfiguration: &AwsvpcConfiguration{
			Subnets: v.Subnets, SecurityGroups: v.SecurityGroups, AssignPublicIP: string(v.AssignPublicIp)}}
	}
	rev := bluegreen.Revision{Name: name}
	body, err := json.Marshal(spec)
	if err != nil {
		return rev
	}
	rev.Spec = body
	if _, err := ParseSpec(rev); err != nil {
		// ECS reported something a Spec cannot say (a launch type this
		// package does not know, say): the name alone identifies it.
		rev.Spec = nil
	}
	return rev
}

// TaskSetSlotError reports a task set of a service that cannot be placed in
// one slot: it registers its tasks in neither of the service's two target
// groups, or in both. Discover returns it, so that a deployment refuses to
// start rather than guess what serves production. Its code is
// bluegreen.CodeFailedPrecondition.
type TaskSetSlotError struct {
	// Service is the bluegreen service name, Cluster and ECSService where
	// its ECS service runs.
	Service, Cluster, ECSService string
	// TaskSet is the task set's ARN (or id), Status its status, and
	// TaskDefinition what it runs.
	TaskSet, Status, TaskDefinition string
	// TargetGroups are the target groups the task set registers in.
	TargetGroups []string
	// Both is set when it registers in both slots' target groups.
	Both bool
}

func (e *TaskSetSlotError) Error() string {
	where := "no load balancer target group"
	if len(e.TargetGroups) > 0 {
		where = "target group " + strings.Join(e.TargetGroups, ", ")
	}
	problem := "which is neither TargetGroupA nor TargetGroupB"
	if e.Both {
		problem = "which are both slots' target groups at once"
	}
	return fmt.Sprintf("ecscompute: task set %s (%s, task definition %s) of ECS service %s in cluster %s registers in %s, %s of ecscompute.Options.Services[%q], "+
		"so it is in no slot and a deployment cannot tell what serves production: delete the task set, or recreate it in one of the two target groups, "+
		"or set TargetGroupA and TargetGroupB to the target groups the service uses",
		e.TaskSet, e.Status, e.TaskDefinition, e.ECSService, e.Cluster, where, problem, e.Service)
}

func slotError(s Service, service string, ts ecstypes.TaskSet, both bool) *TaskSetSlotError {
	e := &TaskSetSlotError{Service: service, Cluster: s.Cluster, ECSService: s.Name, TaskSet: cmp.Or(aws.ToString(ts.TaskSetArn), aws.ToString(ts.Id)),
		Status: aws.ToString(ts.Status), TaskDefinition: aws.ToString(ts.TaskDefinition), Both: both}
	for _, lb := range ts.LoadBalancers {
		if tg := aws.ToString(lb.TargetGroupArn); tg != "" {
			e.TargetGroups = append(e.TargetGroups, tg)
		}
	}
	return e
}
