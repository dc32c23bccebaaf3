package ecscompute

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/bluegreen-go/bluegreen"
)

// Status reports env's task set: its computed desired count, its running
// count, and how many targets of its slot's target group pass their health
// checks (at most the running count). An environment without a task set
// reports the zero Status; a deleted one that still drains reports Failed
// with its remaining tasks until they are gone. A task set computed at zero
// tasks (the service's desired count is 0, or the task set is scaled to 0%)
// can never become healthy and reports Failed at once, saying which and how
// to fix it. While tasks are missing, Status looks for tasks of the task set
// that failed, and reports Failed once Service.FailedTasks have.
func (c *Compute) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	s, _, ts, err := c.lookup(ctx, env)
	if err != nil {
		return bluegreen.Status{}, err
	}
	if ts == nil {
		return bluegreen.Status{}, nil
	}
	return c.status(ctx, s, env.Slot, ts)
}

// status reports the status of task set ts, registered in slot's target group.
func (c *Compute) status(ctx context.Context, s Service, slot bluegreen.Slot, ts *ecstypes.TaskSet) (bluegreen.Status, error) {
	running := int(ts.RunningCount)
	if aws.ToString(ts.Status) == statusDraining {
		if running == 0 {
			return bluegreen.Status{}, nil
		}
		// Deleted, by ScaleDown or by someone else: it cannot become healthy.
		return bluegreen.Status{Running: running, Failed: true, Reason: fmt.Sprintf("task set %s deleted (DRAINING), %d tasks still running",
			aws.ToString(ts.Id), running)}, nil
	}
	st := bluegreen.Status{Desired: int(ts.ComputedDesiredCount), Running: running}
	var reasons []string
	if st.Desired == 0 {
		st.Failed = true
		reasons = append(reasons, zeroReason(s, ts))
	}
	if running > 0 {
		healthy, why, err := c.healthy(ctx, s.targetGroup(slot))
		if err != nil {
			return bluegreen.Status{}, err
		}
		st.Healthy = min(healthy, running)
		if why != "" {
			reasons = append(reasons, why)
		}
	}
	if running < st.Desired {
		reasons = append(reasons, fmt.Sprintf("%d of %d tasks running (%s)", running, st.Desired, ts.StabilityStatus))
		failed, why, err := c.failedTasks(ctx, s, aws.ToString(ts.Id))
		if err != nil {
			return bluegreen.Status{}, err
		}
		limit := s.FailedTasks
		if limit == 0 {
			limit = max(st.Desired, 1)
		}
		if failed >= limit {
			st.Failed = true
			reasons = append([]string{fmt.Sprintf("%d tasks failed: %s", failed, why)}, reasons...)
		}
	}
	if !st.Ready() {
		st.Reason = strings.Join(reasons, "; ")
	}
	return st, nil
}

// zeroReason says why a task set that is not draining is computed at zero
// tasks, and how to fix it. ECS computes a task set's desired count as the
// service's desired count times the task set's scale, rounded up, so it is
// zero only when one of them is.
func zeroReason(s Service, ts *ecstypes.TaskSet) string {
	id := aws.ToString(ts.Id)
	if ts.Scale != nil && ts.Scale.Value == 0 {
		return fmt.Sprintf("task set %s is scaled to 0%% and runs no tasks, so it can never become healthy: "+
			"it was being scaled down or removed (a rollback, a clean-up, or by hand); scale it back up "+
			"(aws ecs update-task-set --scale unit=PERCENT,value=100) or deploy a new revision", id)
	}
	return fmt.Sprintf("task set %s runs no tasks, so it can never become healthy: %s", id, (&ZeroDesiredError{Cluster: s.Cluster, Service: s.Name}).problem())
}

// healthy counts the healthy targets of a target group and says why the
// first unhealthy one is not.
func (c *Compute) healthy(ctx context.Context, tg string) (int, string, error) {
	out, err := c.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return 0, "", fmt.Errorf("ecscompute: describe target health of %s: %w", tg, err)
	}
	n, why := 0, ""
	for _, d := range out.TargetHealthDescriptions {
		h := d.TargetHealth
		if h == nil {
			continue
		}
		if h.State == elbtypes.TargetHealthStateEnumHealthy {
			n++
			continue
		}
		if why == "" {
			why = fmt.Sprintf("target %s is %s", aws.ToString(d.Target.Id), h.State)
			if h.Reason != "" || h.Description != nil {
				why += fmt.Sprintf(" (%s: %s)", h.Reason, aws.ToString(h.Description))
			}
		}
	}
	return n, why, nil
}

// failedTasks counts the stopped tasks of a task set that failed (to start,
// with an essential container exiting, or on health checks) and returns the
// reason one of them gave. ECS starts a task set's tasks with startedBy set
// to the task set's id.
func (c *Compute) failedTasks(ctx context.Context, s Service, taskSetID string) (int, string, error) {
	list, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(s.Cluster), StartedBy: aws.String(taskSetID),
		DesiredStatus: ecstypes.DesiredStatusStopped, MaxResults: aws.Int32(100)})
	if err != nil {
		return 0, "", fmt.Errorf("ecscompute: list stopped tasks of task set %s: %w", taskSetID, err)
	}
	if len(list.TaskArns) == 0 {
		return 0, "", nil
	}
	out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(s.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return 0, "", fmt.Errorf("ecscompute: describe stopped tasks of task set %s: %w", taskSetID, err)
	}
	n, why := 0, ""
	for _, t := range out.Tasks {
		reason := aws.ToString(t.StoppedReason)
		switch {
		case t.StopCode == ecstypes.TaskStopCodeTaskFailedToStart, t.StopCode == ecstypes.TaskStopCodeEssentialContainerExited,
			strings.Contains(strings.ToLower(reason), "health check"):
		default:
			continue
		}
		n++
		if why == "" {
			why = reason
			if why == "" {
				why = string(t.StopCode)
			}
		}
	}
	return n, why, nil
}
