package bluegreen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Engine runs a deployment's lifecycle on a platform that runs blue/green
// itself — ECS's native blue/green deployments, CodeDeploy — instead of the
// Deployer's own stage machine over Compute and Router. The caller's surface
// stays the same: the Deployment handle, its Events, Wait, Rollback,
// Continue and Promote, the Callbacks, Result and error codes, the in-process
// Hooks, the Store's record and lease, and Reconcile after a crash.
//
// Set Config.Engine to use one. The Deployer takes the service's lease,
// saves the deployment's first state and hands the rest to Run, through an
// EngineRun that reports back what the platform does.
type Engine interface {
	// Run starts the deployment on the platform — or, when run.State()
	// holds what an earlier Run saved (its process died, and Reconcile
	// re-attaches), follows the deployment already under way — and follows
	// it to its end, reporting stages, traffic, hook and rollback events
	// through run and answering the platform's pauses with run.Hooks. It
	// ends the deployment with run.End and returns nil, or returns an error
	// when it cannot follow the deployment to its end: the deployment then
	// stays unfinished in the store, for Reconcile to re-attach.
	//
	// ctx is run.Context() when Run is called; make the platform's calls
	// with run.Context(), which is replaced by a fresh one when the caller
	// cancels and the deployment rolls back.
	//
	// Run saves what it needs to re-attach (the platform's deployment id)
	// with run.Save before it acts on it, as the Deployer does: a crash at
	// any instant must leave enough to find the deployment again, and a
	// repeated start must not start a second one (use a client token
	// derived from run.DeploymentID()).
	Run(ctx context.Context, run *EngineRun) error
}

// EngineChecker is an optional interface of Engine for engines that refuse
// some configurations (a platform's ranges for step percentages and bake
// times, the stages it allows hooks on). New calls it, so bad input is
// refused before anything is changed.
type EngineChecker interface {
	// CheckConfig returns a *ConfigError naming the field and the fix, or nil.
	CheckConfig(spec EngineSpec) error
}

// EngineSpec is what a deployment asks of an engine, from Config.
type EngineSpec struct {
	// Shift is the production shift strategy, and Steps its resolved steps.
	Shift Shift
	Steps []Step
	// BakeTime is how long both run after the shift.
	BakeTime time.Duration
	// Hooks are the in-process hooks and pauses, by stage. An engine turns
	// each stage that has any into a pause of the platform's (ECS's PAUSE
	// hook, CodeDeploy's wait) and calls EngineRun.Hooks there.
	Hooks map[Stage][]LifecycleHook
}

// Position is a place in a deployment's lifecycle: a stage, and for the two
// production shift stages the step (from 1).
type Position struct {
	Stage Stage
	Step  int
}

// Positions lists the lifecycle positions a platform passes, in order:
// every stage once, from RECONCILE_SERVICE to CLEAN_UP, with
// PRE_PRODUCTION_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT once per step
// of Steps. It is the schedule the Deployer's own engine walks, so that an
// engine reports the same stages in the same order.
func (s EngineSpec) Positions() []Position {
	sched := schedule(s.Steps, false)
	ps := make([]Position, 0, len(sched)+1)
	ps = append(ps, Position{Stage: StageReconcileService})
	for _, p := range sched {
		ps = append(ps, Position{Stage: p.Stage, Step: p.Step})
	}
	return ps
}

// EngineRun is an Engine's handle on one deployment: what to deploy, where
// to save what it must remember, and how to report what happens. Its
// methods are called from the goroutine that called Engine.Run.
type EngineRun struct {
	r       *run
	ended   bool
	outcome Outcome
}

// Service returns the service being deployed.
func (er *EngineRun) Service() string { return er.r.service }

// Revision returns the revision being deployed.
func (er *EngineRun) Revision() Revision { return er.r.st.Green.Revision }

// DeploymentID returns the deployment's id: the base of client tokens, so
// a repeated start creates nothing twice.
func (er *EngineRun) DeploymentID() string { return er.r.st.ID }

// Spec returns what the deployment asks of the engine.
func (er *EngineRun) Spec() EngineSpec { return er.r.d.engineSpec() }

