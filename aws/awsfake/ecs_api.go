package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ecsExternalOnly is ECS's message for task-set calls on a service whose
// deployment controller is not EXTERNAL.
const ecsExternalOnly = "Amazon ECS only supports task set management on services configured to use external deployment controllers."

// serve runs one ECS operation and returns its output.
func (e *ECS) serve(op string, r *http.Request) (any, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	decode := func(v any) error {
		if len(body) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, v); err != nil {
			return clientErr("SerializationException", "cannot decode %s request: %v", op, err)
		}
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch op {
	case "CreateService":
		var in ecsCreateServiceInput
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opCreateService(in)
	case "DescribeServices":
		var in ecsDescribeServicesInput
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opDescribeServices(in)
	case "CreateTaskSet":
		var in ecsCreateTaskSetInput
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opCreateTaskSet(in)
	case "DescribeTaskSets":
		var in ecsDescribeTaskSetsInput
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opDescribeTaskSets(in)
	case "UpdateTaskSet", "DeleteTaskSet", "UpdateServicePrimaryTaskSet":
		var in ecsTaskSetRef
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opTaskSet(op, in)
	case "ListTasks":
		var in ecsListTasksInput
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opListTasks(in)
	case "DescribeTasks":
		var in ecsDescribeTasksInput
		if err := decode(&in); err != nil {
			return nil, err
		}
		return e.opDescribeTasks(in)
	}
	if out, ok, err := e.serveDeployments(op, decode); ok {
		return out, err
	}
	return nil, clientErr("UnknownOperationException", "the ECS fake does not serve %s", op)
}

func (e *ECS) opCreateService(in ecsCreateServiceInput) (any, error) {
	s := ECSService{Cluster: lastPart(in.Cluster), Name: in.ServiceName, DesiredCount: in.DesiredCount, LaunchType: in.LaunchType}
	if in.DeploymentController != nil {
		s.DeploymentController = in.DeploymentController.Type
	}
	svc, err := e.createService(s)
	if err != nil {
		return nil, err
	}
	svc.taskDef, svc.lbs = in.TaskDefinition, in.LoadBalancers
	return map[string]any{"service": e.serviceView(svc)}, nil
}

func (e *ECS) serviceView(svc *ecsService) ecsWireService {
	now := e.opts.Now()
	e.expire(svc, now)
	out := ecsWireService{ServiceArn: svc.arn(), ServiceName: svc.name, ClusterArn: clusterARN(svc.cluster), Status: "ACTIVE",
		DesiredCount: svc.desired, LaunchType: svc.launchType, TaskDefinition: svc.taskDef,
		DeploymentController: ecsDeploymentController{Type: svc.controller}, LoadBalancers: svc.lbs, CreatedAt: epoch(svc.created)}
	for _, ts := range svc.taskSets {
		w := e.view(svc, ts, now)
		out.RunningCount += w.RunningCount
		out.PendingCount += w.PendingCount
		out.TaskSets = append(out.TaskSets, w)
		if ts.status == "PRIMARY" {
			out.TaskDefinition = w.TaskDefinition
		}
	}
	return out
}

