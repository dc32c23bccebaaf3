package codedeployengine

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
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/internal/awserr"
)

// API is the part of the CodeDeploy client the engine calls; a
// *codedeploy.Client implements it.
type API interface {
	CreateDeployment(ctx context.Context, in *codedeploy.CreateDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	ListDeployments(ctx context.Context, in *codedeploy.ListDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	ListDeploymentTargets(ctx context.Context, in *codedeploy.ListDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	GetDeploymentTarget(ctx context.Context, in *codedeploy.GetDeploymentTargetInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
	ContinueDeployment(ctx context.Context, in *codedeploy.ContinueDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ContinueDeploymentOutput, error)
	StopDeployment(ctx context.Context, in *codedeploy.StopDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	GetDeploymentGroup(ctx context.Context, in *codedeploy.GetDeploymentGroupInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentGroupOutput, error)
}

// LambdaHooks are the Lambda functions of an AppSpec's Hooks section, by
// lifecycle event; CodeDeploy invokes them and they answer with
// PutLifecycleEventHookExecutionStatus. Empty fields run no hook.
type LambdaHooks struct {
	BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic string
}

// Service is where a bluegreen service is deployed by CodeDeploy.
type Service struct {
	// Application and DeploymentGroup name the CodeDeploy application and
	// its ECS blue/green deployment group. Required.
	Application, DeploymentGroup string
	// ContainerName and ContainerPort are the AppSpec's LoadBalancerInfo:
	// the container and port the target groups route to. Required.
	ContainerName string
	ContainerPort int
	// Hooks are the AppSpec's Lambda hooks.
	Hooks LambdaHooks
}

// Options configure an Engine.
type Options struct {
	// Client calls CodeDeploy; a *codedeploy.Client. Required.
	Client API
	// Services maps each bluegreen service name to its deployment group. Required.
	Services map[string]Service
	// DeploymentConfigName is the custom deployment configuration (made
	// with CreateDeploymentConfig) to use when Config.Shift matches none of
	// CodeDeploy's predefined ECS configurations; it must move traffic as
	// Config.Shift says. Unused when a predefined one matches.
	DeploymentConfigName string
	// PollInterval is how often the deployment is read; 15s if zero.
	PollInterval time.Duration
	// Logger receives a debug record per CodeDeploy call that changes
	// something; nothing is logged if nil.
	Logger *slog.Logger
}

// Spec is the shape of bluegreen.Revision.Spec for this engine. With no
// Spec, the revision's name is the task definition.
type Spec struct {
	// TaskDefinition is the task definition ARN (or family:revision) of the
	// replacement task set. Required.
	TaskDefinition string `json:"taskDefinition"`
}

// DefaultPollInterval is the interval between reads of a deployment.
const DefaultPollInterval = 15 * time.Second

// Engine is a bluegreen.Engine that runs deployments as CodeDeploy ECS
// blue/green deployments. It is safe for concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger
}

// New returns an Engine, or a *bluegreen.ConfigError naming the bad field.
func New(opts Options) (*Engine, error) {
	if opts.Client == nil {
		return nil, &bluegreen.ConfigError{Field: "codedeployengine.Options.Client", Problem: "nil", Fix: "pass codedeploy.NewFromConfig(cfg)"}
	}
	if len(opts.Services) == 0 {
		return nil, &bluegreen.ConfigError{Field: "codedeployengine.Options.Services", Problem: "empty", Fix: "map each service name to its CodeDeploy application and deployment group"}
	}
	for name, s := range opts.Services {
		f := fmt.Sprintf("codedeployengine.Options.Services[%q]", name)
		switch {
		case s.Application == "":
			return nil, &bluegreen.ConfigError{Field: f + ".Application", Problem: "empty", Fix: "name the CodeDeploy application"}
		case s.DeploymentGroup == "":
			return nil, &bluegreen.ConfigError{Field: f + ".DeploymentGroup", Problem: "empty", Fix: "name the ECS blue/green deployment group"}
		case s.ContainerName == "":
			return nil, &bluegreen.ConfigError{Field: f + ".ContainerName", Problem: "empty", Fix: "name the container the target groups route to (the AppSpec's LoadBalancerInfo.ContainerName)"}
		case s.ContainerPort < 1 || s.ContainerPort > 65535:
			return nil, &bluegreen.ConfigError{Field: f + ".ContainerPort", Problem: fmt.Sprintf("%d", s.ContainerPort), Fix: "use the container's port, 1 to 65535"}
		}
	}
	if opts.PollInterval < 0 {
		return nil, &bluegreen.ConfigError{Field: "codedeployengine.Options.PollInterval", Problem: "negative", Fix: "use zero for 15s, or a positive interval"}
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{opts: opts, log: log}, nil
}

// Where Go hooks run. CodeDeploy pauses an ECS deployment at two waits a
// program can release with ContinueDeployment: before production traffic
// is rerouted (READY_WAIT, with the deployment group's
// deploymentReadyOption STOP_DEPLOYMENT) and before the original task set
// is removed (TERMINATION_WAIT, the group's terminationWaitTimeInMinutes).
var (
	// readyStages run at READY_WAIT: test traffic is on green, production
	// still on blue. PRE_PRODUCTION_TRAFFIC_SHIFT runs once, at step 1:
	// CodeDeploy cannot pause between the steps of its shift.
	readyStages = []bluegreen.Stage{bluegreen.StagePostTestTrafficShift, bluegreen.StagePreProductionTrafficShift}
	// terminationStages run at TERMINATION_WAIT: green has all production
	// traffic and blue still runs; the bake time follows them.
	terminationStages = []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}
)

// lambdaEventFor names the AppSpec hook to use for a stage CodeDeploy
// cannot pause at.
var lambdaEventFor = map[bluegreen.Stage]string{
	bluegreen.StageReconcileService:       "BeforeInstall",
	bluegreen.StagePreScaleUp:             "BeforeInstall",
	bluegreen.StagePostScaleUp:            "AfterInstall",
	bluegreen.StageTestTrafficShift:       "AfterAllowTestTraffic",
	bluegreen.StageProductionTrafficShift: "AfterAllowTraffic",
}

// CheckConfig refuses in-process hooks on stages CodeDeploy cannot pause
// at, and a shift no deployment configuration can carry out.
func (e *Engine) CheckConfig(spec bluegreen.EngineSpec) error {
	for _, s := range bluegreen.Stages() {
		hs := spec.Hooks[s]
		if len(hs) == 0 || isIn(s, readyStages) || isIn(s, terminationStages) {
			continue
		}
		return &bluegreen.ConfigError{Field: "Hooks",
			Problem: fmt.Sprintf("hook %q is bound to %s, where CodeDeploy cannot pause an ECS deployment for an in-process hook", hs[0].Name, s),
			Fix: fmt.Sprintf("run it as a Lambda hook in the AppSpec (codedeployengine.Service.Hooks.%s), or bind it to POST_TEST_TRAFFIC_SHIFT or PRE_PRODUCTION_TRAFFIC_SHIFT (CodeDeploy's wait before rerouting production traffic) or POST_PRODUCTION_TRAFFIC_SHIFT (its wait before removing the original task set)",
				lambdaEventFor[s])}
	}
	_, err := e.configName(spec)
	return err
}

func isIn(s bluegreen.Stage, in []bluegreen.Stage) bool {
	for _, x := range in {
		if x == s {
			return true
		}
	}
	return false
}

// state is what the engine saves with the deployment: the intent to
// create (its time and marker) before CreateDeployment, then the id.
type state struct {
	Intent       time.Time `json:"intent"`
	Marker       string    `json:"marker"`
	DeploymentID string    `json:"deploymentId,omitempty"`
	// Stopping records a rollback asked of CodeDeploy (StopDeployment),
	// saved before the call.
	Stopping bool `json:"stopping,omitempty"`
}

// follower follows one CodeDeploy deployment.
type follower struct {
	e         *Engine
	run       *bluegreen.EngineRun
	svc       Service
	spec      bluegreen.EngineSpec
	st        state
	target    string
	testShown bool
	step      int
	readyDone bool
	termDone  bool
	bakeUntil time.Time
	baking    bool
}

// Run creates the CodeDeploy deployment (or finds the one an earlier Run
// started) and follows it to its end.
func (e *Engine) Run(ctx context.Context, run *bluegreen.EngineRun) error {
	svc, ok := e.opts.Services[run.Service()]
	if !ok {
		return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("codedeployengine: service %q is not in Options.Services", run.Service()))
	}
	f := &follower{e: e, run: run, svc: svc, spec: run.Spec()}
	if raw := run.State(); raw != nil {
		if err := json.Unmarshal(raw, &f.st); err != nil || f.st.Marker == "" {
			return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("codedeployengine: saved state %.100q is not this engine's", raw))
		}
	}
	if f.st.DeploymentID == "" {
		if err := f.start(); err != nil {
			return err
		}
	}
	return f.follow()
}

func (f *follower) ctx() context.Context { return f.run.Context() }

func (f *follower) save() error {
	raw, err := json.Marshal(f.st)
	if err != nil {
		return err
	}
	return f.run.Save(raw)
}

// apiErr classifies a CodeDeploy error.
func apiErr(op string, err error) error {
	return bluegreen.NewError(awserr.Classify(err, codes), fmt.Errorf("codedeployengine: %s: %w", op, err))
}

var codes = awserr.Codes{
	"DeploymentDoesNotExistException":       bluegreen.CodeNotFound,
	"DeploymentGroupDoesNotExistException":  bluegreen.CodeNotFound,
	"ApplicationDoesNotExistException":      bluegreen.CodeNotFound,
	"DeploymentConfigDoesNotExistException": bluegreen.CodeNotFound,
	"DeploymentLimitExceededException":      bluegreen.CodeConflict,
	"DeploymentAlreadyCompletedException":   bluegreen.CodeFailedPrecondition,
	"DeploymentIsNotInReadyStateException":  bluegreen.CodeFailedPrecondition,
	"InvalidRevisionException":              bluegreen.CodeInvalid,
	"InvalidDeploymentWaitTypeException":    bluegreen.CodeInvalid,
}

func apiCode(err error) string {
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// checkGroup refuses a deployment group whose waits do not allow the
// configured hooks and bake time, before anything is created.
func (f *follower) checkGroup() error {
	out, err := f.e.opts.Client.GetDeploymentGroup(f.ctx(), &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(f.svc.Application), DeploymentGroupName: aws.String(f.svc.DeploymentGroup)})
	if err != nil {
		return apiErr("GetDeploymentGroup", err)
	}
	g := out.DeploymentGroupInfo
	name := f.svc.Application + "/" + f.svc.DeploymentGroup
	precondition := func(format string, args ...any) error {
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("codedeployengine: deployment group "+name+": "+format, args...))
	}
	if g == nil || g.ComputePlatform != types.ComputePlatformEcs || g.BlueGreenDeploymentConfiguration == nil {
		return precondition("not an ECS blue/green deployment group")
	}
	bg := g.BlueGreenDeploymentConfiguration
	ready := bg.DeploymentReadyOption != nil && bg.DeploymentReadyOption.ActionOnTimeout == types.DeploymentReadyActionStopDeployment
	for _, s := range readyStages {
		if len(f.spec.Hooks[s]) > 0 && !ready {
			return precondition("in-process hooks at %s need CodeDeploy to wait before rerouting production traffic: set the group's deploymentReadyOption to actionOnTimeout STOP_DEPLOYMENT with a waitTimeInMinutes longer than the hooks take (UpdateDeploymentGroup)", s)
		}
	}
	var termWait time.Duration
	if t := bg.TerminateBlueInstancesOnDeploymentSuccess; t != nil && t.Action != types.InstanceActionKeepAlive {
		termWait = time.Duration(t.TerminationWaitTimeInMinutes) * time.Minute
	}
	needs := f.spec.BakeTime
	for _, s := range terminationStages {
		if len(f.spec.Hooks[s]) > 0 {
			needs = max(needs, time.Minute)
		}
	}
	if termWait < needs {
		return precondition("its terminationWaitTimeInMinutes (%v) is shorter than the bake time and hooks need (%v): CodeDeploy would remove the original task set first; raise it with UpdateDeploymentGroup (the engine ends the wait itself with ContinueDeployment TERMINATION_WAIT)", termWait, needs)
	}
	return nil
}

// start saves the intent, finds a deployment a crashed Run created under
// the same intent, or creates one, and saves its id.
func (f *follower) start() error {
	if err := f.checkGroup(); err != nil {
		return err
	}
	if f.st.Marker == "" {
		f.st = state{Intent: time.Now().UTC().Truncate(time.Second), Marker: fmt.Sprintf("bluegreen deployment %s of %s: %s", f.run.DeploymentID(), f.run.Service(), f.run.Revision().Name)}
		if err := f.save(); err != nil {
			return err
		}
	} else if id, err := f.find(); err != nil {
		return err
	} else if id != "" {
		f.st.DeploymentID = id
		return f.save()
	}
	content, err := f.appSpec()
	if err != nil {
		return err
	}
	config, err := f.e.configName(f.spec)
	if err != nil {
		return err
	}
	out, err := f.e.opts.Client.CreateDeployment(f.ctx(), &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(f.svc.Application), DeploymentGroupName: aws.String(f.svc.DeploymentGroup),
		DeploymentConfigName: aws.String(config), Description: aws.String(f.st.Marker),
		AutoRollbackConfiguration: &types.AutoRollbackConfiguration{Enabled: true,
			Events: []types.AutoRollbackEvent{types.AutoRollbackEventDeploymentFailure, types.AutoRollbackEventDeploymentStopOnRequest, types.AutoRollbackEventDeploymentStopOnAlarm}},
		Revision: &types.RevisionLocation{RevisionType: types.RevisionLocationTypeAppSpecContent, AppSpecContent: &types.AppSpecContent{Content: aws.String(content)}},
	})
	if err != nil {
		return apiErr("CreateDeployment", err)
	}
	f.st.DeploymentID = aws.ToString(out.DeploymentId)
	f.e.log.Debug("codedeployengine: created", "service", f.run.Service(), "deployment", f.st.DeploymentID, "config", config)
	return f.save()
}

