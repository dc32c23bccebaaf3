package ecscompute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
)

// ECSAPI is the part of the ECS client the adapter uses; *ecs.Client
// implements it.
type ECSAPI interface {
	ecs.DescribeServicesAPIClient
	ecs.ListTasksAPIClient
	ecs.DescribeTasksAPIClient
	CreateTaskSet(ctx context.Context, in *ecs.CreateTaskSetInput, optFns ...func(*ecs.Options)) (*ecs.CreateTaskSetOutput, error)
	DescribeTaskSets(ctx context.Context, in *ecs.DescribeTaskSetsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskSetsOutput, error)
	UpdateTaskSet(ctx context.Context, in *ecs.UpdateTaskSetInput, optFns ...func(*ecs.Options)) (*ecs.UpdateTaskSetOutput, error)
	UpdateServicePrimaryTaskSet(ctx context.Context, in *ecs.UpdateServicePrimaryTaskSetInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServicePrimaryTaskSetOutput, error)
	DeleteTaskSet(ctx context.Context, in *ecs.DeleteTaskSetInput, optFns ...func(*ecs.Options)) (*ecs.DeleteTaskSetOutput, error)
}

// TargetHealthAPI is the part of the ELBv2 client the adapter uses;
// *elasticloadbalancingv2.Client implements it.
type TargetHealthAPI interface {
	elbv2.DescribeTargetHealthAPIClient
}

// AutoScalingAPI is the part of the Application Auto Scaling client the
// adapter uses; *applicationautoscaling.Client implements it.
type AutoScalingAPI interface {
	aas.DescribeScalableTargetsAPIClient
	RegisterScalableTarget(ctx context.Context, in *aas.RegisterScalableTargetInput, optFns ...func(*aas.Options)) (*aas.RegisterScalableTargetOutput, error)
}

// Service says where one service's environments run.
type Service struct {
	// Cluster is the short name or ARN of the service's cluster. Required.
	Cluster string
	// Name is the ECS service's name; the bluegreen service name if empty.
	Name string
	// TargetGroupA and TargetGroupB are the ARNs of the target groups of slot
	// A and slot B; a slot's task sets register their tasks in its group.
	// Required, and different.
	TargetGroupA, TargetGroupB string
	// ContainerName and ContainerPort name the container and port the
	// target groups send traffic to. Required.
	ContainerName string
	ContainerPort int32
	// SuspendScaleOut also suspends dynamic scale-out during a deployment;
	// scale-in is always suspended (see Prepare).
	SuspendScaleOut bool
	// FailedTasks is how many tasks of a task set must have failed to start
	// (or exited, or failed health checks) before Status reports it Failed;
	// 0 means the task set's desired count: every task has failed once.
	FailedTasks int
}

// Options configure a Compute.
type Options struct {
	// ECS is the ECS client, such as ecs.NewFromConfig(cfg). Required.
	ECS ECSAPI
	// ELB is the ELBv2 client that reads target health, such as
	// elasticloadbalancingv2.NewFromConfig(cfg). Required.
	ELB TargetHealthAPI
	// AutoScaling is the Application Auto Scaling client, such as
	// applicationautoscaling.NewFromConfig(cfg); nil leaves auto scaling
	// alone during deployments.
	AutoScaling AutoScalingAPI
	// Services maps each bluegreen service name to its ECS service. Required.
	Services map[string]Service
	// Logger receives a line for every task set created, promoted, scaled or
	// deleted; slog.Default if nil.
	Logger *slog.Logger
}

// Compute runs environments as ECS task sets. It is safe for concurrent use
// and keeps no state besides its options: everything it needs is read back
// from ECS, so a restarted process picks up where another left off.
type Compute struct {
	ecs      ECSAPI
	elb      TargetHealthAPI
	scaling  AutoScalingAPI
	services map[string]Service
	log      *slog.Logger
}

var (
	_ bluegreen.Compute    = (*Compute)(nil)
	_ bluegreen.Preparer   = (*Compute)(nil)
	_ bluegreen.ErrorCoder = (*Compute)(nil)
)

