package bluegreentest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// Engine is a fake of a platform that runs blue/green itself (as ECS's
// native deployments and CodeDeploy do), and a bluegreen.Engine over it. It
// is the reference the real engines' tests agree with, and it lets a test
// drive the Deployer's engine path in virtual time.
//
// The platform keeps its deployments (the revision and the stage and step
// reached) in memory, shared by every Deployer using this Engine, so a
// Deployer that re-attaches after a crash finds the platform's deployment
// where the dead one left it. The platform advances only while some Run
// follows it: StageTime per stage, the shift's waits and the bake time. It
// pauses at every stage that has in-process hooks or pauses (asking
// EngineRun.Hooks), carries out Rollback at any time before clean-up and
// Promote during a wait; it refuses Continue outside a pause.
//
// It records the calls "Start" (the platform's deployment created) and
// "Stop" (a rollback asked of the platform).
type Engine struct {
	Recorder

	// StageTime is how long the platform spends in a stage without a wait
	// of its own; one second if zero.
	StageTime time.Duration

	mu          sync.Mutex
	deployments map[string]*platformDeployment
}

type platformDeployment struct {
	id, service string
	revision    string
	pos         int // index of the position reached in EngineSpec.Positions()
	rollingBack bool
	done        bluegreen.Outcome
}

// engineState is what the engine saves with the deployment.
type engineState struct {
	PlatformID string `json:"platformId"`
}

// NewEngine returns a fake platform with no deployments.
func NewEngine() *Engine { return &Engine{deployments: map[string]*platformDeployment{}} }

// Deployments returns how each of the platform's deployments ended (empty
// while running), by platform id ("pd-" and the Deployer's deployment id).
func (e *Engine) Deployments() map[string]bluegreen.Outcome {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]bluegreen.Outcome{}
	for id, pd := range e.deployments {
		out[id] = pd.done
	}
	return out
}

// Run starts the platform's deployment (or re-attaches to the one the
// saved state names) and follows it to its end.
func (e *Engine) Run(ctx context.Context, run *bluegreen.EngineRun) error {
	pd, err := e.attach(ctx, run)
	if err != nil {
		return err
	}
	spec := run.Spec()
	ps := spec.Positions()
	stageTime := e.StageTime
	if stageTime == 0 {
		stageTime = time.Second
	}
	for {
		e.mu.Lock()
		pos, rollingBack := pd.pos, pd.rollingBack
		e.mu.Unlock()
		if rollingBack {
			return e.rollBack(run, pd, nil)
		}
		if pos >= len(ps) {
			e.setDone(pd, bluegreen.OutcomeSucceeded)
			return run.End(bluegreen.OutcomeSucceeded)
		}
		p := ps[pos]
		run.Stage(p.Stage, p.Step)
		wait := stageTime
		switch p.Stage {
		case bluegreen.StageTestTrafficShift:
			run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB})
		case bluegreen.StageProductionTrafficShift:
			st := spec.Steps[p.Step-1]
			run.Traffic(bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, st.Green), Test: bluegreen.SlotB})
			wait = max(st.Wait, stageTime)
		case bluegreen.StageBakeTime:
			wait = max(spec.BakeTime, stageTime)
		}
		if len(spec.Hooks[p.Stage]) > 0 {
			info, err := run.Hooks(p.Stage, p.Step, false)
			if err != nil {
				return err
			}
			if info != nil {
				return e.rollBack(run, pd, info)
			}
		}
		promotable := p.Stage == bluegreen.StageProductionTrafficShift || p.Stage == bluegreen.StageBakeTime
		for until := time.Now().Add(wait); time.Now().Before(until); {
			cmd, err := run.Sleep(time.Until(until))
			if err != nil {
				return err
			}
			if cmd == nil {
				break
			}
			switch {
			case cmd.Kind == bluegreen.CommandRollback && p.Stage < bluegreen.StageCleanUp:
				cmd.Accept()
				return e.rollBack(run, pd, cmd.Rollback)
			case cmd.Kind == bluegreen.CommandPromote && promotable:
				cmd.Accept()
				until = time.Now()
			case cmd.Kind == bluegreen.CommandRollback:
				cmd.Refuse("too late: the platform is removing blue")
			case cmd.Kind == bluegreen.CommandPromote:
				cmd.Refuse("the platform is not waiting out a traffic step or the bake time")
			default:
				cmd.Refuse("not paused")
			}
		}
		e.mu.Lock()
		pd.pos = pos + 1
		e.mu.Unlock()
	}
}

// attach creates the platform's deployment, saving its id first, or finds
// the one the saved state names.
func (e *Engine) attach(ctx context.Context, run *bluegreen.EngineRun) (*platformDeployment, error) {
	var st engineState
	if raw := run.State(); raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil || st.PlatformID == "" {
			return nil, bluegreen.NewError(bluegreen.CodeInvalid, fmt.Errorf("bluegreentest: engine state %q is not this engine's", raw))
		}
	} else {
		// The id is derived from the deployment's, and saved before the
		// platform is asked: a crash in between starts nothing twice.
		st.PlatformID = "pd-" + run.DeploymentID()
		raw, _ := json.Marshal(st)
		if err := run.Save(raw); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if pd, ok := e.deployments[st.PlatformID]; ok {
		return pd, nil
	}
	if run.State() != nil && st.PlatformID != "pd-"+run.DeploymentID() {
		return nil, bluegreen.NewError(bluegreen.CodeNotFound, fmt.Errorf("bluegreentest: no platform deployment %s", st.PlatformID))
	}
	if err := e.record(ctx, Call{Op: "Start", Service: run.Service(), Detail: run.Revision().Name}); err != nil {
		return nil, err
	}
	pd := &platformDeployment{id: st.PlatformID, service: run.Service(), revision: run.Revision().Name}
	e.deployments[pd.id] = pd
	return pd, nil
}

// rollBack rolls the platform's deployment back: traffic to blue, the
// traffic-shift hooks run again, then the end.
func (e *Engine) rollBack(run *bluegreen.EngineRun, pd *platformDeployment, info *bluegreen.RollbackInfo) error {
	e.mu.Lock()
	first := !pd.rollingBack
	pd.rollingBack = true
	e.mu.Unlock()
	if first && info != nil {
		if err := e.record(run.Context(), Call{Op: "Stop", Service: pd.service, Detail: info.Reason}); err != nil {
			return err
		}
	}
	if info != nil {
		if err := run.RollingBack(*info); err != nil {
			return err
		}
	}
	run.Traffic(bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA})
	for _, s := range []bluegreen.Stage{bluegreen.StageTestTrafficShift, bluegreen.StageProductionTrafficShift} {
		if len(run.Spec().Hooks[s]) > 0 {
			if _, err := run.Hooks(s, 0, true); err != nil {
				return err
			}
		}
	}
	e.setDone(pd, bluegreen.OutcomeRolledBack)
	return run.End(bluegreen.OutcomeRolledBack)
}

func (e *Engine) setDone(pd *platformDeployment, o bluegreen.Outcome) {
	e.mu.Lock()
	pd.done = o
	e.mu.Unlock()
}

var _ bluegreen.Engine = (*Engine)(nil)