// find looks for the deployment created under the saved intent: one of
// the group's created since shortly before it, with the marker as its
// description.
func (f *follower) find() (string, error) {
	in := &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(f.svc.Application), DeploymentGroupName: aws.String(f.svc.DeploymentGroup),
		CreateTimeRange: &types.TimeRange{Start: aws.Time(f.st.Intent.Add(-5 * time.Minute))}}
	for range 100 { // pages
		out, err := f.e.opts.Client.ListDeployments(f.ctx(), in)
		if err != nil {
			return "", apiErr("ListDeployments", err)
		}
		for _, id := range out.Deployments {
			d, err := f.e.opts.Client.GetDeployment(f.ctx(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
			if err != nil {
				return "", apiErr("GetDeployment", err)
			}
			if d.DeploymentInfo != nil && aws.ToString(d.DeploymentInfo.Description) == f.st.Marker {
				return id, nil
			}
		}
		if out.NextToken == nil {
			return "", nil
		}
		in.NextToken = out.NextToken
	}
	return "", nil
}

// appSpec builds the deployment's AppSpec, in JSON.
func (f *follower) appSpec() (string, error) {
	td := f.run.Revision().Name
	if raw := f.run.Revision().Spec; len(raw) > 0 {
		var s Spec
		if err := json.Unmarshal(raw, &s); err != nil || strings.TrimSpace(s.TaskDefinition) == "" {
			return "", &bluegreen.ConfigError{Field: "Revision.Spec", Problem: fmt.Sprintf("%.100q is not a codedeployengine.Spec with a taskDefinition", raw),
				Fix: `use {"taskDefinition": "arn:aws:ecs:...:task-definition/web:42"}`}
		}
		td = s.TaskDefinition
	}
	a := AppSpec{Version: "0.0", TaskDefinition: td, ContainerName: f.svc.ContainerName, ContainerPort: f.svc.ContainerPort, Hooks: f.svc.Hooks}
	b, err := a.MarshalJSON()
	return string(b), err
}

// follow polls the deployment, reporting what it does and answering its
// waits, until it ends.
func (f *follower) follow() error {
	if f.st.Stopping {
		return f.rollBack(nil, true)
	}
	for {
		c := f.ctx()
		done, err := f.poll()
		if err != nil && c.Err() != nil {
			// The caller's context ended during a call: Sleep turns that
			// into a rollback command (or the end of following).
			done, err = false, nil
		}
		if done || err != nil {
			return err
		}
		cmd, err := f.run.Sleep(f.e.opts.PollInterval)
		if err != nil {
			return err
		}
		if cmd != nil {
			if done, err := f.command(cmd); done || err != nil {
				return err
			}
		}
	}
}

// poll reads the deployment once and acts on what it shows; done says
// the deployment ended.
func (f *follower) poll() (bool, error) {
	d, err := f.e.opts.Client.GetDeployment(f.ctx(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(f.st.DeploymentID)})
	if err != nil {
		return false, apiErr("GetDeployment", err)
	}
	info := d.DeploymentInfo
	if err := f.readTarget(); err != nil {
		return false, err
	}
	switch info.Status {
	case types.DeploymentStatusSucceeded:
		for _, s := range []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift, bluegreen.StageBakeTime, bluegreen.StageCleanUp} {
			f.run.Stage(s, 0)
		}
		return true, f.run.End(bluegreen.OutcomeSucceeded)
	case types.DeploymentStatusFailed, types.DeploymentStatusStopped:
		return true, f.rollBack(nil, false)
	case types.DeploymentStatusReady:
		if !f.readyDone {
			return f.readyWait()
		}
	default:
		if (info.InstanceTerminationWaitTimeStarted || info.Status == types.DeploymentStatusBaking) && !f.termDone {
			return f.terminationWait()
		}
	}
	return false, nil
}

