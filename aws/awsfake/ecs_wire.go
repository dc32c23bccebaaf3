package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file holds the JSON 1.1 wire shapes of the ECS operations the fake
// serves, named as the ECS API names them on the wire (lowerCamelCase), and the
// AWS JSON 1.1 framing shared with the Application Auto Scaling fake. Parts the
// fake does not interpret (network configuration, service registries) are kept
// as raw JSON and echoed back unchanged, the way ECS does.

// rpc11ContentType is the content type of AWS JSON 1.1 requests and responses.
const rpc11ContentType = "application/x-amz-json-1.1"

// rpc11Op returns the operation named by the X-Amz-Target header, which is
// "<service prefix>.<Operation>".
func rpc11Op(r *http.Request, prefix string) (string, bool) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), prefix+".")
	return op, ok && op != ""
}

// rpc11Accept reads a JSON 1.1 request's operation and counts it in faults.
// If the request is not one, or a fault is injected, it writes the error
// and returns false.
func rpc11Accept(w http.ResponseWriter, r *http.Request, prefix string, faults *Faults) (string, bool) {
	op, ok := rpc11Op(r, prefix)
	if !ok || r.Method != http.MethodPost {
		rpc11Error(w, Fault{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "missing or unknown X-Amz-Target"})
		return "", false
	}
	if f, faulted := faults.Check(op); faulted {
		rpc11Error(w, f)
		return "", false
	}
	return op, true
}