// State returns what the engine last saved for this deployment; nil on a
// fresh start.
func (er *EngineRun) State() json.RawMessage { return bytes.Clone(er.r.st.Engine) }

// Save saves the engine's state of the deployment (it must be JSON) in the
// store, with the lease renewed. A lost lease aborts: Run should return the
// error.
func (er *EngineRun) Save(state json.RawMessage) error {
	if !json.Valid(state) {
		return &Error{Code: CodeInvalid, Service: er.r.service, Op: "EngineRun.Save", Err: fmt.Errorf("the engine state is not JSON: %.100q", state)}
	}
	er.r.st.Engine = bytes.Clone(state)
	return unwrapAbort(er.r.persist())
}

// Stage reports that the platform's deployment entered stage (at step,
// for the production shift stages): the stage before it is reported
// finished. Stages must come in lifecycle order; a stage reported again is
// ignored.
func (er *EngineRun) Stage(stage Stage, step int) {
	r := er.r
	if !stage.Valid() || positionKey(stage, step) <= positionKey(r.stage, r.step) {
		return
	}
	if r.stage != 0 && !r.rollingBack {
		r.emit(Event{Kind: EventStageFinished})
	}
	r.stage, r.step = stage, step
	r.st.Stage, r.st.Step = stage, step
	r.unsaved = true
	if stage >= StagePostProductionTrafficShift {
		r.st.ShiftDone = true
	}
	r.emit(Event{Kind: EventStageStarted})
}

// positionKey orders lifecycle positions: the stages in order, the two
// production shift stages interleaved step by step.
func positionKey(stage Stage, step int) int {
	switch stage {
	case StagePreProductionTrafficShift, StageProductionTrafficShift:
		k := int(StagePreProductionTrafficShift)*1_000_000 + 2*step
		if stage == StageProductionTrafficShift {
			k++
		}
		return k
	}
	return int(stage) * 1_000_000
}

// Traffic reports routes the platform put in force.
func (er *EngineRun) Traffic(routes Routes) {
	er.r.st.Routes = routes
	er.r.unsaved = true
	rt := routes
	er.r.emit(Event{Kind: EventTrafficShifted, Routes: &rt, DuringRollback: er.r.rollingBack})
}

// Emit reports another event of the platform's (a platform hook called or
// answering, green's health). Its kind must not be one the EngineRun
// reports itself (stages, traffic, rollback, done).
func (er *EngineRun) Emit(ev Event) {
	switch ev.Kind {
	case EventStageStarted, EventStageFinished, EventTrafficShifted, EventRollbackStarted, EventRollbackFinished, EventDone:
		return
	}
	ev.Stage, ev.Step = 0, 0
	er.r.emit(ev)
}

// Hooks runs the in-process hooks and pauses of stage (at step) as the
// Deployer's own engine does — IN_PROGRESS answers called back after their
// delay, timeouts and their actions, pauses released by the caller's
// Continue — and reports whether the platform should go on. A non-nil
// *RollbackInfo asks for a rollback (a hook failed, a pause timed out with
// TimeoutRollback, or the caller asked); the engine starts it on the
// platform and reports it with RollingBack. During a rollback (rollback
// true) answers are reported but stop nothing.
func (er *EngineRun) Hooks(stage Stage, step int, rollback bool) (*RollbackInfo, error) {
	r := er.r
	saved, savedStep := r.stage, r.step
	r.stage, r.step = stage, step
	defer func() { r.stage, r.step = saved, savedStep }()
	err := r.runHooks(stage, step, rollback)
	var sig *rollbackSignal
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &sig):
		info := sig.info
		return &info, nil
	}
	return nil, unwrapAbort(err)
}

// CommandKind is what the caller asked of a deployment.
type CommandKind uint8

// Caller commands an engine receives.
const (
	CommandRollback CommandKind = CommandKind(cmdRollback)
	CommandContinue CommandKind = CommandKind(cmdContinue)
	CommandPromote  CommandKind = CommandKind(cmdPromote)
)

