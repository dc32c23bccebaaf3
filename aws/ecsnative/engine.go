package ecsnative

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/document"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// Client is the part of the ECS API the engine calls; *ecs.Client
// implements it. These are the actions of iam-policy-ecsnative.json.
type Client interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
}

// LoadBalancer is a load balancer of the service, with the alternate
// target group and listener rules ECS moves traffic with (the service's
// loadBalancers[].advancedConfiguration).
type LoadBalancer struct {
	// TargetGroupARN is the primary target group. Required.
	TargetGroupARN string
	// ContainerName and ContainerPort name the container registered in it. Required.
	ContainerName string
	ContainerPort int32
	// AlternateTargetGroupARN is the second target group ECS alternates with. Required.
	AlternateTargetGroupARN string
	// ProductionListenerRule is the ARN of the listener rule (or listener)
	// carrying production traffic. Required.
	ProductionListenerRule string
	// TestListenerRule is the ARN of the rule carrying test traffic; optional.
	TestListenerRule string
	// RoleARN is the role ECS assumes to change the listener rules. Required.
	RoleARN string
}

// LambdaHook is one of ECS's AWS_LAMBDA lifecycle hooks: ECS invokes the
// function itself; the engine reports its calls and answers as events.
type LambdaHook struct {
	// Name names the hook in events; the function ARN if empty.
	Name string
	// FunctionARN is the Lambda function. Required.
	FunctionARN string
	// RoleARN is the role ECS assumes to invoke it. Required.
	RoleARN string
	// Stages are the stages ECS invokes it at. Required.
	Stages []bluegreen.Stage
	// Details are passed to the function on each invocation (hookDetails).
	Details json.RawMessage
}

// Options configure an Engine.
type Options struct {
	// Client calls ECS. Required.
	Client Client
	// Cluster is the cluster's name or ARN; "default" if empty.
	Cluster string
	// ServiceName maps the Deployer's service to the ECS service's name;
	// the service's own name if nil.
	ServiceName func(service string) string
	// LoadBalancers, if set, replace the ECS service's load balancers on
	// every UpdateService. If empty, the service's own must already carry
	// an advancedConfiguration (checked with DescribeServices).
	LoadBalancers []LoadBalancer
	// Alarms are CloudWatch alarm names; ECS rolls the deployment back
	// when one goes into ALARM.
	Alarms []string
	// LambdaHooks are ECS-invoked AWS_LAMBDA lifecycle hooks.
	LambdaHooks []LambdaHook
	// PollInterval is how often the engine reads the service deployment;
	// 5 s if zero.
	PollInterval time.Duration
	// PauseGrace is added to the longest in-process hook timeout of a stage
	// to make its PAUSE hook's timeout (after which ECS takes the ROLLBACK
	// timeout action, for example when the deploying process died and no
	// Deployer re-attached); 15 minutes if zero.
	PauseGrace time.Duration
	// Logger logs what the engine does; slog.Default() if nil.
	Logger *slog.Logger
}

// Engine runs deployments as ECS-native blue/green, linear or canary
// service deployments. It implements bluegreen.Engine,
// bluegreen.EngineChecker and bluegreen.ErrorCoder.
type Engine struct {
	opts Options
}

var (
	_ bluegreen.Engine        = (*Engine)(nil)
	_ bluegreen.EngineChecker = (*Engine)(nil)
	_ bluegreen.ErrorCoder    = (*Engine)(nil)
)

