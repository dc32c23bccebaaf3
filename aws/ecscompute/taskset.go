package ecscompute

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
)

// Task set statuses, as ECS reports them.
const (
	statusPrimary  = "PRIMARY"
	statusActive   = "ACTIVE"
	statusDraining = "DRAINING"
)

// ScaleUp creates env's task set at 100% of the service's desired count,
// unless it exists already. The first task set of a service is made primary.
func (c *Compute) ScaleUp(ctx context.Context, env bluegreen.Environment) error {
	s, err := c.service(env)
	if err != nil {
		return err
	}
	spec, err := ParseSpec(env.Revision)
	if err != nil {
		return err
	}
	svc, err := c.describeService(ctx, s)
	if err != nil {
		return err
	}
	if ts := s.find(svc.TaskSets, env); ts != nil {
		return nil // created by an earlier call
	}
	if other := s.occupant(svc.TaskSets, env.Slot); other != nil {
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, occupiedError(s, env, other))
	}
	if svc.DesiredCount == 0 {
		// A task set is sized from the service's desired count: it would
		// have no tasks and never become healthy.
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, &ZeroDesiredError{Cluster: s.Cluster, Service: s.Name})
	}
	in := &ecs.CreateTaskSetInput{
		Cluster:     aws.String(s.Cluster),
		Service:     aws.String(s.Name),
		ExternalId:  aws.String(env.DeploymentID),
		ClientToken: aws.String(ClientToken(s, env)),
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String(s.targetGroup(env.Slot)),
			ContainerName:  aws.String(s.ContainerName),
			ContainerPort:  aws.Int32(s.ContainerPort),
		}},
		Scale: &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 100},
	}
	spec.apply(in)
	out, err := c.ecs.CreateTaskSet(ctx, in)
	if err != nil {
		return fmt.Errorf("ecscompute: %s: create task set: %w", env, err)
	}
	created := out.TaskSet
	if created == nil {
		return fmt.Errorf("ecscompute: %s: CreateTaskSet returned no task set", env)
	}
	id := aws.ToString(created.Id)
	c.log.InfoContext(ctx, "ecscompute: task set created", "service", env.Service, "slot", env.Slot, "deployment", env.DeploymentID,
		"taskSet", id, "taskDefinition", spec.TaskDefinition)
	if !slices.ContainsFunc(svc.TaskSets, func(ts ecstypes.TaskSet) bool { return aws.ToString(ts.Status) == statusPrimary }) {
		// A service's first task set: nothing else can be primary.
		return c.makePrimary(ctx, s, env, created)
	}
	return nil
}

// occupant returns a task set of another deployment that has tasks (or is
// meant to) in slot's target group: green's traffic would reach its tasks
// too. Draining task sets and task sets scaled to 0% do not count.
func (s Service) occupant(sets []ecstypes.TaskSet, slot bluegreen.Slot) *ecstypes.TaskSet {
	for i := range sets {
		ts := &sets[i]
		if aws.ToString(ts.Status) != statusDraining && inTargetGroup(*ts, s.targetGroup(slot)) && (ts.ComputedDesiredCount > 0 || ts.RunningCount > 0) {
			return ts
		}
	}
	return nil
}

// SlotInUseError reports that green's slot is taken: its target group
// already has a task set of another deployment with tasks, whose tasks
// would take green's traffic (production's, once green has it) beside
// green's own. ScaleUp returns it and creates nothing. Its code is
// bluegreen.CodeFailedPrecondition.
type SlotInUseError struct {
	// Cluster and Service name the ECS service; Slot and TargetGroup the
	// slot green was to run in.
	Cluster, Service string
	Slot             bluegreen.Slot
	TargetGroup      string
	// TaskSet is the other task set's ARN (or id), Status its status,
	// TaskDefinition what it runs and Running its running tasks.
	TaskSet, Status, TaskDefinition string
	Running                         int
}

func (e *SlotInUseError) Error() string {
	return fmt.Sprintf("ecscompute: slot %s of ECS service %s in cluster %s is in use: its target group %s already has task set %s "+
		"(%s, task definition %s, %d tasks running) of another deployment, whose tasks would keep taking the slot's traffic beside green's; "+
		"remove that task set (scale it to 0%% and delete it) or route production to it and deploy into the other slot",
		e.Slot, e.Service, e.Cluster, e.TargetGroup, e.TaskSet, e.Status, e.TaskDefinition, e.Running)
}