// rpc11Reply writes a 200 response with v as the JSON body.
func rpc11Reply(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		rpc11Error(w, Fault{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", rpc11ContentType)
	w.Header().Set("X-Amzn-RequestId", "awsfake")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// rpc11Error writes f in the AWS JSON 1.1 error shape: the code in __type (and
// in the X-Amzn-ErrorType header), so that the SDK yields a smithy.APIError
// with that code.
func rpc11Error(w http.ResponseWriter, f Fault) {
	b, _ := json.Marshal(map[string]string{"__type": f.Code, "message": f.Message})
	w.Header().Set("Content-Type", rpc11ContentType)
	w.Header().Set("X-Amzn-RequestId", "awsfake")
	w.Header().Set("X-Amzn-ErrorType", f.Code)
	w.WriteHeader(f.Status)
	w.Write(b)
}

// apiError is an error a fake operation returns; the handler writes it in the
// protocol's error shape.
type apiError struct{ Fault }

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// clientErr returns a 400 error with code and a formatted message.
func clientErr(code, format string, args ...any) error {
	return &apiError{Fault{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}}
}

// epoch is a timestamp in the JSON protocols' default format: seconds since
// the Unix epoch, with a fraction.
type epoch time.Time

// MarshalJSON writes the time as epoch seconds.
func (t epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', 3, 64)), nil
}

// UnmarshalJSON reads epoch seconds.
func (t *epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*t = epoch(time.UnixMilli(int64(f * 1000)))
	return nil
}

type ecsScale struct {
	Unit  string  `json:"unit,omitempty"`
	Value float64 `json:"value"`
}

type ecsLoadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    int    `json:"containerPort,omitempty"`
	// AdvancedConfiguration is ECS blue/green's (see ecs_deployments.go).
	AdvancedConfiguration *ecsAdvancedConfiguration `json:"advancedConfiguration,omitempty"`
}

type ecsCapacityProviderItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int    `json:"weight,omitempty"`
	Base             int    `json:"base,omitempty"`
}

type ecsTag struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

type ecsFailure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type ecsDeploymentController struct {
	Type string `json:"type"`
}

// ecsWireTaskSet is the TaskSet shape.
type ecsWireTaskSet struct {
	ID                       string                    `json:"id"`
	TaskSetArn               string                    `json:"taskSetArn"`
	ServiceArn               string                    `json:"serviceArn"`
	ClusterArn               string                    `json:"clusterArn"`
	StartedBy                string                    `json:"startedBy,omitempty"`
	ExternalID               string                    `json:"externalId,omitempty"`
	Status                   string                    `json:"status"`
	TaskDefinition           string                    `json:"taskDefinition"`
	ComputedDesiredCount     int                       `json:"computedDesiredCount"`
	PendingCount             int                       `json:"pendingCount"`
	RunningCount             int                       `json:"runningCount"`
	CreatedAt                epoch                     `json:"createdAt"`
	UpdatedAt                epoch                     `json:"updatedAt"`
	LaunchType               string                    `json:"launchType,omitempty"`
	CapacityProviderStrategy []ecsCapacityProviderItem `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion          string                    `json:"platformVersion,omitempty"`
	NetworkConfiguration     json.RawMessage           `json:"networkConfiguration,omitempty"`
	LoadBalancers            []ecsLoadBalancer         `json:"loadBalancers,omitempty"`
	ServiceRegistries        json.RawMessage           `json:"serviceRegistries,omitempty"`
	Scale                    ecsScale                  `json:"scale"`
	StabilityStatus          string                    `json:"stabilityStatus"`
	StabilityStatusAt        epoch                     `json:"stabilityStatusAt"`
	Tags                     []ecsTag                  `json:"tags,omitempty"`
}

// ecsWireService is the Service shape.
type ecsWireService struct {
	ServiceArn           string                  `json:"serviceArn"`
	ServiceName          string                  `json:"serviceName"`
	ClusterArn           string                  `json:"clusterArn"`
	Status               string                  `json:"status"`
	DesiredCount         int                     `json:"desiredCount"`
	RunningCount         int                     `json:"runningCount"`
	PendingCount         int                     `json:"pendingCount"`
	LaunchType           string                  `json:"launchType,omitempty"`
	TaskDefinition       string                  `json:"taskDefinition,omitempty"`
	DeploymentController ecsDeploymentController `json:"deploymentController"`
	LoadBalancers        []ecsLoadBalancer       `json:"loadBalancers,omitempty"`
	TaskSets             []ecsWireTaskSet        `json:"taskSets,omitempty"`
	CreatedAt            epoch                   `json:"createdAt"`
}

// ecsWireTask is the Task shape (the fields the fake fills in).
type ecsWireTask struct {
	TaskArn           string `json:"taskArn"`
	ClusterArn        string `json:"clusterArn"`
	TaskDefinitionArn string `json:"taskDefinitionArn"`
	Group             string `json:"group"`
	StartedBy         string `json:"startedBy"`
	LastStatus        string `json:"lastStatus"`
	DesiredStatus     string `json:"desiredStatus"`
	LaunchType        string `json:"launchType,omitempty"`
	StopCode          string `json:"stopCode,omitempty"`
	StoppedReason     string `json:"stoppedReason,omitempty"`
	CreatedAt         epoch  `json:"createdAt"`
	StoppedAt         *epoch `json:"stoppedAt,omitempty"`
}

type ecsCreateServiceInput struct {
	Cluster              string                   `json:"cluster"`
	ServiceName          string                   `json:"serviceName"`
	TaskDefinition       string                   `json:"taskDefinition"`
	DesiredCount         int                      `json:"desiredCount"`
	LaunchType           string                   `json:"launchType"`
	DeploymentController *ecsDeploymentController `json:"deploymentController"`
	LoadBalancers        []ecsLoadBalancer        `json:"loadBalancers"`
}

type ecsDescribeServicesInput struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
}

type ecsCreateTaskSetInput struct {
	Cluster                  string                    `json:"cluster"`
	Service                  string                    `json:"service"`
	TaskDefinition           string                    `json:"taskDefinition"`
	ExternalID               string                    `json:"externalId"`
	ClientToken              string                    `json:"clientToken"`
	LaunchType               string                    `json:"launchType"`
	CapacityProviderStrategy []ecsCapacityProviderItem `json:"capacityProviderStrategy"`
	PlatformVersion          string                    `json:"platformVersion"`
	NetworkConfiguration     json.RawMessage           `json:"networkConfiguration"`
	LoadBalancers            []ecsLoadBalancer         `json:"loadBalancers"`
	ServiceRegistries        json.RawMessage           `json:"serviceRegistries"`
	Scale                    *ecsScale                 `json:"scale"`
	Tags                     []ecsTag                  `json:"tags"`
}

type ecsTaskSetRef struct {
	Cluster string    `json:"cluster"`
	Service string    `json:"service"`
	TaskSet string    `json:"taskSet"`
	Scale   *ecsScale `json:"scale"`
	Force   bool      `json:"force"`
	// PrimaryTaskSet is UpdateServicePrimaryTaskSet's name for the task set.
	PrimaryTaskSet string `json:"primaryTaskSet"`
}

type ecsDescribeTaskSetsInput struct {
	Cluster  string   `json:"cluster"`
	Service  string   `json:"service"`
	TaskSets []string `json:"taskSets"`
}

type ecsListTasksInput struct {
	Cluster       string `json:"cluster"`
	StartedBy     string `json:"startedBy"`
	ServiceName   string `json:"serviceName"`
	DesiredStatus string `json:"desiredStatus"`
	MaxResults    int    `json:"maxResults"`
}

type ecsDescribeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}