// New returns a Compute, or an error naming the first option that is wrong.
func New(opts Options) (*Compute, error) {
	switch {
	case opts.ECS == nil:
		return nil, &bluegreen.ConfigError{Field: "ecscompute.Options.ECS", Problem: "nil", Fix: "pass ecs.NewFromConfig(cfg)"}
	case opts.ELB == nil:
		return nil, &bluegreen.ConfigError{Field: "ecscompute.Options.ELB", Problem: "nil", Fix: "pass elasticloadbalancingv2.NewFromConfig(cfg), used to read target health"}
	case len(opts.Services) == 0:
		return nil, &bluegreen.ConfigError{Field: "ecscompute.Options.Services", Problem: "empty", Fix: "add the cluster, target groups and container of each service"}
	}
	services := make(map[string]Service, len(opts.Services))
	for _, name := range slices.Sorted(maps.Keys(opts.Services)) {
		s := opts.Services[name]
		if err := s.validate("ecscompute.Options.Services[" + name + "]"); err != nil {
			return nil, err
		}
		if s.Name == "" {
			s.Name = name
		}
		services[name] = s
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Compute{ecs: opts.ECS, elb: opts.ELB, scaling: opts.AutoScaling, services: services, log: log}, nil
}

func (s Service) validate(field string) error {
	switch {
	case s.Cluster == "":
		return &bluegreen.ConfigError{Field: field + ".Cluster", Problem: "empty", Fix: "name the service's cluster"}
	case s.TargetGroupA == "":
		return &bluegreen.ConfigError{Field: field + ".TargetGroupA", Problem: "empty", Fix: "give the ARN of slot A's target group"}
	case s.TargetGroupB == "":
		return &bluegreen.ConfigError{Field: field + ".TargetGroupB", Problem: "empty", Fix: "give the ARN of slot B's target group"}
	case s.TargetGroupA == s.TargetGroupB:
		return &bluegreen.ConfigError{Field: field + ".TargetGroupB", Problem: "same target group as TargetGroupA", Fix: "each slot needs its own target group"}
	case s.ContainerName == "":
		return &bluegreen.ConfigError{Field: field + ".ContainerName", Problem: "empty", Fix: "name the container the target groups send traffic to"}
	case s.ContainerPort <= 0 || s.ContainerPort > 65535:
		return &bluegreen.ConfigError{Field: field + ".ContainerPort", Problem: fmt.Sprintf("%d is not a port", s.ContainerPort), Fix: "give the container port the target groups send traffic to"}
	case s.FailedTasks < 0:
		return &bluegreen.ConfigError{Field: field + ".FailedTasks", Problem: "negative", Fix: "use 0 for the task set's desired count, or a positive count"}
	}
	return nil
}

// service returns the configuration of env's service.
func (c *Compute) service(env bluegreen.Environment) (Service, error) {
	s, ok := c.services[env.Service]
	if !ok {
		return Service{}, &bluegreen.ConfigError{Field: "Environment.Service", Problem: fmt.Sprintf("no ECS service configured for %q", env.Service),
			Fix: "add it to ecscompute.Options.Services"}
	}
	if !env.Slot.Valid() {
		return Service{}, &bluegreen.ConfigError{Field: "Environment.Slot", Problem: fmt.Sprintf("unknown slot %q", env.Slot), Fix: `use "A" or "B"`}
	}
	if env.DeploymentID == "" {
		return Service{}, &bluegreen.ConfigError{Field: "Environment.DeploymentID", Problem: "empty", Fix: "give the deployment's id; it identifies the task set"}
	}
	return s, nil
}

// targetGroup returns the target group of a slot.
func (s Service) targetGroup(slot bluegreen.Slot) string {
	if slot == bluegreen.SlotB {
		return s.TargetGroupB
	}
	return s.TargetGroupA
}

// ClientToken returns the CreateTaskSet client token of env in service s:
// the same for every retry of the same environment, at most 36 characters
// as ECS requires.
func ClientToken(s Service, env bluegreen.Environment) string {
	sum := sha256.Sum256([]byte(s.Cluster + "\x00" + s.Name + "\x00" + env.DeploymentID + "\x00" + string(env.Slot)))
	return "bg-" + hex.EncodeToString(sum[:16])
}

// NotExternalError reports a service whose deployment controller is not
// EXTERNAL: its task sets cannot be managed. Its code is
// bluegreen.CodeFailedPrecondition.
type NotExternalError struct {
	Cluster, Service, Controller string
}

func (e *NotExternalError) Error() string {
	return fmt.Sprintf("ecscompute: ECS service %s in cluster %s uses the %s deployment controller, and task sets need EXTERNAL: "+
		"create the service with deploymentController {\"type\": \"EXTERNAL\"} "+
		"(aws ecs create-service --deployment-controller type=EXTERNAL ...), without a task definition or load balancers of its own",
		e.Service, e.Cluster, e.Controller)
}

// ZeroDesiredError reports an ECS service whose desired count is 0: its
// task sets are sized from it, so a new task set would run no tasks and
// never become healthy. Its code is bluegreen.CodeFailedPrecondition.
type ZeroDesiredError struct {
	Cluster, Service string
}

func (e *ZeroDesiredError) Error() string { return "ecscompute: " + e.problem() }

func (e *ZeroDesiredError) problem() string {
	return fmt.Sprintf("ECS service %s in cluster %s has a desired count of 0, and its task sets are sized from it (desired count × scale); "+
		"set the service's desired count above 0 (aws ecs update-service --cluster %s --service %s --desired-count N), "+
		"and if Application Auto Scaling manages it, a minimum capacity above 0",
		e.Service, e.Cluster, e.Cluster, e.Service)
}

// lastPart returns the name in a short name or an ARN ("…/name").
func lastPart(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "arn:") {
		return s[i+1:]
	}
	return s
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