// command carries out a caller's command; done says the deployment ended.
func (f *follower) command(cmd *bluegreen.EngineCommand) (bool, error) {
	switch cmd.Kind {
	case bluegreen.CommandRollback:
		if f.termDone {
			cmd.Refuse("too late: CodeDeploy is removing the original task set")
			return false, nil
		}
		cmd.Accept()
		return true, f.rollBack(cmd.Rollback, true)
	case bluegreen.CommandPromote:
		if !f.baking {
			cmd.Refuse("CodeDeploy can skip only its wait before removing the original task set (ContinueDeployment TERMINATION_WAIT), and the deployment is not there: it cannot skip the steps of its traffic shift")
			return false, nil
		}
		if err := f.continueWait(types.DeploymentWaitTypeTerminationWait); err != nil {
			cmd.Refuse(err.Error())
			return false, nil
		}
		cmd.Accept()
		return false, nil
	}
	cmd.Refuse("not paused: the deployment is not waiting on a pause hook")
	return false, nil
}

func (f *follower) continueWait(t types.DeploymentWaitType) error {
	_, err := f.e.opts.Client.ContinueDeployment(f.ctx(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(f.st.DeploymentID), DeploymentWaitType: t})
	if err != nil {
		return apiErr("ContinueDeployment "+string(t), err)
	}
	f.e.log.Debug("codedeployengine: continued", "deployment", f.st.DeploymentID, "wait", t)
	if t == types.DeploymentWaitTypeTerminationWait {
		f.termDone, f.baking = true, false
		f.run.Stage(bluegreen.StageCleanUp, 0)
	}
	return nil
}

