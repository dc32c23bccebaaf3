package ecscompute

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
)

// Spec is the JSON body of a bluegreen.Revision's Spec for this backend:
// the task definition a task set runs and the options passed through to
// CreateTaskSet. Field names follow the ECS API's JSON, so a task set's or a
// service's JSON can be pasted in. For example:
//
//	{
//	  "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42",
//	  "launchType": "FARGATE",
//	  "platformVersion": "1.4.0",
//	  "networkConfiguration": {"awsvpcConfiguration": {
//	    "subnets": ["subnet-0abc"], "securityGroups": ["sg-0abc"], "assignPublicIp": "DISABLED"}}
//	}
type Spec struct {
	// TaskDefinition is the family:revision or full ARN of the task
	// definition. Required.
	TaskDefinition string `json:"taskDefinition"`
	// LaunchType is "FARGATE", "EC2", "EXTERNAL" or "MANAGED_INSTANCES";
	// empty uses the service's.
	// Set at most one of LaunchType and CapacityProviderStrategy.
	LaunchType string `json:"launchType,omitempty"`
	// CapacityProviderStrategy places the tasks on capacity providers.
	CapacityProviderStrategy []CapacityProvider `json:"capacityProviderStrategy,omitempty"`
	// PlatformVersion is the Fargate platform version, such as "LATEST".
	PlatformVersion string `json:"platformVersion,omitempty"`
	// NetworkConfiguration is required for task definitions that use the
	// awsvpc network mode (every Fargate task).
	NetworkConfiguration *NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// Tags are added to the task set. ECS authorizes tags given at creation
	// with the ecs:TagResource action besides ecs:CreateTaskSet: grant it
	// if you set tags (see aws/README.md).
	Tags map[string]string `json:"tags,omitempty"`
}

// CapacityProvider is one item of a capacity provider strategy.
type CapacityProvider struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight,omitempty"`
	Base             int32  `json:"base,omitempty"`
}

// NetworkConfiguration is a task set's network configuration.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsvpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// AwsvpcConfiguration is the awsvpc network mode's configuration.
type AwsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	// AssignPublicIp is "ENABLED" or "DISABLED".
	AssignPublicIP string `json:"assignPublicIp,omitempty"`
}

// ParseSpec decodes and checks the Spec of a revision.
func ParseSpec(rev bluegreen.Revision) (Spec, error) {
	var s Spec
	if len(rev.Spec) == 0 {
		return s, specError("Revision.Spec", "empty", `give at least {"taskDefinition": "family:revision"}`)
	}
	dec := json.NewDecoder(strings.NewReader(string(rev.Spec)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, specError("Revision.Spec", err.Error(), "see ecscompute.Spec for the fields")
	}
	switch {
	case strings.TrimSpace(s.TaskDefinition) == "":
		return s, specError("Revision.Spec.taskDefinition", "empty", "name the task definition as family:revision or its ARN")
	case s.LaunchType != "" && len(s.CapacityProviderStrategy) > 0:
		return s, specError("Revision.Spec.launchType", "set together with capacityProviderStrategy", "set one of them")
	}
	switch s.LaunchType {
	case "", string(ecstypes.LaunchTypeFargate), string(ecstypes.LaunchTypeEc2), string(ecstypes.LaunchTypeExternal), string(ecstypes.LaunchTypeManagedInstances):
	default:
		return s, specError("Revision.Spec.launchType", fmt.Sprintf("unknown launch type %q", s.LaunchType), `use "FARGATE", "EC2", "EXTERNAL" or "MANAGED_INSTANCES"`)
	}
	for i, c := range s.CapacityProviderStrategy {
		if c.CapacityProvider == "" {
			return s, specError(fmt.Sprintf("Revision.Spec.capacityProviderStrategy[%d].capacityProvider", i), "empty", "name the capacity provider")
		}
	}
	if n := s.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		if len(n.AwsvpcConfiguration.Subnets) == 0 {
			return s, specError("Revision.Spec.networkConfiguration.awsvpcConfiguration.subnets", "empty", "list at least one subnet")
		}
		switch n.AwsvpcConfiguration.AssignPublicIP {
		case "", "ENABLED", "DISABLED":
		default:
			return s, specError("Revision.Spec.networkConfiguration.awsvpcConfiguration.assignPublicIp",
				fmt.Sprintf("%q", n.AwsvpcConfiguration.AssignPublicIP), `use "ENABLED" or "DISABLED"`)
		}
	}
	return s, nil
}

func specError(field, problem, fix string) error {
	return &bluegreen.ConfigError{Field: field, Problem: problem, Fix: fix}
}

// apply sets the spec's fields on a CreateTaskSet input.
func (s Spec) apply(in *ecs.CreateTaskSetInput) {
	in.TaskDefinition = aws.String(s.TaskDefinition)
	in.LaunchType = ecstypes.LaunchType(s.LaunchType)
	if s.PlatformVersion != "" {
		in.PlatformVersion = aws.String(s.PlatformVersion)
	}
	for _, c := range s.CapacityProviderStrategy {
		in.CapacityProviderStrategy = append(in.CapacityProviderStrategy, ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: aws.String(c.CapacityProvider), Weight: c.Weight, Base: c.Base})
	}
	if n := s.NetworkConfiguration; n != nil && n.AwsvpcConfiguration != nil {
		v := n.AwsvpcConfiguration
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: v.Subnets, SecurityGroups: v.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIp(v.AssignPublicIP)}}
	}
	for _, k := range sortedKeys(s.Tags) {
		in.Tags = append(in.Tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
	}
}
