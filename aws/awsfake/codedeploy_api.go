package awsfake

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// codeDeployPrefix is the X-Amz-Target prefix of CodeDeploy.
const codeDeployPrefix = "CodeDeploy_20141006"

// ServeHTTP serves the CodeDeploy JSON 1.1 API.
func (f *CodeDeploy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := rpc11Accept(w, r, codeDeployPrefix, &f.Faults)
	if !ok {
		return
	}
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rpc11Error(w, Fault{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()})
		return
	}
	f.mu.Lock()
	out, err := f.serve(op, body)
	f.mu.Unlock()
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			rpc11Error(w, ae.Fault)
		} else {
			rpc11Error(w, Fault{Status: http.StatusBadRequest, Code: "InvalidInputException", Message: err.Error()})
		}
		return
	}
	rpc11Reply(w, out)
}

type cdRevision struct {
	RevisionType   string `json:"revisionType"`
	AppSpecContent *struct {
		Content string `json:"content"`
		Sha256  string `json:"sha256,omitempty"`
	} `json:"appSpecContent,omitempty"`
}

type cdError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

type cdRollbackInfo struct {
	RollbackDeploymentID           string `json:"rollbackDeploymentId,omitempty"`
	RollbackTriggeringDeploymentID string `json:"rollbackTriggeringDeploymentId,omitempty"`
	RollbackMessage                string `json:"rollbackMessage,omitempty"`
}

type cdDeploymentInfo struct {
	DeploymentID                       string          `json:"deploymentId"`
	ApplicationName                    string          `json:"applicationName"`
	DeploymentGroupName                string          `json:"deploymentGroupName"`
	DeploymentConfigName               string          `json:"deploymentConfigName"`
	Status                             string          `json:"status"`
	Description                        string          `json:"description,omitempty"`
	Creator                            string          `json:"creator"`
	ComputePlatform                    string          `json:"computePlatform"`
	CreateTime                         epoch           `json:"createTime"`
	CompleteTime                       *epoch          `json:"completeTime,omitempty"`
	ErrorInformation                   *cdError        `json:"errorInformation,omitempty"`
	RollbackInfo                       *cdRollbackInfo `json:"rollbackInfo,omitempty"`
	InstanceTerminationWaitTimeStarted bool            `json:"instanceTerminationWaitTimeStarted"`
}

type cdLifecycleEvent struct {
	LifecycleEventName string `json:"lifecycleEventName"`
	Status             string `json:"status"`
	StartTime          *epoch `json:"startTime,omitempty"`
	EndTime            *epoch `json:"endTime,omitempty"`
}

type cdTaskSet struct {
	Identifer     string  `json:"identifer"`
	DesiredCount  int     `json:"desiredCount"`
	RunningCount  int     `json:"runningCount"`
	Status        string  `json:"status"`
	TrafficWeight float64 `json:"trafficWeight"`
	TaskSetLabel  string  `json:"taskSetLabel"`
}

// appSpecJSON is the part of a JSON AppSpec the fake reads.
type appSpecJSON struct {
	Resources []map[string]struct {
		Type       string `json:"Type"`
		Properties struct {
			TaskDefinition   string `json:"TaskDefinition"`
			LoadBalancerInfo struct {
				ContainerName string `json:"ContainerName"`
				ContainerPort any    `json:"ContainerPort"`
			} `json:"LoadBalancerInfo"`
		} `json:"Properties"`
	} `json:"Resources"`
	Hooks []map[string]string `json:"Hooks"`
}