// New returns an Engine, or a *bluegreen.ConfigError naming the bad option.
func New(opts Options) (*Engine, error) {
	if opts.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "Options.Client", Problem: "nil", Fix: "pass an *ecs.Client, for example ecs.NewFromConfig(cfg)"}
	}
	if opts.PollInterval < 0 {
		return nil, &bluegreen.ConfigError{Field: "Options.PollInterval", Problem: "negative", Fix: "use zero for 5 s, or a positive interval"}
	}
	if opts.PauseGrace < 0 {
		return nil, &bluegreen.ConfigError{Field: "Options.PauseGrace", Problem: "negative", Fix: "use zero for 15 minutes, or a positive duration"}
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.PauseGrace == 0 {
		opts.PauseGrace = 15 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Cluster == "" {
		opts.Cluster = "default"
	}
	for i, lb := range opts.LoadBalancers {
		f := fmt.Sprintf("Options.LoadBalancers[%d]", i)
		switch {
		case lb.TargetGroupARN == "":
			return nil, &bluegreen.ConfigError{Field: f + ".TargetGroupARN", Problem: "empty", Fix: "name the primary target group"}
		case lb.ContainerName == "" || lb.ContainerPort <= 0:
			return nil, &bluegreen.ConfigError{Field: f + ".ContainerName", Problem: "container name or port missing", Fix: "name the container and port registered in the target groups"}
		case lb.AlternateTargetGroupARN == "":
			return nil, &bluegreen.ConfigError{Field: f + ".AlternateTargetGroupARN", Problem: "empty", Fix: "ECS blue/green needs a second target group to alternate with"}
		case lb.ProductionListenerRule == "":
			return nil, &bluegreen.ConfigError{Field: f + ".ProductionListenerRule", Problem: "empty", Fix: "name the listener rule carrying production traffic"}
		case lb.RoleARN == "":
			return nil, &bluegreen.ConfigError{Field: f + ".RoleARN", Problem: "empty", Fix: "name the role ECS assumes to change the listener rules (AmazonECSInfrastructureRolePolicyForLoadBalancers)"}
		}
	}
	for i, a := range opts.Alarms {
		if strings.TrimSpace(a) == "" {
			return nil, &bluegreen.ConfigError{Field: fmt.Sprintf("Options.Alarms[%d]", i), Problem: "empty", Fix: "name a CloudWatch alarm"}
		}
	}
	for i, h := range opts.LambdaHooks {
		f := fmt.Sprintf("Options.LambdaHooks[%d]", i)
		switch {
		case h.FunctionARN == "":
			return nil, &bluegreen.ConfigError{Field: f + ".FunctionARN", Problem: "empty", Fix: "name the Lambda function ECS invokes"}
		case h.RoleARN == "":
			return nil, &bluegreen.ConfigError{Field: f + ".RoleARN", Problem: "empty", Fix: "name the role ECS assumes to invoke the function"}
		case len(h.Stages) == 0:
			return nil, &bluegreen.ConfigError{Field: f + ".Stages", Problem: "empty", Fix: "name at least one stage that takes hooks"}
		case len(h.Details) > 0 && !json.Valid(h.Details):
			return nil, &bluegreen.ConfigError{Field: f + ".Details", Problem: "not JSON", Fix: "encode the hook details as JSON"}
		}
		for _, s := range h.Stages {
			if !s.TakesHooks() {
				return nil, &bluegreen.ConfigError{Field: f + ".Stages", Problem: fmt.Sprintf("%s takes no hooks", s), Fix: "use a stage ECS runs hooks at"}
			}
		}
	}
	return &Engine{opts: opts}, nil
}

// ECS's ranges.
const (
	maxBakeMinutes  = 1440
	maxPauseMinutes = 20160
)

// CheckConfig refuses what ECS cannot run: explicit step schedules, step
// and canary shares and bake times outside ECS's ranges or not in whole
// minutes, and in-process hooks on stages where ECS cannot pause
// (TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT) or does not always run
// (RECONCILE_SERVICE), or with timeouts longer than a PAUSE hook can wait.
func (e *Engine) CheckConfig(spec bluegreen.EngineSpec) error {
	wholeMinutes := func(field string, d time.Duration) error {
		if d < 0 || d > maxBakeMinutes*time.Minute || d%time.Minute != 0 {
			return &bluegreen.ConfigError{Field: field, Problem: fmt.Sprintf("%v is not a whole number of minutes from 0 to 1440", d),
				Fix: "ECS takes bake times in whole minutes, up to 24 hours"}
		}
		return nil
	}
	switch spec.Shift.Type {
	case "", bluegreen.ShiftAllAtOnce:
	case bluegreen.ShiftLinear:
		if spec.Shift.Percent < bluegreen.Percent(3) || spec.Shift.Percent > bluegreen.Full {
			return &bluegreen.ConfigError{Field: "Shift.Percent", Problem: fmt.Sprintf("linear step %v is outside 3%%–100%%", spec.Shift.Percent),
				Fix: "ECS's stepPercent is a multiple of 0.1 from 3.0 to 100.0"}
		}
		if err := wholeMinutes("Shift.Wait", spec.Shift.Wait); err != nil {
			return err
		}
	case bluegreen.ShiftCanary:
		if spec.Shift.Percent < 1 || spec.Shift.Percent > bluegreen.Full {
			return &bluegreen.ConfigError{Field: "Shift.Percent", Problem: fmt.Sprintf("canary share %v is outside 0.1%%–100%%", spec.Shift.Percent),
				Fix: "ECS's canaryPercent is a multiple of 0.1 from 0.1 to 100.0"}
		}
		if err := wholeMinutes("Shift.Wait", spec.Shift.Wait); err != nil {
			return err
		}
	default:
		return &bluegreen.ConfigError{Field: "Shift.Type", Problem: fmt.Sprintf("%s has no ECS equivalent", spec.Shift.Type),
			Fix: "use AllAtOnce (BLUE_GREEN), Linear (LINEAR) or Canary (CANARY)"}
	}
	if err := wholeMinutes("BakeTime", spec.BakeTime); err != nil {
		return err
	}
	for _, stage := range bluegreen.Stages() {
		hooks := spec.Hooks[stage]
		if len(hooks) == 0 {
			continue
		}
		field := fmt.Sprintf("Hooks[%s].Stages", hooks[0].Name)
		if !stage.TakesPauseHooks() {
			return &bluegreen.ConfigError{Field: field, Problem: fmt.Sprintf("in-process hooks at %s", stage),
				Fix: "ECS cannot pause at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT: use POST_TEST_TRAFFIC_SHIFT or PRE_PRODUCTION_TRAFFIC_SHIFT, or a Lambda hook (Options.LambdaHooks)"}
		}
		if stage == bluegreen.StageReconcileService {
			return &bluegreen.ConfigError{Field: field, Problem: "in-process hooks at RECONCILE_SERVICE",
				Fix: "ECS runs RECONCILE_SERVICE hooks only when more than one service revision is active: use PRE_SCALE_UP"}
		}
		if m := e.pauseMinutes(hooks); m > maxPauseMinutes {
			return &bluegreen.ConfigError{Field: fmt.Sprintf("Hooks[%s].Timeout", hooks[0].Name), Problem: fmt.Sprintf("the pause at %s would need %d minutes", stage, m),
				Fix: fmt.Sprintf("ECS's PAUSE hooks wait at most %d minutes (14 days): shorten the hooks' timeouts or Options.PauseGrace", maxPauseMinutes)}
		}
	}
	return nil
}

// pauseMinutes is the PAUSE hook timeout for a stage's in-process hooks:
// the longest hook timeout, in whole minutes, plus the grace.
func (e *Engine) pauseMinutes(hooks []bluegreen.LifecycleHook) int {
	var longest time.Duration
	for _, h := range hooks {
		t := h.Timeout
		if t == 0 {
			t = bluegreen.DefaultHookTimeout
		}
		longest = max(longest, t)
	}
	return int(math.Ceil(float64(longest+e.opts.PauseGrace) / float64(time.Minute)))
}

// ErrorCode classifies ECS errors for the Deployer: missing services and
// deployments are CodeNotFound, bad parameters CodeInvalid, a conflicting
// deployment state CodeFailedPrecondition, throttling and 5xx retryable.
func (e *Engine) ErrorCode(err error) bluegreen.Code { return awserr.Classify(err, codes) }

var codes = awserr.Codes{
	"ClientException":                    bluegreen.CodeInvalid,
	"ConflictException":                  bluegreen.CodeFailedPrecondition,
	"ServiceNotActiveException":          bluegreen.CodeFailedPrecondition,
	"UnsupportedFeatureException":        bluegreen.CodeFailedPrecondition,
	"ServiceDeploymentNotFoundException": bluegreen.CodeNotFound,
	"LimitExceededException":             bluegreen.CodeFailedPrecondition,
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func (e *Engine) serviceName(service string) string {
	if e.opts.ServiceName != nil {
		return e.opts.ServiceName(service)
	}
	return service
}

// taskDefinition is what the revision deploys: Spec's "taskDefinition"
// if set, else the revision's name (family:revision or ARN).
func taskDefinition(rev bluegreen.Revision) (string, error) {
	if len(rev.Spec) > 0 {
		var s struct {
			TaskDefinition string `json:"taskDefinition"`
		}
		if err := json.Unmarshal(rev.Spec, &s); err != nil {
			return "", bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("ecsnative: revision %s: Spec is not {\"taskDefinition\": ...}: %w", rev.Name, err))
		}
		if s.TaskDefinition != "" {
			return s.TaskDefinition, nil
		}
	}
	return rev.Name, nil
}

// deploymentConfiguration is the UpdateService deployment configuration for spec.
func (e *Engine) deploymentConfiguration(spec bluegreen.EngineSpec) *ecstypes.DeploymentConfiguration {
	c := &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes: aws.Int32(int32(spec.BakeTime / time.Minute))}
	switch spec.Shift.Type {
	case bluegreen.ShiftLinear:
		c.Strategy = ecstypes.DeploymentStrategyLinear
		c.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(spec.Shift.Percent.Percent()),
			StepBakeTimeInMinutes: aws.Int32(int32(spec.Shift.Wait / time.Minute))}
	case bluegreen.ShiftCanary:
		c.Strategy = ecstypes.DeploymentStrategyCanary
		c.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(spec.Shift.Percent.Percent()),
			CanaryBakeTimeInMinutes: aws.Int32(int32(spec.Shift.Wait / time.Minute))}
	}
	if len(e.opts.Alarms) > 0 {
		c.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: e.opts.Alarms, Enable: true, Rollback: true}
	}
	for _, h := range e.opts.LambdaHooks {
		lh := ecstypes.DeploymentLifecycleHook{TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda,
			HookTargetArn: aws.String(h.FunctionARN), RoleArn: aws.String(h.RoleARN)}
		for _, s := range h.Stages {
			lh.LifecycleStages = append(lh.LifecycleStages, ecstypes.DeploymentLifecycleHookStage(s.String()))
		}
		if len(h.Details) > 0 {
			var v any
			_ = json.Unmarshal(h.Details, &v) // checked by New
			lh.HookDetails = document.NewLazyDocument(v)
		}
		c.LifecycleHooks = append(c.LifecycleHooks, lh)
	}
	// One PAUSE hook per stage with in-process hooks or pauses: its timeout
	// outlasts the stage's hooks, whose own timeouts the Deployer enforces.
	for _, stage := range bluegreen.Stages() {
		if hooks := spec.Hooks[stage]; len(hooks) > 0 {
			c.LifecycleHooks = append(c.LifecycleHooks, ecstypes.DeploymentLifecycleHook{
				TargetType:      ecstypes.DeploymentLifecycleHookTargetTypePause,
				LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStage(stage.String())},
				TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{
					Action: ecstypes.DeploymentLifecycleHookActionRollback, TimeoutInMinutes: aws.Int32(int32(e.pauseMinutes(hooks)))},
			})
		}
	}
	return c
}