func occupiedError(s Service, env bluegreen.Environment, ts *ecstypes.TaskSet) *SlotInUseError {
	ref := aws.ToString(ts.TaskSetArn)
	if ref == "" {
		ref = aws.ToString(ts.Id)
	}
	return &SlotInUseError{Cluster: s.Cluster, Service: s.Name, Slot: env.Slot, TargetGroup: s.targetGroup(env.Slot),
		TaskSet: ref, Status: aws.ToString(ts.Status), TaskDefinition: aws.ToString(ts.TaskDefinition), Running: int(ts.RunningCount)}
}

// describeService reads the service and checks that its task sets can be
// managed.
func (c *Compute) describeService(ctx context.Context, s Service) (*ecstypes.Service, error) {
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.Cluster), Services: []string{s.Name}})
	if err != nil {
		return nil, fmt.Errorf("ecscompute: describe service %s: %w", s.Name, err)
	}
	if len(out.Services) == 0 {
		reason := "MISSING"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return nil, bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("ecscompute: ECS service %s in cluster %s: %s", s.Name, s.Cluster, reason))
	}
	svc := out.Services[0]
	if st := aws.ToString(svc.Status); st != "ACTIVE" {
		return nil, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("ecscompute: ECS service %s in cluster %s is %s, not ACTIVE", s.Name, s.Cluster, st))
	}
	controller := ecstypes.DeploymentControllerTypeEcs
	if svc.DeploymentController != nil {
		controller = svc.DeploymentController.Type
	}
	if controller != ecstypes.DeploymentControllerTypeExternal {
		return nil, bluegreen.NewError(bluegreen.CodeFailedPrecondition, &NotExternalError{Cluster: s.Cluster, Service: s.Name, Controller: string(controller)})
	}
	return &svc, nil
}

// taskSets reads every task set of the service.
func (c *Compute) taskSets(ctx context.Context, s Service) ([]ecstypes.TaskSet, error) {
	out, err := c.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: aws.String(s.Cluster), Service: aws.String(s.Name)})
	if err != nil {
		return nil, fmt.Errorf("ecscompute: describe task sets of %s: %w", s.Name, err)
	}
	return out.TaskSets, nil
}

// lookup finds env's service configuration, the service's task sets, and
// env's task set among them (nil if it has none).
func (c *Compute) lookup(ctx context.Context, env bluegreen.Environment) (Service, []ecstypes.TaskSet, *ecstypes.TaskSet, error) {
	s, err := c.service(env)
	if err != nil {
		return Service{}, nil, nil, err
	}
	sets, err := c.taskSets(ctx, s)
	if err != nil {
		return Service{}, nil, nil, err
	}
	return s, sets, s.find(sets, env), nil
}

// find returns env's task set among sets, among those registered in the
// slot's target group: the one whose task-set id or ARN is the deployment id
// (an adopted task set, see Discover), or else the one whose external id is
// the deployment id, preferring one that is not draining.
func (s Service) find(sets []ecstypes.TaskSet, env bluegreen.Environment) *ecstypes.TaskSet {
	tg := s.targetGroup(env.Slot)
	var found *ecstypes.TaskSet
	for i := range sets {
		ts := &sets[i]
		if !inTargetGroup(*ts, tg) {
			continue
		}
		if aws.ToString(ts.Id) == env.DeploymentID || aws.ToString(ts.TaskSetArn) == env.DeploymentID {
			return ts
		}
		if aws.ToString(ts.ExternalId) != env.DeploymentID {
			continue
		}
		if found == nil || aws.ToString(found.Status) == statusDraining && aws.ToString(ts.Status) != statusDraining {
			found = ts
		}
	}
	return found
}

func inTargetGroup(ts ecstypes.TaskSet, tg string) bool {
	return slices.ContainsFunc(ts.LoadBalancers, func(lb ecstypes.LoadBalancer) bool { return aws.ToString(lb.TargetGroupArn) == tg })
}

