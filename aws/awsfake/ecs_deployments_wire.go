package awsfake

import "encoding/json"

// This file holds the JSON 1.1 wire shapes of ECS's service deployments
// (ECS-controlled blue/green, linear and canary deployments): the
// deployment configuration UpdateService takes and the ServiceDeployment
// DescribeServiceDeployments returns, named as the ECS API names them.

type ecsAdvancedConfiguration struct {
	AlternateTargetGroupArn string `json:"alternateTargetGroupArn,omitempty"`
	ProductionListenerRule  string `json:"productionListenerRule,omitempty"`
	TestListenerRule        string `json:"testListenerRule,omitempty"`
	RoleArn                 string `json:"roleArn,omitempty"`
}

type ecsLinearConfiguration struct {
	StepPercent           *float64 `json:"stepPercent,omitempty"`
	StepBakeTimeInMinutes *int     `json:"stepBakeTimeInMinutes,omitempty"`
}

type ecsCanaryConfiguration struct {
	CanaryPercent           *float64 `json:"canaryPercent,omitempty"`
	CanaryBakeTimeInMinutes *int     `json:"canaryBakeTimeInMinutes,omitempty"`
}

type ecsDeploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

type ecsHookTimeout struct {
	Action           string `json:"action,omitempty"`
	TimeoutInMinutes *int   `json:"timeoutInMinutes,omitempty"`
}

type ecsLifecycleHook struct {
	HookTargetArn        string          `json:"hookTargetArn,omitempty"`
	RoleArn              string          `json:"roleArn,omitempty"`
	LifecycleStages      []string        `json:"lifecycleStages"`
	TargetType           string          `json:"targetType,omitempty"`
	HookDetails          json.RawMessage `json:"hookDetails,omitempty"`
	TimeoutConfiguration *ecsHookTimeout `json:"timeoutConfiguration,omitempty"`
}

type ecsDeploymentConfiguration struct {
	Strategy              string                  `json:"strategy,omitempty"`
	BakeTimeInMinutes     *int                    `json:"bakeTimeInMinutes,omitempty"`
	LinearConfiguration   *ecsLinearConfiguration `json:"linearConfiguration,omitempty"`
	CanaryConfiguration   *ecsCanaryConfiguration `json:"canaryConfiguration,omitempty"`
	Alarms                *ecsDeploymentAlarms    `json:"alarms,omitempty"`
	LifecycleHooks        []ecsLifecycleHook      `json:"lifecycleHooks,omitempty"`
	MaximumPercent        *int                    `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent *int                    `json:"minimumHealthyPercent,omitempty"`
}

type ecsUpdateServiceInput struct {
	Cluster                 string                      `json:"cluster"`
	Service                 string                      `json:"service"`
	TaskDefinition          string                      `json:"taskDefinition"`
	DesiredCount            *int                        `json:"desiredCount"`
	ForceNewDeployment      bool                        `json:"forceNewDeployment"`
	DeploymentConfiguration *ecsDeploymentConfiguration `json:"deploymentConfiguration"`
	LoadBalancers           []ecsLoadBalancer           `json:"loadBalancers"`
}

// ecsUpdatedService is the Service shape with the fields of ECS-controlled
// deployments.
type ecsUpdatedService struct {
	ecsWireService
	CurrentServiceDeployment string                      `json:"currentServiceDeployment,omitempty"`
	DeploymentConfiguration  *ecsDeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
}

type ecsServiceRevisionSummary struct {
	Arn                              string   `json:"arn"`
	RequestedTaskCount               int      `json:"requestedTaskCount"`
	RunningTaskCount                 int      `json:"runningTaskCount"`
	PendingTaskCount                 int      `json:"pendingTaskCount"`
	RequestedProductionTrafficWeight *float64 `json:"requestedProductionTrafficWeight,omitempty"`
	RequestedTestTrafficWeight       *float64 `json:"requestedTestTrafficWeight,omitempty"`
}

type ecsLifecycleHookDetail struct {
	HookID        string `json:"hookId"`
	TargetType    string `json:"targetType"`
	TargetArn     string `json:"targetArn,omitempty"`
	Status        string `json:"status"`
	ExpiresAt     *epoch `json:"expiresAt,omitempty"`
	TimeoutAction string `json:"timeoutAction,omitempty"`
}

type ecsServiceDeploymentAlarms struct {
	Status              string   `json:"status"`
	AlarmNames          []string `json:"alarmNames,omitempty"`
	TriggeredAlarmNames []string `json:"triggeredAlarmNames,omitempty"`
}

type ecsWireRollback struct {
	Reason             string `json:"reason,omitempty"`
	StartedAt          epoch  `json:"startedAt"`
	ServiceRevisionArn string `json:"serviceRevisionArn,omitempty"`
}

type ecsWireServiceDeployment struct {
	ServiceDeploymentArn    string                      `json:"serviceDeploymentArn"`
	ServiceArn              string                      `json:"serviceArn"`
	ClusterArn              string                      `json:"clusterArn"`
	CreatedAt               epoch                       `json:"createdAt"`
	StartedAt               epoch                       `json:"startedAt"`
	UpdatedAt               epoch                       `json:"updatedAt"`
	FinishedAt              *epoch                      `json:"finishedAt,omitempty"`
	StoppedAt               *epoch                      `json:"stoppedAt,omitempty"`
	SourceServiceRevisions  []ecsServiceRevisionSummary `json:"sourceServiceRevisions,omitempty"`
	TargetServiceRevision   *ecsServiceRevisionSummary  `json:"targetServiceRevision,omitempty"`
	Status                  string                      `json:"status"`
	StatusReason            string                      `json:"statusReason,omitempty"`
	LifecycleStage          string                      `json:"lifecycleStage,omitempty"`
	LifecycleHookDetails    []ecsLifecycleHookDetail    `json:"lifecycleHookDetails,omitempty"`
	DeploymentConfiguration *ecsDeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	Rollback                *ecsWireRollback            `json:"rollback,omitempty"`
	Alarms                  *ecsServiceDeploymentAlarms `json:"alarms,omitempty"`
}

type ecsServiceDeploymentBrief struct {
	ServiceDeploymentArn     string `json:"serviceDeploymentArn"`
	ServiceArn               string `json:"serviceArn"`
	ClusterArn               string `json:"clusterArn"`
	CreatedAt                epoch  `json:"createdAt"`
	StartedAt                epoch  `json:"startedAt"`
	FinishedAt               *epoch `json:"finishedAt,omitempty"`
	Status                   string `json:"status"`
	StatusReason             string `json:"statusReason,omitempty"`
	TargetServiceRevisionArn string `json:"targetServiceRevisionArn,omitempty"`
}

type ecsListServiceDeploymentsInput struct {
	Cluster   string   `json:"cluster"`
	Service   string   `json:"service"`
	Status    []string `json:"status"`
	CreatedAt *struct {
		After  *epoch `json:"after"`
		Before *epoch `json:"before"`
	} `json:"createdAt"`
	MaxResults int    `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

type ecsDescribeServiceDeploymentsInput struct {
	ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
}

type ecsContinueServiceDeploymentInput struct {
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	HookID               string `json:"hookId"`
	Action               string `json:"action"`
}

type ecsStopServiceDeploymentInput struct {
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	StopType             string `json:"stopType"`
}
