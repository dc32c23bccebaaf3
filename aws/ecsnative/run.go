package ecsnative

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/bluegreen-go/bluegreen"
)

// state is what the engine saves with the deployment.
type state struct {
	// TaskDefinition and Since are the intent, saved before UpdateService:
	// a re-attaching engine that finds no ARN looks for a service
	// deployment of TaskDefinition created since then before starting one.
	TaskDefinition string    `json:"taskDefinition"`
	Since          time.Time `json:"since"`
	// ARN is the service deployment's.
	ARN string `json:"serviceDeploymentArn,omitempty"`
	// Rollback is saved before the engine asks ECS to roll back.
	Rollback *bluegreen.RollbackInfo `json:"rollback,omitempty"`
}

// adoptSkew is how far before the saved intent a service deployment's
// creation time may lie (clock skew between this host and ECS).
const adoptSkew = 5 * time.Minute

// Run starts the ECS service deployment (UpdateService), or re-attaches to
// the one the saved state names, and follows it to its end.
func (e *Engine) Run(ctx context.Context, run *bluegreen.EngineRun) error {
	var st state
	if raw := run.State(); raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil || st.TaskDefinition == "" {
			return bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("ecsnative: saved engine state %.200q is not this engine's", raw))
		}
	}
	f := &follower{e: e, run: run, st: &st, spec: run.Spec(), service: e.serviceName(run.Service()), hooks: map[string]string{}}
	f.positions = f.spec.Positions()
	f.at = -1
	if st.ARN == "" {
		if err := f.start(); err != nil {
			return err
		}
	} else {
		f.reattached = true
	}
	return f.follow()
}

// follower follows one service deployment.
type follower struct {
	e          *Engine
	run        *bluegreen.EngineRun
	st         *state
	spec       bluegreen.EngineSpec
	service    string
	positions  []bluegreen.Position
	at         int               // index of the last position reported
	reattached bool              // the first observation starts the report
	hooks      map[string]string // Lambda hook id -> last status reported
	stage      string            // ECS's lifecycleStage last seen
	answered   map[string]bool   // PAUSE hook ids answered
	stopped    bool              // StopServiceDeployment sent
	rbTraffic  bool              // rollback traffic reported
	failures   int               // consecutive failed polls
}

func (f *follower) save() error {
	raw, err := json.Marshal(f.st)
	if err != nil {
		return err
	}
	return f.run.Save(raw)
}

// start checks the service and starts the service deployment, saving the
// intent before and the ARN after; or adopts the deployment an earlier
// start made before its process died.
func (f *follower) start() error {
	ctx := f.run.Context()
	td, err := taskDefinition(f.run.Revision())
	if err != nil {
		return err
	}
	out, err := f.e.opts.Client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(f.e.opts.Cluster), Services: []string{f.service}})
	if err != nil {
		return fmt.Errorf("ecsnative: DescribeServices %s: %w", f.service, err)
	}
	if len(out.Services) == 0 {
		return bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("ecsnative: service %s not found in cluster %s", f.service, f.e.opts.Cluster))
	}
	svc := out.Services[0]
	if err := f.e.checkService(svc); err != nil {
		return err
	}
	// A deployment in progress: ours (an earlier start of this deployment
	// died before saving its ARN) or someone else's.
	list, err := f.e.opts.Client.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(f.e.opts.Cluster), Service: aws.String(f.service),
		Status: []ecstypes.ServiceDeploymentStatus{ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusInProgress,
			ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress, ecstypes.ServiceDeploymentStatusStopRequested}})
	if err != nil {
		return fmt.Errorf("ecsnative: ListServiceDeployments %s: %w", f.service, err)
	}
	for _, b := range list.ServiceDeployments {
		if !f.st.Since.IsZero() && aws.ToString(svc.TaskDefinition) == f.st.TaskDefinition && b.CreatedAt != nil && !b.CreatedAt.Before(f.st.Since.Add(-adoptSkew)) {
			f.st.ARN = aws.ToString(b.ServiceDeploymentArn)
			f.e.opts.Logger.Info("ecsnative: adopting the service deployment an earlier start made", "service", f.service, "arn", f.st.ARN)
			return f.save()
		}
		return &ServiceError{Service: f.service, Field: "service deployment " + aws.ToString(b.ServiceDeploymentArn), Problem: string(b.Status),
			Fix: "another deployment of the service is under way: wait for it to end, or stop it with StopServiceDeployment"}
	}
	if aws.ToString(svc.TaskDefinition) == td && f.st.Since.IsZero() {
		return &ServiceError{Service: f.service, Field: "taskDefinition", Problem: "the service already runs " + td,
			Fix: "deploy a new task definition revision"}
	}
	// The intent, saved before acting: UpdateService has no client token,
	// but a repeated UpdateService with the same task definition starts no
	// second deployment, and a re-attach adopts the one it finds.
	if f.st.Since.IsZero() {
		f.st.TaskDefinition, f.st.Since = td, time.Now()
		if err := f.save(); err != nil {
			return err
		}
	}
	in := &ecs.UpdateServiceInput{Cluster: aws.String(f.e.opts.Cluster), Service: aws.String(f.service), TaskDefinition: aws.String(td),
		DeploymentConfiguration: f.e.deploymentConfiguration(f.spec)}
	if lbs := f.e.loadBalancers(); len(lbs) > 0 {
		in.LoadBalancers = lbs
	}
	up, err := f.e.opts.Client.UpdateService(ctx, in)
	if err != nil {
		return fmt.Errorf("ecsnative: UpdateService %s to %s: %w", f.service, td, err)
	}
	if up.Service == nil || aws.ToString(up.Service.CurrentServiceDeployment) == "" {
		return bluegreen.NewError(bluegreen.CodeUnknown, fmt.Errorf("ecsnative: UpdateService %s returned no currentServiceDeployment", f.service))
	}
	f.st.ARN = aws.ToString(up.Service.CurrentServiceDeployment)
	f.e.opts.Logger.Info("ecsnative: service deployment started", "service", f.service, "arn", f.st.ARN, "taskDefinition", td)
	return f.save()
}