func (e *Engine) loadBalancers() []ecstypes.LoadBalancer {
	var out []ecstypes.LoadBalancer
	for _, lb := range e.opts.LoadBalancers {
		a := &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(lb.AlternateTargetGroupARN),
			ProductionListenerRule: aws.String(lb.ProductionListenerRule), RoleArn: aws.String(lb.RoleARN)}
		if lb.TestListenerRule != "" {
			a.TestListenerRule = aws.String(lb.TestListenerRule)
		}
		out = append(out, ecstypes.LoadBalancer{TargetGroupArn: aws.String(lb.TargetGroupARN), ContainerName: aws.String(lb.ContainerName),
			ContainerPort: aws.Int32(lb.ContainerPort), AdvancedConfiguration: a})
	}
	return out
}

// ServiceError is a service the engine cannot deploy with ECS blue/green
// as it is set up: it names the field and the fix.
type ServiceError struct {
	Service, Field, Problem, Fix string
}

func (e *ServiceError) Error() string {
	return fmt.Sprintf("ecsnative: service %s: %s: %s (%s)", e.Service, e.Field, e.Problem, e.Fix)
}

// ErrorCode reports CodeFailedPrecondition.
func (e *ServiceError) ErrorCode() bluegreen.Code { return bluegreen.CodeFailedPrecondition }