// readyWait runs the hooks of the stages bound to READY_WAIT and releases
// the wait, or rolls back.
func (f *follower) readyWait() (bool, error) {
	for _, s := range readyStages {
		step := 0
		if s == bluegreen.StagePreProductionTrafficShift {
			step = 1
		}
		f.run.Stage(s, step)
		if len(f.spec.Hooks[s]) == 0 {
			continue
		}
		info, err := f.run.Hooks(s, step, false)
		if err != nil {
			return true, err
		}
		if info != nil {
			return true, f.rollBack(info, true)
		}
	}
	if err := f.continueWait(types.DeploymentWaitTypeReadyWait); err != nil {
		return true, err
	}
	f.readyDone = true
	return false, nil
}

// terminationWait runs the hooks of the stages bound to TERMINATION_WAIT,
// then the bake time, then releases the wait.
func (f *follower) terminationWait() (bool, error) {
	if !f.baking {
		for _, s := range terminationStages {
			f.run.Stage(s, 0)
			if len(f.spec.Hooks[s]) == 0 {
				continue
			}
			info, err := f.run.Hooks(s, 0, false)
			if err != nil {
				return true, err
			}
			if info != nil {
				return true, f.rollBack(info, true)
			}
		}
		f.run.Stage(bluegreen.StageBakeTime, 0)
		f.baking, f.bakeUntil = true, time.Now().Add(f.spec.BakeTime)
	}
	for f.baking {
		left := time.Until(f.bakeUntil)
		if left <= 0 {
			err := f.continueWait(types.DeploymentWaitTypeTerminationWait)
			if apiCode(err) == "DeploymentIsNotInReadyStateException" || apiCode(err) == "DeploymentAlreadyCompletedException" {
				// CodeDeploy's own wait ended first.
				f.termDone, f.baking = true, false
				f.run.Stage(bluegreen.StageCleanUp, 0)
				return false, nil
			}
			return false, err
		}
		cmd, err := f.run.Sleep(min(left, f.e.opts.PollInterval))
		if err != nil {
			return true, err
		}
		if cmd != nil {
			if done, err := f.command(cmd); done || err != nil {
				return true, err
			}
		}
		if left > f.e.opts.PollInterval {
			return false, nil // read the deployment again
		}
	}
	return false, nil
}