// follow polls the service deployment and reports it, answering its
// pauses and carrying out the caller's commands, until it ends.
func (f *follower) follow() error {
	f.answered = map[string]bool{}
	for {
		ctx := f.run.Context()
		sd, err := f.describe()
		if err != nil && ctx.Err() != nil {
			// The caller canceled between two polls: Sleep turns it into a
			// rollback command (with a fresh Context) or the end of following.
			cmd, err := f.run.Sleep(f.e.opts.PollInterval)
			if err != nil {
				return err
			}
			if cmd != nil {
				if err := f.command(cmd); err != nil {
					return err
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		if sd != nil {
			done, err := f.observe(sd)
			if done || err != nil {
				return err
			}
			if again, err := f.pause(sd); err != nil {
				return err
			} else if again {
				continue
			}
		}
		cmd, err := f.run.Sleep(f.e.opts.PollInterval)
		if err != nil {
			return err
		}
		if cmd != nil {
			if err := f.command(cmd); err != nil {
				return err
			}
		}
	}
}

// describe reads the service deployment; nil (to poll again) after a
// transient failure, of which it tolerates a few in a row.
func (f *follower) describe() (*ecstypes.ServiceDeployment, error) {
	out, err := f.e.opts.Client.DescribeServiceDeployments(f.run.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{f.st.ARN}})
	if err == nil && len(out.ServiceDeployments) == 0 {
		return nil, bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("ecsnative: service deployment %s not found", f.st.ARN))
	}
	if err != nil {
		switch f.e.ErrorCode(err) {
		case bluegreen.CodeTransient, bluegreen.CodeThrottled, bluegreen.CodeTimeout:
			if f.failures++; f.failures <= 5 {
				f.e.opts.Logger.Warn("ecsnative: reading the service deployment failed; polling again", "arn", f.st.ARN, "err", err)
				return nil, nil
			}
		}
		return nil, fmt.Errorf("ecsnative: DescribeServiceDeployments %s: %w", f.st.ARN, err)
	}
	f.failures = 0
	return &out.ServiceDeployments[0], nil
}

// observe reports what the service deployment shows; done when it ended.
func (f *follower) observe(sd *ecstypes.ServiceDeployment) (done bool, err error) {
	f.stage = string(sd.LifecycleStage)
	switch sd.Status {
	case ecstypes.ServiceDeploymentStatusPending, ecstypes.ServiceDeploymentStatusInProgress:
		if f.st.Rollback != nil && !f.stopped && !awaitingPause(sd) {
			// A rollback was asked (and saved) but ECS goes on: the process
			// died in between, or a pause timed out with CONTINUE meanwhile.
			return false, f.stop(*f.st.Rollback)
		}
		if i := f.position(sd); i >= 0 {
			f.report(i)
		}
		f.lambdaEvents(sd) // after the stage they run at is reported
	case ecstypes.ServiceDeploymentStatusSuccessful:
		f.lambdaEvents(sd)
		f.report(len(f.positions) - 1)
		return true, f.run.End(bluegreen.OutcomeSucceeded)
	case ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress, ecstypes.ServiceDeploymentStatusRollbackSuccessful:
		f.lambdaEvents(sd) // the answer that made ECS roll back comes first
		if err := f.run.RollingBack(f.rollbackInfo(sd)); err != nil {
			return false, err
		}
		if !f.rbTraffic && (sd.Status == ecstypes.ServiceDeploymentStatusRollbackSuccessful || productionWeight(sd) == 0) {
			f.rbTraffic = true
			f.run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA})
		}
		if sd.Status == ecstypes.ServiceDeploymentStatusRollbackSuccessful {
			return true, f.run.End(bluegreen.OutcomeRolledBack)
		}
	default: // STOPPED, STOP_REQUESTED, ROLLBACK_FAILED
		return false, bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf("ecsnative: service deployment %s is %s: %s",
			f.st.ARN, sd.Status, aws.ToString(sd.StatusReason)))
	}
	return false, nil
}