// ScaleDown scales env's task set to zero and deletes it. If env's task set
// is still primary and the other slot has a task set running, that one is
// made primary first, so the service is never left without a primary task
// set while one runs (the Deployer has normally called SetPrimary with
// green before CLEAN_UP removes blue). A task set that is gone or draining
// is already scaled down.
func (c *Compute) ScaleDown(ctx context.Context, env bluegreen.Environment) error {
	s, sets, ts, err := c.lookup(ctx, env)
	if err != nil {
		return err
	}
	if ts == nil || aws.ToString(ts.Status) == statusDraining {
		return nil
	}
	id := aws.ToString(ts.Id)
	if aws.ToString(ts.Status) == statusPrimary {
		if next := s.successor(sets, env); next != nil {
			if err := c.makePrimary(ctx, s, env, next); err != nil {
				return err
			}
		}
	}
	if ts.Scale == nil || ts.Scale.Value > 0 {
		_, err := c.ecs.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: aws.String(s.Cluster), Service: aws.String(s.Name), TaskSet: aws.String(id),
			Scale: &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 0}})
		if gone(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ecscompute: %s: scale task set %s to 0: %w", env, id, err)
		}
	}
	_, err = c.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: aws.String(s.Cluster), Service: aws.String(s.Name), TaskSet: aws.String(id)})
	if err != nil && !gone(err) {
		return fmt.Errorf("ecscompute: %s: delete task set %s: %w", env, id, err)
	}
	c.log.InfoContext(ctx, "ecscompute: task set deleted", "service", env.Service, "slot", env.Slot, "deployment", env.DeploymentID, "taskSet", id)
	return nil
}

// successor returns the task set to make primary when env's leaves: the
// newest running task set in the other slot.
func (s Service) successor(sets []ecstypes.TaskSet, env bluegreen.Environment) *ecstypes.TaskSet {
	var next *ecstypes.TaskSet
	for i := range sets {
		ts := &sets[i]
		if aws.ToString(ts.Status) != statusActive || !inTargetGroup(*ts, s.targetGroup(env.Slot.Other())) {
			continue
		}
		if next == nil || aws.ToTime(ts.CreatedAt).After(aws.ToTime(next.CreatedAt)) {
			next = ts
		}
	}
	return next
}

// SetPrimary makes env's task set the service's primary task set
// (UpdateServicePrimaryTaskSet, naming the task set by its ARN). It
// implements bluegreen.PrimarySetter: the Deployer calls it with green in
// CLEAN_UP before blue is removed, and with blue in a rollback that had made
// green primary. It is idempotent: a task set that is primary already is
// left alone, without a call. An environment without a running task set is
// an error with CodeNotFound.
func (c *Compute) SetPrimary(ctx context.Context, env bluegreen.Environment) error {
	s, _, ts, err := c.lookup(ctx, env)
	if err != nil {
		return err
	}
	if ts == nil || aws.ToString(ts.Status) == statusDraining {
		return bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("ecscompute: %s (deployment %s) has no running task set to make primary", env, env.DeploymentID))
	}
	if aws.ToString(ts.Status) == statusPrimary {
		return nil
	}
	return c.makePrimary(ctx, s, env, ts)
}

// makePrimary makes ts the service's primary task set. It names the task
// set by its ARN: the API takes the id or the ARN, and emulators differ in
// which they accept.
func (c *Compute) makePrimary(ctx context.Context, s Service, env bluegreen.Environment, ts *ecstypes.TaskSet) error {
	ref := aws.ToString(ts.TaskSetArn)
	if ref == "" {
		ref = aws.ToString(ts.Id)
	}
	_, err := c.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{
		Cluster: aws.String(s.Cluster), Service: aws.String(s.Name), PrimaryTaskSet: aws.String(ref)})
	if err != nil {
		return fmt.Errorf("ecscompute: %s: make task set %s primary: %w", env, aws.ToString(ts.Id), err)
	}
	c.log.InfoContext(ctx, "ecscompute: primary task set changed", "service", env.Service, "slot", env.Slot, "taskSet", aws.ToString(ts.Id))
	return nil
}

// gone reports whether err says the task set does not exist (any more).
func gone(err error) bool {
	var nf *ecstypes.TaskSetNotFoundException
	return errors.As(err, &nf)
}