// readTarget reads the ECS target's lifecycle events and task sets and
// reports the stages and traffic they show.
func (f *follower) readTarget() error {
	if f.target == "" {
		out, err := f.e.opts.Client.ListDeploymentTargets(f.ctx(), &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(f.st.DeploymentID)})
		if err != nil {
			return apiErr("ListDeploymentTargets", err)
		}
		if len(out.TargetIds) == 0 {
			return nil // not yet
		}
		f.target = out.TargetIds[0]
	}
	out, err := f.e.opts.Client.GetDeploymentTarget(f.ctx(), &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(f.st.DeploymentID), TargetId: aws.String(f.target)})
	if err != nil {
		return apiErr("GetDeploymentTarget", err)
	}
	if out.DeploymentTarget == nil || out.DeploymentTarget.EcsTarget == nil {
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("codedeployengine: deployment %s has no ECS target", f.st.DeploymentID))
	}
	t := out.DeploymentTarget.EcsTarget
	var green float64
	for _, ts := range t.TaskSetsInfo {
		if ts.TaskSetLabel == types.TargetLabelGreen {
			green = ts.TrafficWeight
		}
	}
	for _, ev := range t.LifecycleEvents {
		switch ev.Status {
		case types.LifecycleEventStatusPending, types.LifecycleEventStatusSkipped, types.LifecycleEventStatusUnknown, "":
			continue
		}
		name := aws.ToString(ev.LifecycleEventName)
		if name == "AllowTraffic" {
			f.reportSteps(green, ev.Status == types.LifecycleEventStatusSucceeded)
			continue
		}
		s, ok := EventStage(name)
		if !ok {
			continue
		}
		step := 0
		if s == bluegreen.StagePreProductionTrafficShift {
			step = 1
		}
		f.run.Stage(s, step)
		if s == bluegreen.StageTestTrafficShift && !f.testShown {
			f.testShown = true
			f.run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB})
		}
	}
	return nil
}