func (e *ECS) opDescribeServices(in ecsDescribeServicesInput) (any, error) {
	cluster := lastPart(in.Cluster)
	if cluster == "" {
		cluster = "default"
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, clientErr("InvalidParameterException", "services must name between 1 and 10 services")
	}
	if !e.clusterExists(cluster) {
		return nil, clientErr("ClusterNotFoundException", "Cluster not found.")
	}
	services, failures := []ecsWireService{}, []ecsFailure{}
	for _, name := range in.Services {
		svc, ok := e.services[cluster+"/"+lastPart(name)]
		if !ok {
			failures = append(failures, ecsFailure{Arn: fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", fakeRegion, fakeAccount, cluster, lastPart(name)), Reason: "MISSING"})
			continue
		}
		services = append(services, e.serviceView(svc))
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

// externalService returns the service a task-set call names, which must use
// the EXTERNAL deployment controller.
func (e *ECS) externalService(cluster, service string) (*ecsService, error) {
	if service == "" || cluster == "" {
		return nil, clientErr("InvalidParameterException", "cluster and service are required")
	}
	svc, err := e.service(cluster, service)
	if err != nil {
		return nil, err
	}
	if svc.controller != "EXTERNAL" {
		return nil, clientErr("InvalidParameterException", ecsExternalOnly)
	}
	return svc, nil
}

func (e *ECS) opCreateTaskSet(in ecsCreateTaskSetInput) (any, error) {
	svc, err := e.externalService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, clientErr("InvalidParameterException", "taskDefinition is required")
	}
	if len(in.ClientToken) > 36 {
		return nil, clientErr("InvalidParameterException", "clientToken must be at most 36 characters")
	}
	if in.LaunchType != "" && len(in.CapacityProviderStrategy) > 0 {
		return nil, clientErr("InvalidParameterException", "Specifying both a launch type and capacity provider strategy is not supported.")
	}
	scale := 100.0
	if in.Scale != nil {
		if in.Scale.Unit != "" && in.Scale.Unit != "PERCENT" || in.Scale.Value < 0 || in.Scale.Value > 100 {
			return nil, clientErr("InvalidParameterException", "scale must be a PERCENT between 0 and 100")
		}
		scale = in.Scale.Value
	}
	now := e.opts.Now()
	tokenKey := svc.cluster + "/" + svc.name + "/" + in.ClientToken
	if in.ClientToken != "" {
		if ts, ok := e.tokens[tokenKey]; ok && ts.status != "DRAINING" && e.findTaskSet(svc, ts.wire.ID) != nil {
			// ECS answers a retried call with the task set the first call created.
			if ts.wire.TaskDefinition != in.TaskDefinition || ts.wire.ExternalID != in.ExternalID {
				return nil, clientErr("InvalidParameterException", "clientToken %q was used with different parameters", in.ClientToken)
			}
			return map[string]any{"taskSet": e.view(svc, ts, now)}, nil
		}
	}
	e.seq++
	id := fmt.Sprintf("ecs-svc/%019d", 4000000000000000000+e.seq)
	ts := &ecsTaskSet{seq: e.seq, scale: scale, status: "ACTIVE", changedAt: now, wire: ecsWireTaskSet{
		ID:                       id,
		TaskSetArn:               fmt.Sprintf("arn:aws:ecs:%s:%s:task-set/%s/%s/%s", fakeRegion, fakeAccount, svc.cluster, svc.name, id),
		ServiceArn:               svc.arn(),
		ClusterArn:               clusterARN(svc.cluster),
		ExternalID:               in.ExternalID,
		TaskDefinition:           in.TaskDefinition,
		CreatedAt:                epoch(now),
		LaunchType:               in.LaunchType,
		CapacityProviderStrategy: in.CapacityProviderStrategy,
		PlatformVersion:          in.PlatformVersion,
		NetworkConfiguration:     in.NetworkConfiguration,
		LoadBalancers:            in.LoadBalancers,
		ServiceRegistries:        in.ServiceRegistries,
		Tags:                     in.Tags,
	}}
	if ts.wire.LaunchType == "" && len(ts.wire.CapacityProviderStrategy) == 0 {
		ts.wire.LaunchType = svc.launchType
	}
	if reason, ok := e.failing[in.TaskDefinition]; ok {
		ts.failReason, ts.failedAt = reason, now
	}
	svc.taskSets = append(svc.taskSets, ts)
	if in.ClientToken != "" {
		e.tokens[tokenKey] = ts
	}
	return map[string]any{"taskSet": e.view(svc, ts, now)}, nil
}

func (e *ECS) opDescribeTaskSets(in ecsDescribeTaskSetsInput) (any, error) {
	svc, err := e.externalService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	now := e.opts.Now()
	e.expire(svc, now)
	sets, failures := []ecsWireTaskSet{}, []ecsFailure{}
	if len(in.TaskSets) == 0 {
		// Without task set IDs, ECS describes every task set of the service.
		for _, ts := range svc.taskSets {
			sets = append(sets, e.view(svc, ts, now))
		}
	}
	for _, ref := range in.TaskSets {
		if ts := e.findTaskSet(svc, ref); ts != nil {
			sets = append(sets, e.view(svc, ts, now))
		} else {
			failures = append(failures, ecsFailure{Arn: ref, Reason: "MISSING"})
		}
	}
	return map[string]any{"taskSets": sets, "failures": failures}, nil
}

// opTaskSet serves UpdateTaskSet, DeleteTaskSet and UpdateServicePrimaryTaskSet.
func (e *ECS) opTaskSet(op string, in ecsTaskSetRef) (any, error) {
	svc, err := e.externalService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	now := e.opts.Now()
	e.expire(svc, now)
	ref := in.TaskSet
	if op == "UpdateServicePrimaryTaskSet" {
		ref = in.PrimaryTaskSet
	}
	ts := e.findTaskSet(svc, ref)
	if ts == nil {
		return nil, clientErr("TaskSetNotFoundException", "The specified task set %s does not exist.", ref)
	}
	if ts.status == "DRAINING" {
		return nil, clientErr("InvalidParameterException", "The task set %s is being deleted.", ref)
	}
	switch op {
	case "UpdateTaskSet":
		if in.Scale == nil || in.Scale.Unit != "" && in.Scale.Unit != "PERCENT" || in.Scale.Value < 0 || in.Scale.Value > 100 {
			return nil, clientErr("InvalidParameterException", "scale must be a PERCENT between 0 and 100")
		}
		if in.Scale.Value != ts.scale {
			e.rescale(svc, ts, in.Scale.Value, now)
		}
	case "DeleteTaskSet":
		if !in.Force && computedDesired(svc.desired, ts.scale) > 0 {
			return nil, clientErr("InvalidParameterException", "The task set must be scaled down to zero before it is deleted, or deleted with force.")
		}
		e.rescale(svc, ts, ts.scale, now)
		ts.status = "DRAINING"
		out := e.view(svc, ts, now)
		e.expire(svc, now)
		return map[string]any{"taskSet": out}, nil
	case "UpdateServicePrimaryTaskSet":
		for _, other := range svc.taskSets {
			if other.status == "PRIMARY" {
				other.status = "ACTIVE"
			}
		}
		ts.status = "PRIMARY"
	}
	return map[string]any{"taskSet": e.view(svc, ts, now)}, nil
}

func (e *ECS) opListTasks(in ecsListTasksInput) (any, error) {
	cluster := lastPart(in.Cluster)
	if cluster == "" {
		cluster = "default"
	}
	if !e.clusterExists(cluster) {
		return nil, clientErr("ClusterNotFoundException", "Cluster not found.")
	}
	if in.StartedBy != "" && in.ServiceName != "" {
		return nil, clientErr("InvalidParameterException", "startedBy must be the only filter")
	}
	want := in.DesiredStatus
	if want == "" {
		want = "RUNNING"
	}
	arns := []string{}
	for _, t := range e.tasks(cluster) {
		if t.DesiredStatus != want || in.StartedBy != "" && t.StartedBy != in.StartedBy ||
			in.ServiceName != "" && t.Group != "service:"+lastPart(in.ServiceName) {
			continue
		}
		arns = append(arns, t.TaskArn)
	}
	limit := in.MaxResults
	if limit <= 0 {
		limit = 100
	}
	arns = arns[:min(len(arns), limit)]
	return map[string]any{"taskArns": arns}, nil
}

func (e *ECS) opDescribeTasks(in ecsDescribeTasksInput) (any, error) {
	cluster := lastPart(in.Cluster)
	if cluster == "" {
		cluster = "default"
	}
	if !e.clusterExists(cluster) {
		return nil, clientErr("ClusterNotFoundException", "Cluster not found.")
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, clientErr("InvalidParameterException", "tasks must name between 1 and 100 tasks")
	}
	byARN := map[string]ecsWireTask{}
	for _, t := range e.tasks(cluster) {
		byARN[t.TaskArn] = t
	}
	tasks, failures := []ecsWireTask{}, []ecsFailure{}
	for _, arn := range in.Tasks {
		if t, ok := byARN[arn]; ok {
			tasks = append(tasks, t)
		} else {
			failures = append(failures, ecsFailure{Arn: arn, Reason: "MISSING"})
		}
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

// tasks lists the tasks of a cluster's task sets: running ones, and for a
// failing task set, one stopped task per desired task, started by the task
// set (its startedBy is the task set ID).
func (e *ECS) tasks(cluster string) []ecsWireTask {
	now := e.opts.Now()
	var out []ecsWireTask
	for _, svc := range e.services {
		if svc.cluster != cluster {
			continue
		}
		e.expire(svc, now)
		for _, ts := range svc.taskSets {
			w := e.view(svc, ts, now)
			short := strings.TrimPrefix(ts.wire.ID, "ecs-svc/")
			mk := func(i int, stopped bool) ecsWireTask {
				t := ecsWireTask{ClusterArn: clusterARN(cluster), TaskDefinitionArn: w.TaskDefinition, Group: "service:" + svc.name,
					StartedBy: w.ID, LastStatus: "RUNNING", DesiredStatus: "RUNNING", LaunchType: w.LaunchType, CreatedAt: epoch(ts.changedAt)}
				t.TaskArn = fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s%04d", fakeRegion, fakeAccount, cluster, short, i)
				if stopped {
					at := epoch(ts.failedAt)
					t.TaskArn += "s"
					t.LastStatus, t.DesiredStatus, t.StopCode, t.StoppedReason, t.StoppedAt = "STOPPED", "STOPPED", "TaskFailedToStart", ts.failReason, &at
				}
				return t
			}
			for i := range w.RunningCount {
				out = append(out, mk(i, false))
			}
			if ts.failReason != "" {
				for i := range max(w.ComputedDesiredCount, 1) {
					out = append(out, mk(i, true))
				}
			}
		}
	}
	return out
}