// rollbackInfo says why ECS rolls back: the caller's or a hook's reason
// saved before asking, an alarm, a Lambda hook, or ECS's status reason.
func (f *follower) rollbackInfo(sd *ecstypes.ServiceDeployment) bluegreen.RollbackInfo {
	if f.st.Rollback != nil {
		return *f.st.Rollback
	}
	reason := aws.ToString(sd.StatusReason)
	if sd.Rollback != nil && aws.ToString(sd.Rollback.Reason) != "" {
		reason = aws.ToString(sd.Rollback.Reason)
	}
	if reason == "" {
		reason = "ECS rolled the service deployment back"
	}
	if a := sd.Alarms; a != nil && len(a.TriggeredAlarmNames) > 0 {
		return bluegreen.RollbackInfo{Trigger: bluegreen.TriggerMonitor, By: a.TriggeredAlarmNames[0], Reason: reason}
	}
	for _, h := range sd.LifecycleHookDetails {
		if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda && h.Status == ecstypes.DeploymentLifecycleHookStatusFailed {
			return bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: f.lambdaName(aws.ToString(h.TargetArn)), Reason: reason}
		}
	}
	return bluegreen.RollbackInfo{Trigger: bluegreen.TriggerBackend, By: "ecs", Reason: reason}
}

func productionWeight(sd *ecstypes.ServiceDeployment) float64 {
	if t := sd.TargetServiceRevision; t != nil && t.RequestedProductionTrafficWeight != nil {
		return *t.RequestedProductionTrafficWeight
	}
	return -1
}

func awaitingPause(sd *ecstypes.ServiceDeployment) bool {
	_, ok := pauseHook(sd)
	return ok
}

func pauseHook(sd *ecstypes.ServiceDeployment) (ecstypes.DeploymentLifecycleHookDetail, bool) {
	for _, h := range sd.LifecycleHookDetails {
		if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause && h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
			return h, true
		}
	}
	return ecstypes.DeploymentLifecycleHookDetail{}, false
}

// pause answers a PAUSE hook awaiting action: the stage's in-process hooks
// run, then ContinueServiceDeployment with CONTINUE or ROLLBACK. again is
// true when the deployment should be read again at once.
func (f *follower) pause(sd *ecstypes.ServiceDeployment) (again bool, err error) {
	if sd.Status != ecstypes.ServiceDeploymentStatusInProgress {
		return false, nil
	}
	h, ok := pauseHook(sd)
	id := aws.ToString(h.HookId)
	if !ok || f.answered[id] {
		return false, nil
	}
	stage, step := f.pauseStage(sd)
	var info *bluegreen.RollbackInfo
	if f.st.Rollback != nil {
		info = f.st.Rollback
	} else {
		if i := f.index(stage, step); i >= 0 {
			f.report(i)
		}
		info, err = f.run.Hooks(stage, step, false)
		if err != nil {
			return false, err
		}
	}
	action := ecstypes.DeploymentLifecycleHookActionContinue
	if info != nil {
		action = ecstypes.DeploymentLifecycleHookActionRollback
		if f.st.Rollback == nil {
			f.st.Rollback = info
			if err := f.save(); err != nil {
				return false, err
			}
		}
	}
	_, err = f.e.opts.Client.ContinueServiceDeployment(f.run.Context(), &ecs.ContinueServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(f.st.ARN), HookId: aws.String(id), Action: action})
	f.answered[id] = true
	switch {
	case err == nil:
	case apiCode(err) == "ConflictException":
		// The pause is no longer awaiting action (it timed out): poll again;
		// a saved rollback is carried out with StopServiceDeployment.
		f.e.opts.Logger.Warn("ecsnative: the pause was no longer awaiting action", "arn", f.st.ARN, "hook", id, "err", err)
	default:
		return false, fmt.Errorf("ecsnative: ContinueServiceDeployment %s %s: %w", f.st.ARN, action, err)
	}
	if info != nil && err == nil {
		f.stopped = true
		if err := f.run.RollingBack(*info); err != nil {
			return false, err
		}
	}
	return true, nil
}