// reportSteps reports the production steps green's weight (in percent)
// has reached.
func (f *follower) reportSteps(green float64, all bool) {
	w := bluegreen.Weight(math.Round(green * 10))
	for f.step < len(f.spec.Steps) {
		next := f.spec.Steps[f.step]
		if !all && w < next.Green {
			return
		}
		f.step++
		f.run.Stage(bluegreen.StagePreProductionTrafficShift, f.step)
		f.run.Stage(bluegreen.StageProductionTrafficShift, f.step)
		f.run.Traffic(bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, next.Green), Test: bluegreen.SlotB})
	}
}

// EventStage returns the library stage an ECS lifecycle event of
// CodeDeploy's stands for (AllowTraffic: PRODUCTION_TRAFFIC_SHIFT).
func EventStage(event string) (bluegreen.Stage, bool) {
	s, ok := map[string]bluegreen.Stage{
		"BeforeInstall":         bluegreen.StagePreScaleUp,
		"Install":               bluegreen.StageScaleUp,
		"AfterInstall":          bluegreen.StagePostScaleUp,
		"AllowTestTraffic":      bluegreen.StageTestTrafficShift,
		"AfterAllowTestTraffic": bluegreen.StagePostTestTrafficShift,
		"BeforeAllowTraffic":    bluegreen.StagePreProductionTrafficShift,
		"AllowTraffic":          bluegreen.StageProductionTrafficShift,
		"AfterAllowTraffic":     bluegreen.StagePostProductionTrafficShift,
	}[event]
	return s, ok
}