// parseAppSpecContent reads an ECS AppSpec in JSON (the fake does not read YAML).
func parseAppSpecContent(content string) (taskDef string, hooks map[string]string, err error) {
	var a appSpecJSON
	if err := json.Unmarshal([]byte(content), &a); err != nil {
		return "", nil, clientErr("InvalidRevisionException", "the AppSpec content is not JSON the fake reads: %v", err)
	}
	for _, res := range a.Resources {
		for _, ts := range res {
			if ts.Type != "AWS::ECS::Service" {
				return "", nil, clientErr("InvalidRevisionException", "resource type %q is not AWS::ECS::Service", ts.Type)
			}
			taskDef = ts.Properties.TaskDefinition
			if ts.Properties.LoadBalancerInfo.ContainerName == "" || ts.Properties.LoadBalancerInfo.ContainerPort == nil {
				return "", nil, clientErr("InvalidRevisionException", "LoadBalancerInfo needs ContainerName and ContainerPort")
			}
		}
	}
	if taskDef == "" {
		return "", nil, clientErr("InvalidRevisionException", "the AppSpec names no TaskDefinition")
	}
	hooks = map[string]string{}
	for _, h := range a.Hooks {
		for ev, fn := range h {
			switch ev {
			case "BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic":
				hooks[ev] = fn
			default:
				return "", nil, clientErr("InvalidRevisionException", "%s is not a lifecycle event hook of an ECS deployment", ev)
			}
		}
	}
	return taskDef, hooks, nil
}

func (f *CodeDeploy) deployment(id string) (*cdDeployment, error) {
	if id == "" {
		return nil, clientErr("DeploymentIdRequiredException", "deploymentId is required")
	}
	d := f.find(id)
	if d == nil {
		return nil, clientErr("DeploymentDoesNotExistException", "The deployment %s could not be found", id)
	}
	f.advance(d, f.opts.Now())
	return d, nil
}