// EngineCommand is a caller's command (Deployment.Rollback, Continue,
// Promote) for the engine to carry out on the platform. The engine answers
// it once, with Accept or Refuse; the caller's method returns that answer.
type EngineCommand struct {
	// Kind says what the caller asked.
	Kind CommandKind
	// Reason is the caller's reason, for a rollback.
	Reason string
	// Rollback is what to report with EngineRun.RollingBack when the
	// engine carries out a rollback command: the caller's (TriggerCaller)
	// or the caller's canceled context's (TriggerCanceled).
	Rollback *RollbackInfo

	c   command
	run *run
}

// Accept tells the caller the command is carried out.
func (c *EngineCommand) Accept() { c.c.reply <- nil }

// Refuse tells the caller the command cannot be carried out, and why (for
// example "CodeDeploy cannot skip its bake time: it has no such action").
func (c *EngineCommand) Refuse(why string) {
	c.c.reply <- &Error{Code: CodeFailedPrecondition, Service: c.run.service, Stage: c.run.stage, Op: c.c.kind.String(), Err: errors.New(why)}
}

// Sleep waits up to d (a poll interval) while renewing the lease, and
// returns early with the caller's command if one arrives; nil after d.
// When the caller's context is canceled it returns a rollback command
// (Config.OnCancel is CancelRollback; Context is then a fresh context for
// the rollback's calls) or an error (CancelDetach). It returns an error when
// the lease is lost.
func (er *EngineRun) Sleep(d time.Duration) (*EngineCommand, error) {
	r := er.r
	if r.unsaved {
		// A stage or traffic change the platform made: recorded before
		// waiting, so that a successor resumes from where it stands.
		if err := r.persist(); err != nil {
			return er.stopped(err)
		}
	}
	until := r.clock.Now().Add(d)
	for {
		now := r.clock.Now()
		if !now.Before(until) {
			return nil, nil
		}
		next := until
		if renew, ok := r.renewAt(); ok && renew.Before(next) {
			next = renew
		}
		select {
		case <-r.clock.After(next.Sub(now)):
			if r.renewDue(r.clock.Now()) && !r.renewByHeartbeat(r.ctx) {
				if err := r.persist(); err != nil {
					return er.stopped(err)
				}
			}
		case c := <-r.dep.cmds:
			if c.kind == cmdHandover {
				c.reply <- nil
				return nil, unwrapAbort(r.handover())
			}
			cmd := &EngineCommand{Kind: CommandKind(c.kind), Reason: c.reason, c: c, run: r}
			if c.kind == cmdRollback {
				reason := c.reason
				if reason == "" {
					reason = "requested by the caller"
				}
				cmd.Rollback = &RollbackInfo{Trigger: TriggerCaller, By: "caller", Reason: reason, Stage: r.stage, Step: r.step, At: r.clock.Now()}
			}
			return cmd, nil
		case <-r.ctx.Done():
			// The caller's context: per Config.OnCancel, a rollback (with a
			// fresh Context) or the end of following.
			if err := r.canceled(); err != nil {
				return er.stopped(err)
			}
		}
	}
}

// stopped turns what stopped a Sleep into its answer: a rollback command
// when the caller's context was canceled (even inside a save), else the
// error.
func (er *EngineRun) stopped(err error) (*EngineCommand, error) {
	var sig *rollbackSignal
	if errors.As(err, &sig) {
		info := sig.info
		return &EngineCommand{Kind: CommandRollback, Reason: info.Reason, Rollback: &info, c: command{kind: cmdRollback, reply: make(chan error, 1)}, run: er.r}, nil
	}
	return nil, unwrapAbort(err)
}

// Context returns the context to make the platform's calls with: the
// caller's, replaced by a fresh one bounded by RollbackTimeout once the
// caller's is canceled and the deployment rolls back (CancelRollback).
func (er *EngineRun) Context() context.Context { return er.r.ctx }