// rollBack rolls the deployment back: StopDeployment with
// autoRollbackEnabled (when stop), then the rollback deployment CodeDeploy
// starts is followed to its end. info is nil when CodeDeploy failed or
// stopped the deployment itself.
func (f *follower) rollBack(info *bluegreen.RollbackInfo, stop bool) error {
	id := f.st.DeploymentID
	if info != nil {
		if err := f.run.RollingBack(*info); err != nil {
			return err
		}
	}
	if stop && !f.st.Stopping {
		f.st.Stopping = true
		if err := f.save(); err != nil {
			return err
		}
	}
	var rollbackID string
	called := false
	for {
		d, err := f.e.opts.Client.GetDeployment(f.ctx(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err != nil {
			return apiErr("GetDeployment", err)
		}
		di := d.DeploymentInfo
		switch di.Status {
		case types.DeploymentStatusFailed, types.DeploymentStatusStopped:
		case types.DeploymentStatusSucceeded:
			if f.st.Stopping {
				return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("codedeployengine: deployment %s succeeded before StopDeployment reached it", id))
			}
		default:
			if (stop || f.st.Stopping) && !called {
				if _, err := f.e.opts.Client.StopDeployment(f.ctx(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)}); err != nil {
					return apiErr("StopDeployment", err)
				}
				f.e.log.Debug("codedeployengine: stopped", "deployment", id)
				called = true
				continue
			}
		}
		if info == nil && (di.Status == types.DeploymentStatusFailed || di.Status == types.DeploymentStatusStopped) {
			reason := "CodeDeploy ended the deployment " + string(di.Status)
			by := "codedeploy"
			if di.ErrorInformation != nil {
				reason += ": " + aws.ToString(di.ErrorInformation.Message)
				by = string(di.ErrorInformation.Code)
			}
			info = &bluegreen.RollbackInfo{Trigger: bluegreen.TriggerBackend, By: by, Reason: reason}
			if err := f.run.RollingBack(*info); err != nil {
				return err
			}
		}
		if di.RollbackInfo != nil && aws.ToString(di.RollbackInfo.RollbackDeploymentId) != "" {
			rollbackID = aws.ToString(di.RollbackInfo.RollbackDeploymentId)
			break
		}
		if di.Status == types.DeploymentStatusFailed || di.Status == types.DeploymentStatusStopped {
			if f.step == 0 {
				// No rollback deployment, but production never left blue.
				f.run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA})
				return f.run.End(bluegreen.OutcomeRolledBack)
			}
			return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("codedeployengine: deployment %s ended %s after moving production traffic, with no rollback deployment", id, di.Status))
		}
		if _, err := f.sleepRollingBack(); err != nil {
			return err
		}
	}
	for {
		d, err := f.e.opts.Client.GetDeployment(f.ctx(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(rollbackID)})
		if err != nil {
			return apiErr("GetDeployment", err)
		}
		switch di := d.DeploymentInfo; di.Status {
		case types.DeploymentStatusSucceeded:
			f.run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA})
			return f.run.End(bluegreen.OutcomeRolledBack)
		case types.DeploymentStatusFailed, types.DeploymentStatusStopped:
			msg := ""
			if di.ErrorInformation != nil {
				msg = aws.ToString(di.ErrorInformation.Message)
			}
			return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("codedeployengine: rollback deployment %s ended %s: %s", rollbackID, di.Status, msg))
		}
		if _, err := f.sleepRollingBack(); err != nil {
			return err
		}
	}
}

// sleepRollingBack waits a poll interval during a rollback, refusing
// commands.
func (f *follower) sleepRollingBack() (bool, error) {
	cmd, err := f.run.Sleep(f.e.opts.PollInterval)
	if err != nil {
		return false, err
	}
	if cmd != nil {
		if cmd.Kind == bluegreen.CommandRollback {
			cmd.Accept()
		} else {
			cmd.Refuse("the deployment is rolling back")
		}
	}
	return cmd != nil, nil
}

var (
	_ bluegreen.Engine        = (*Engine)(nil)
	_ bluegreen.EngineChecker = (*Engine)(nil)
)