// pauseStage maps a pause to the library's stage: ECS reports the
// PRE_PRODUCTION_TRAFFIC_SHIFT pause before step k as lifecycleStage
// PRODUCTION_TRAFFIC_SHIFT with step k-1's weight (a PAUSE hook cannot be
// at PRODUCTION_TRAFFIC_SHIFT itself).
func (f *follower) pauseStage(sd *ecstypes.ServiceDeployment) (bluegreen.Stage, int) {
	if sd.LifecycleStage == ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift {
		return bluegreen.StagePreProductionTrafficShift, f.stepsAt(productionWeight(sd)) + 1
	}
	s, err := bluegreen.ParseStage(string(sd.LifecycleStage))
	if err != nil {
		return 0, 0
	}
	return s, 0
}

// stepsAt counts the steps done at weight w (percent).
func (f *follower) stepsAt(w float64) int {
	n := 0
	for _, s := range f.spec.Steps {
		if bluegreen.Percent(w) >= s.Green {
			n++
		}
	}
	return n
}

// command carries out a caller's command.
func (f *follower) command(cmd *bluegreen.EngineCommand) error {
	switch cmd.Kind {
	case bluegreen.CommandRollback:
		if f.stage == string(ecstypes.ServiceDeploymentLifecycleStageCleanUp) || f.st.Rollback != nil {
			cmd.Refuse("too late: ECS is at " + f.stage + (map[bool]string{true: ", already rolling back", false: ", removing blue"})[f.st.Rollback != nil])
			return nil
		}
		info := *cmd.Rollback
		f.st.Rollback = &info
		if err := f.save(); err != nil {
			cmd.Refuse(err.Error())
			return err
		}
		if err := f.stop(info); err != nil {
			if apiCode(err) == "ConflictException" {
				f.st.Rollback = nil
				cmd.Refuse("ECS refused to stop the service deployment: " + err.Error())
				return f.save()
			}
			cmd.Refuse(err.Error())
			return err
		}
		cmd.Accept()
	case bluegreen.CommandPromote:
		cmd.Refuse("ECS cannot cut a traffic step or the bake time short: a service deployment can only be continued at a PAUSE hook (ContinueServiceDeployment) or rolled back (StopServiceDeployment)")
	default:
		cmd.Refuse("not paused: ECS's service deployment is at " + f.stage + " and awaits no action")
	}
	return nil
}

// stop asks ECS to roll the deployment back and reports the rollback.
func (f *follower) stop(info bluegreen.RollbackInfo) error {
	_, err := f.e.opts.Client.StopServiceDeployment(f.run.Context(), &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(f.st.ARN), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
	if err != nil {
		return fmt.Errorf("ecsnative: StopServiceDeployment %s: %w", f.st.ARN, err)
	}
	f.stopped = true
	return f.run.RollingBack(info)
}

func (f *follower) lambdaName(arn string) string {
	for _, h := range f.e.opts.LambdaHooks {
		if h.FunctionARN == arn && h.Name != "" {
			return h.Name
		}
	}
	return arn
}

// lambdaEvents reports ECS's AWS_LAMBDA hook calls and answers.
func (f *follower) lambdaEvents(sd *ecstypes.ServiceDeployment) {
	for _, h := range sd.LifecycleHookDetails {
		if h.TargetType != ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda {
			continue
		}
		id, status := aws.ToString(h.HookId), string(h.Status)
		last, seen := f.hooks[id]
		if last == status {
			continue
		}
		f.hooks[id] = status
		name := f.lambdaName(aws.ToString(h.TargetArn))
		// During the rollback: the hooks ECS runs again, not the one that
		// failed and caused it.
		rb := sd.Status != ecstypes.ServiceDeploymentStatusInProgress && sd.Status != ecstypes.ServiceDeploymentStatusSuccessful &&
			h.Status != ecstypes.DeploymentLifecycleHookStatusFailed && h.Status != ecstypes.DeploymentLifecycleHookStatusTimedOut
		if !seen {
			f.run.Emit(bluegreen.Event{Kind: bluegreen.EventHookCalled, Hook: name, Attempt: 1, DuringRollback: rb})
		}
		switch h.Status {
		case ecstypes.DeploymentLifecycleHookStatusSucceeded:
			f.run.Emit(bluegreen.Event{Kind: bluegreen.EventHookAnswered, Hook: name, HookStatus: bluegreen.HookSucceeded, DuringRollback: rb})
		case ecstypes.DeploymentLifecycleHookStatusFailed:
			f.run.Emit(bluegreen.Event{Kind: bluegreen.EventHookAnswered, Hook: name, HookStatus: bluegreen.HookFailed, DuringRollback: rb})
		case ecstypes.DeploymentLifecycleHookStatusTimedOut:
			f.run.Emit(bluegreen.Event{Kind: bluegreen.EventHookAnswered, Hook: name, HookStatus: bluegreen.HookFailed, Reason: "timed out", DuringRollback: rb})
		}
	}
}