// RollingBack reports that the platform's deployment is rolling back, and
// why; it is saved in the store.
func (er *EngineRun) RollingBack(info RollbackInfo) error {
	r := er.r
	if r.rollingBack {
		return nil
	}
	if info.At.IsZero() {
		info.At = r.clock.Now()
	}
	if info.Stage == 0 {
		info.Stage, info.Step = r.stage, r.step
	}
	r.rollingBack = true
	r.st.Phase, r.st.Rollback = phaseRollingBack, &info
	if err := r.persist(); err != nil {
		return unwrapAbort(err)
	}
	inf := info
	r.emit(Event{Kind: EventRollbackStarted, Rollback: &inf, Reason: info.Reason})
	return nil
}

// End records how the platform's deployment ended: OutcomeSucceeded (green
// live) or OutcomeRolledBack (blue live again). Run returns nil after it.
func (er *EngineRun) End(o Outcome) error {
	r := er.r
	switch o {
	case OutcomeSucceeded:
		if r.stage != 0 && !r.rollingBack {
			r.emit(Event{Kind: EventStageFinished})
		}
		r.st.Phase = phaseSucceeded
		live := r.st.Green
		r.ss.Live = &live
	case OutcomeRolledBack:
		if !r.rollingBack {
			if err := er.RollingBack(RollbackInfo{Trigger: TriggerBackend, By: "engine", Reason: "the platform rolled the deployment back"}); err != nil {
				return err
			}
		}
		inf := *r.st.Rollback
		r.emit(Event{Kind: EventRollbackFinished, Rollback: &inf})
		r.st.Phase = phaseRolledBack
		r.ss.Live = r.st.Blue
	default:
		return &Error{Code: CodeInvalid, Service: r.service, Op: "EngineRun.End", Err: fmt.Errorf("outcome %q: end with OutcomeSucceeded or OutcomeRolledBack", o)}
	}
	r.releaseLease()
	if err := r.persist(); err != nil {
		return unwrapAbort(err)
	}
	er.ended, er.outcome = true, o
	return nil
}

// engineSpec is what every deployment asks of the engine.
func (d *Deployer) engineSpec() EngineSpec {
	spec := EngineSpec{Shift: d.cfg.Shift, Steps: append([]Step(nil), d.steps...), BakeTime: d.cfg.BakeTime, Hooks: map[Stage][]LifecycleHook{}}
	for s, hs := range d.hooks {
		if len(hs) > 0 {
			spec.Hooks[Stage(s)] = append([]LifecycleHook(nil), hs...)
		}
	}
	return spec
}

// engineMain runs a deployment (new, or re-attached by Reconcile) on the
// configured Engine and builds its result.
func (r *run) engineMain(reattach bool) (Result, error) {
	r.started = r.clock.Now()
	if !reattach {
		r.stage, r.step = StageReconcileService, 0
		r.emit(Event{Kind: EventStageStarted})
	} else {
		r.stage, r.step = r.st.Stage, r.st.Step
		r.rollingBack = r.st.Phase == phaseRollingBack
		r.emit(Event{Kind: EventStageStarted, Reason: "re-attached to the platform's deployment"})
	}
	er := &EngineRun{r: r}
	err := r.d.cfg.Engine.Run(r.ctx, er)
	switch {
	case er.ended && er.outcome == OutcomeSucceeded:
		return r.finish(OutcomeSucceeded, nil)
	case er.ended:
		res, _ := r.finish(OutcomeRolledBack, nil)
		return res, &RollbackError{Service: r.service, Info: *r.st.Rollback}
	case err == nil:
		err = &Error{Code: CodeUnknown, Service: r.service, Stage: r.stage, Op: "Engine.Run", Err: errors.New("the engine returned without ending the deployment")}
	}
	return r.finish(OutcomeFailed, wrap(r.d.cfg.Engine, r.service, r.stage, "Engine.Run", err))
}

// engineStart records a new deployment run by the Engine: green is the
// revision, in no slot the Deployer manages; the live environment, if the
// store has one, is blue.
func (r *run) engineStart() {
	now := r.clock.Now()
	r.st = &deployState{ID: r.dep.id, Phase: phaseRunning, Stage: StageReconcileService,
		Blue:  r.ss.Live,
		Green: Environment{Service: r.service, Revision: r.rev, DeploymentID: r.dep.id},
		Steps: r.d.steps, BakeTime: r.d.cfg.BakeTime, Started: now}
	r.ss.Deployment = r.st
}