// checkService checks the service's deployment controller and load
// balancers before anything is changed.
func (e *Engine) checkService(svc ecstypes.Service) error {
	name := aws.ToString(svc.ServiceName)
	if st := aws.ToString(svc.Status); st != "" && st != "ACTIVE" {
		return &ServiceError{Service: name, Field: "status", Problem: st, Fix: "deploy to an ACTIVE service"}
	}
	if c := svc.DeploymentController; c != nil && c.Type != "" && c.Type != ecstypes.DeploymentControllerTypeEcs {
		return &ServiceError{Service: name, Field: "deploymentController.type", Problem: string(c.Type),
			Fix: "ECS-native blue/green needs the ECS deployment controller: update the service with deploymentController {type: ECS}, or use the CODE_DEPLOY engine / the library's own engine for this service"}
	}
	if len(e.opts.LoadBalancers) > 0 {
		return nil
	}
	for i, lb := range svc.LoadBalancers {
		a := lb.AdvancedConfiguration
		if a == nil {
			continue
		}
		switch {
		case aws.ToString(a.AlternateTargetGroupArn) == "":
			return &ServiceError{Service: name, Field: fmt.Sprintf("loadBalancers[%d].advancedConfiguration.alternateTargetGroupArn", i), Problem: "empty", Fix: "set the second target group, or pass Options.LoadBalancers"}
		case aws.ToString(a.ProductionListenerRule) == "":
			return &ServiceError{Service: name, Field: fmt.Sprintf("loadBalancers[%d].advancedConfiguration.productionListenerRule", i), Problem: "empty", Fix: "set the production listener rule, or pass Options.LoadBalancers"}
		case aws.ToString(a.RoleArn) == "":
			return &ServiceError{Service: name, Field: fmt.Sprintf("loadBalancers[%d].advancedConfiguration.roleArn", i), Problem: "empty", Fix: "set the role ECS assumes for the listener rules, or pass Options.LoadBalancers"}
		}
		return nil
	}
	return &ServiceError{Service: name, Field: "loadBalancers[].advancedConfiguration", Problem: "no load balancer has one",
		Fix: "ECS blue/green shifts traffic between two target groups: give the service's load balancer an alternateTargetGroupArn, productionListenerRule and roleArn, or pass Options.LoadBalancers"}
}