func (f *CodeDeploy) serve(op string, body json.RawMessage) (any, error) {
	switch op {
	case "CreateDeployment":
		var in struct {
			ApplicationName           string      `json:"applicationName"`
			DeploymentGroupName       string      `json:"deploymentGroupName"`
			DeploymentConfigName      string      `json:"deploymentConfigName"`
			Description               string      `json:"description"`
			Revision                  *cdRevision `json:"revision"`
			AutoRollbackConfiguration *struct {
				Enabled bool     `json:"enabled"`
				Events  []string `json:"events"`
			} `json:"autoRollbackConfiguration"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		if !f.apps[in.ApplicationName] {
			return nil, clientErr("ApplicationDoesNotExistException", "No application found for name: %s", in.ApplicationName)
		}
		g := f.groups[in.ApplicationName+"/"+in.DeploymentGroupName]
		if g == nil {
			return nil, clientErr("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: %s", in.DeploymentGroupName)
		}
		if in.Revision == nil || in.Revision.RevisionType != "AppSpecContent" || in.Revision.AppSpecContent == nil {
			return nil, clientErr("InvalidRevisionException", "an ECS deployment's revision must be AppSpecContent")
		}
		taskDef, hooks, err := parseAppSpecContent(in.Revision.AppSpecContent.Content)
		if err != nil {
			return nil, err
		}
		config := in.DeploymentConfigName
		if config == "" {
			config = g.DeploymentConfigName
		}
		routing, ok := f.routing(config)
		if !ok {
			return nil, clientErr("DeploymentConfigDoesNotExistException", "No deployment configuration found for name: %s", config)
		}
		now := f.opts.Now()
		for _, d := range f.deployments {
			if f.advance(d, now); d.group == g && !d.done() {
				return nil, clientErr("DeploymentLimitExceededException", "The Deployment Group '%s' already has an active Deployment '%s'", g.Name, d.id)
			}
		}
		rollback := in.AutoRollbackConfiguration != nil && in.AutoRollbackConfiguration.Enabled
		d := f.newDeploymentLocked(g, config, routing, in.Description, taskDef, hooks, rollback)
		return map[string]string{"deploymentId": d.id}, nil

	case "GetDeployment":
		var in struct {
			DeploymentID string `json:"deploymentId"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		d, err := f.deployment(in.DeploymentID)
		if err != nil {
			return nil, err
		}
		info := cdDeploymentInfo{DeploymentID: d.id, ApplicationName: d.app, DeploymentGroupName: d.group.Name, DeploymentConfigName: d.config,
			Status: d.status, Description: d.description, Creator: d.creator, ComputePlatform: "ECS", CreateTime: epoch(d.created),
			InstanceTerminationWaitTimeStarted: d.termWaitStarted}
		if !d.completed.IsZero() {
			c := epoch(d.completed)
			info.CompleteTime = &c
		}
		if d.errCode != "" {
			info.ErrorInformation = &cdError{Code: d.errCode, Message: d.errMessage}
		}
		if d.rollbackID != "" {
			info.RollbackInfo = &cdRollbackInfo{RollbackDeploymentID: d.rollbackID, RollbackMessage: d.rollbackMessage}
		} else if d.rollbackOf != "" {
			info.RollbackInfo = &cdRollbackInfo{RollbackTriggeringDeploymentID: d.rollbackOf}
		}
		return map[string]any{"deploymentInfo": info}, nil

	case "ListDeployments":
		var in struct {
			ApplicationName     string   `json:"applicationName"`
			DeploymentGroupName string   `json:"deploymentGroupName"`
			IncludeOnlyStatuses []string `json:"includeOnlyStatuses"`
			CreateTimeRange     *struct {
				Start *epoch `json:"start"`
				End   *epoch `json:"end"`
			} `json:"createTimeRange"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		if in.DeploymentGroupName != "" && in.ApplicationName == "" {
			return nil, clientErr("ApplicationNameRequiredException", "applicationName is required with deploymentGroupName")
		}
		if in.ApplicationName != "" && !f.apps[in.ApplicationName] {
			return nil, clientErr("ApplicationDoesNotExistException", "No application found for name: %s", in.ApplicationName)
		}
		if in.DeploymentGroupName != "" && f.groups[in.ApplicationName+"/"+in.DeploymentGroupName] == nil {
			return nil, clientErr("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: %s", in.DeploymentGroupName)
		}
		start := 0
		if in.NextToken != "" {
			n, err := strconv.Atoi(in.NextToken)
			if err != nil || n < 0 {
				return nil, clientErr("InvalidNextTokenException", "invalid nextToken")
			}
			start = n
		}
		now := f.opts.Now()
		var ids []string
		for _, d := range f.deployments {
			f.advance(d, now)
			switch {
			case in.ApplicationName != "" && d.app != in.ApplicationName,
				in.DeploymentGroupName != "" && d.group.Name != in.DeploymentGroupName,
				len(in.IncludeOnlyStatuses) > 0 && !slices.Contains(in.IncludeOnlyStatuses, d.status),
				in.CreateTimeRange != nil && in.CreateTimeRange.Start != nil && d.created.Before(time.Time(*in.CreateTimeRange.Start)),
				in.CreateTimeRange != nil && in.CreateTimeRange.End != nil && d.created.After(time.Time(*in.CreateTimeRange.End)):
				continue
			}
			ids = append(ids, d.id)
		}
		const page = 100
		out := map[string]any{"deployments": []string{}}
		if start < len(ids) {
			end := min(start+page, len(ids))
			out["deployments"] = ids[start:end]
			if end < len(ids) {
				out["nextToken"] = strconv.Itoa(end)
			}
		}
		return out, nil

	case "ListDeploymentTargets":
		var in struct {
			DeploymentID string `json:"deploymentId"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		d, err := f.deployment(in.DeploymentID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"targetIds": []string{d.group.Cluster + ":" + d.group.Service}}, nil

	case "GetDeploymentTarget":
		var in struct {
			DeploymentID string `json:"deploymentId"`
			TargetID     string `json:"targetId"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		d, err := f.deployment(in.DeploymentID)
		if err != nil {
			return nil, err
		}
		if in.TargetID != d.group.Cluster+":"+d.group.Service {
			return nil, clientErr("DeploymentTargetDoesNotExistException", "target %s is not in deployment %s", in.TargetID, d.id)
		}
		var events []cdLifecycleEvent
		for _, e := range d.events {
			le := cdLifecycleEvent{LifecycleEventName: e.name, Status: e.status}
			if !e.start.IsZero() {
				s := epoch(e.start)
				le.StartTime = &s
			}
			if !e.end.IsZero() {
				s := epoch(e.end)
				le.EndTime = &s
			}
			events = append(events, le)
		}
		status := d.status
		if status == "Stopped" {
			status = "Failed"
		}
		target := map[string]any{
			"deploymentId":    d.id,
			"targetId":        in.TargetID,
			"targetArn":       "arn:aws:ecs:" + fakeRegion + ":" + fakeAccount + ":service/" + d.group.Cluster + "/" + d.group.Service,
			"status":          status,
			"lifecycleEvents": events,
			"taskSetsInfo": []cdTaskSet{
				{Identifer: "ecs-svc/blue", DesiredCount: 1, RunningCount: 1, Status: "PRIMARY", TrafficWeight: 100 - d.green, TaskSetLabel: "Blue"},
				{Identifer: "ecs-svc/green", DesiredCount: 1, RunningCount: 1, Status: "ACTIVE", TrafficWeight: d.green, TaskSetLabel: "Green"},
			},
		}
		return map[string]any{"deploymentTarget": map[string]any{"deploymentTargetType": "ECSTarget", "ecsTarget": target}}, nil

	case "ContinueDeployment":
		var in struct {
			DeploymentID       string `json:"deploymentId"`
			DeploymentWaitType string `json:"deploymentWaitType"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		d, err := f.deployment(in.DeploymentID)
		if err != nil {
			return nil, err
		}
		want := phaseReadyWait
		switch in.DeploymentWaitType {
		case "", "READY_WAIT":
		case "TERMINATION_WAIT":
			want = phaseTermWait
		default:
			return nil, clientErr("InvalidDeploymentWaitTypeException", "invalid deploymentWaitType %q", in.DeploymentWaitType)
		}
		if d.done() {
			return nil, clientErr("DeploymentAlreadyCompletedException", "The deployment %s has already completed", d.id)
		}
		if d.phases[d.idx].kind != want {
			return nil, clientErr("DeploymentIsNotInReadyStateException", "The deployment %s is not waiting (%s)", d.id, in.DeploymentWaitType)
		}
		f.finish(d, f.opts.Now(), false)
		return map[string]any{}, nil

	case "StopDeployment":
		var in struct {
			DeploymentID        string `json:"deploymentId"`
			AutoRollbackEnabled *bool  `json:"autoRollbackEnabled"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		d, err := f.deployment(in.DeploymentID)
		if err != nil {
			return nil, err
		}
		if d.done() {
			return nil, clientErr("DeploymentAlreadyCompletedException", "The deployment %s has already completed", d.id)
		}
		if d.phases[d.idx].kind == phaseTerminate {
			return nil, clientErr("DeploymentAlreadyCompletedException", "The deployment %s is removing the original task set", d.id)
		}
		rollback := in.AutoRollbackEnabled != nil && *in.AutoRollbackEnabled
		f.stop(d, f.opts.Now(), "Stopped", "MANUAL_STOP", "The deployment was stopped by the user", rollback)
		return map[string]any{"status": "Succeeded", "statusMessage": "The deployment was stopped"}, nil

	case "GetDeploymentGroup":
		var in struct {
			ApplicationName     string `json:"applicationName"`
			DeploymentGroupName string `json:"deploymentGroupName"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		if !f.apps[in.ApplicationName] {
			return nil, clientErr("ApplicationDoesNotExistException", "No application found for name: %s", in.ApplicationName)
		}
		g := f.groups[in.ApplicationName+"/"+in.DeploymentGroupName]
		if g == nil {
			return nil, clientErr("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: %s", in.DeploymentGroupName)
		}
		ready := map[string]any{"actionOnTimeout": "CONTINUE_DEPLOYMENT"}
		if g.ReadyWait > 0 {
			ready = map[string]any{"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": int(g.ReadyWait / time.Minute)}
		}
		return map[string]any{"deploymentGroupInfo": map[string]any{
			"applicationName": g.Application, "deploymentGroupName": g.Name, "deploymentConfigName": g.DeploymentConfigName,
			"computePlatform": "ECS", "ecsServices": []map[string]string{{"clusterName": g.Cluster, "serviceName": g.Service}},
			"deploymentStyle": map[string]string{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
			"blueGreenDeploymentConfiguration": map[string]any{
				"deploymentReadyOption":                     ready,
				"terminateBlueInstancesOnDeploymentSuccess": map[string]any{"action": "TERMINATE", "terminationWaitTimeInMinutes": int(g.TerminationWait / time.Minute)},
			},
		}}, nil
	}
	return nil, &apiError{Fault{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "the fake does not serve " + op}}
}
