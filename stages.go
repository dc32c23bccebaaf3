package bluegreen

import (
	"fmt"
	"strings"
)

// Stage is one lifecycle stage of a blue/green deployment. The stages, their
// names and which of them take lifecycle hooks are those of Amazon ECS
// blue/green deployments, so hooks written for ECS keep their meaning.
//
// The zero Stage is not a stage; it prints as "UNKNOWN".
type Stage uint8

// The eleven lifecycle stages, in the order a deployment passes them.
const (
	// StageReconcileService reads the persisted state and settles an unfinished
	// earlier deployment (resume or roll back) before this one starts. Takes hooks.
	StageReconcileService Stage = iota + 1
	// StagePreScaleUp runs before green is started; blue has all production traffic. Takes hooks.
	StagePreScaleUp
	// StageScaleUp starts green at full size, with no traffic. Takes no hooks.
	StageScaleUp
	// StagePostScaleUp follows green passing its health checks; still no traffic. Takes hooks.
	StagePostScaleUp
	// StageTestTrafficShift moves the test route to green. Takes hooks, not pause hooks.
	StageTestTrafficShift
	// StagePostTestTrafficShift has all test traffic on green: run tests here. Takes hooks.
	StagePostTestTrafficShift
	// StagePreProductionTrafficShift gates each production traffic step. Takes hooks.
	StagePreProductionTrafficShift
	// StageProductionTrafficShift moves production weights step by step. Takes hooks, not pause hooks.
	StageProductionTrafficShift
	// StagePostProductionTrafficShift has green at 100% of production; blue still runs. Takes hooks.
	StagePostProductionTrafficShift
	// StageBakeTime keeps both environments running while monitors are watched. Takes no hooks.
	StageBakeTime
	// StageCleanUp drains and removes blue and records green as live. Takes no hooks.
	StageCleanUp
)

// numStages is the number of defined stages; stage values run 1..numStages.
const numStages = int(StageCleanUp)

var stageNames = [...]string{
	0:                               "UNKNOWN",
	StageReconcileService:           "RECONCILE_SERVICE",
	StagePreScaleUp:                 "PRE_SCALE_UP",
	StageScaleUp:                    "SCALE_UP",
	StagePostScaleUp:                "POST_SCALE_UP",
	StageTestTrafficShift:           "TEST_TRAFFIC_SHIFT",
	StagePostTestTrafficShift:       "POST_TEST_TRAFFIC_SHIFT",
	StagePreProductionTrafficShift:  "PRE_PRODUCTION_TRAFFIC_SHIFT",
	StageProductionTrafficShift:     "PRODUCTION_TRAFFIC_SHIFT",
	StagePostProductionTrafficShift: "POST_PRODUCTION_TRAFFIC_SHIFT",
	StageBakeTime:                   "BAKE_TIME",
	StageCleanUp:                    "CLEAN_UP",
}

// Stages returns every lifecycle stage in order.
func Stages() []Stage {
	out := make([]Stage, numStages)
	for i := range out {
		out[i] = Stage(i + 1)
	}
	return out
}

// String returns the ECS name of the stage, such as "POST_SCALE_UP".
func (s Stage) String() string {
	if s.Valid() {
		return stageNames[s]
	}
	if s == 0 {
		return stageNames[0]
	}
	return fmt.Sprintf("Stage(%d)", uint8(s))
}

// Valid reports whether s is one of the eleven lifecycle stages.
func (s Stage) Valid() bool { return s >= 1 && int(s) <= numStages }

// TakesHooks reports whether lifecycle hooks may be bound to the stage.
// As in ECS, SCALE_UP, BAKE_TIME and CLEAN_UP take none.
func (s Stage) TakesHooks() bool {
	switch s {
	case StageScaleUp, StageBakeTime, StageCleanUp:
		return false
	}
	return s.Valid()
}

// TakesPauseHooks reports whether a pause hook may be bound to the stage.
// As in ECS, the two stages that move traffic cannot be paused in the middle.
func (s Stage) TakesPauseHooks() bool {
	switch s {
	case StageTestTrafficShift, StageProductionTrafficShift:
		return false
	}
	return s.TakesHooks()
}

// ParseStage returns the stage named by its ECS name, such as "BAKE_TIME".
// Case and surrounding space are ignored; '-' may stand for '_'.
func ParseStage(name string) (Stage, error) {
	norm := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(name), "-", "_"))
	for i := 1; i <= numStages; i++ {
		if stageNames[i] == norm {
			return Stage(i), nil
		}
	}
	return 0, &Error{Code: CodeInvalid, Op: "ParseStage",
		Err: fmt.Errorf("unknown stage %q: want one of %s", name, strings.Join(stageNames[1:], ", "))}
}

// MarshalText encodes the stage as its ECS name, and the zero Stage (no
// stage yet) as an empty string.
func (s Stage) MarshalText() ([]byte, error) {
	if s == 0 {
		return []byte{}, nil
	}
	if !s.Valid() {
		return nil, &Error{Code: CodeInvalid, Op: "Stage.MarshalText", Err: fmt.Errorf("invalid stage %d", uint8(s))}
	}
	return []byte(stageNames[s]), nil
}

// UnmarshalText decodes a stage from its ECS name; an empty string is the
// zero Stage.
func (s *Stage) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	v, err := ParseStage(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// position is one place in a deployment's lifecycle: a stage, and for the
// two production shift stages the step. The engine walks a deployment's
// positions in order (from the first, or from where a crashed owner stood)
// and Plan walks the same positions, so the two cannot drift apart.
type position struct {
	Stage Stage
	Step  int
	// Skip says why the stage does nothing in this deployment; empty if it runs.
	Skip string
}

// schedule returns the positions of a deployment after RECONCILE_SERVICE:
// every stage once, the two shift stages once per production step, and
// BAKE_TIME skipped when there is no blue to return to.
func schedule(steps []Step, firstDeployment bool) []position {
	ps := make([]position, 0, 8+2*len(steps))
	for s := StagePreScaleUp; s <= StageCleanUp; s++ {
		switch s {
		case StagePreProductionTrafficShift:
			for i := range steps {
				ps = append(ps, position{Stage: StagePreProductionTrafficShift, Step: i + 1}, position{Stage: StageProductionTrafficShift, Step: i + 1})
			}
		case StageProductionTrafficShift:
		case StageBakeTime:
			p := position{Stage: s}
			if firstDeployment {
				p.Skip = "first deployment: there is no blue to return to"
			}
			ps = append(ps, p)
		default:
			ps = append(ps, position{Stage: s})
		}
	}
	return ps
}

// resumeAt returns the index in ps of the position a persisted deployment
// stood at (stage and step), so that a successor runs it again and goes on
// from there. Every stage's action is idempotent, so running the last one
// again is safe.
func resumeAt(ps []position, stage Stage, step int) int {
	for i, p := range ps {
		if p.Stage > stage || (p.Stage == stage && p.Step >= step) {
			return i
		}
	}
	return len(ps)
}

// stageDef is what a stage does. The engine, for each position: handles a
// pending command, persists the position if the stage acts on a backend
// (persist), reports STAGE_STARTED, runs act, runs the stage's hooks, runs
// after, and reports STAGE_FINISHED. Plan reads the same table.
type stageDef struct {
	// persist saves the position before the stage acts, so a crash from
	// then on is resumed or rolled back from it.
	persist bool
	// act runs before the stage's hooks; after runs after them.
	act, after func(r *run, p position) error
	// planAct and planAfter describe act and after for Plan.
	planAct, planAfter func(pl *planner, p position)
}

// lifecycle is the stage table. RECONCILE_SERVICE is run apart (reconcile.go):
// it decides what the rest of the table is run on.
var lifecycle = [numStages + 1]stageDef{
	StagePreScaleUp:                 {act: (*run).prepare},
	StageScaleUp:                    {persist: true, act: (*run).scaleUp},
	StagePostScaleUp:                {act: (*run).waitGreenHealthy},
	StageTestTrafficShift:           {act: (*run).shiftTestTraffic, planAct: (*planner).testTraffic},
	StagePostTestTrafficShift:       {},
	StagePreProductionTrafficShift:  {},
	StageProductionTrafficShift:     {act: (*run).shiftProductionStep, after: (*run).bakeStep, planAct: (*planner).productionStep, planAfter: (*planner).stepWait},
	StagePostProductionTrafficShift: {act: (*run).markShiftDone},
	StageBakeTime:                   {act: (*run).bake, planAct: (*planner).bake},
	StageCleanUp:                    {persist: true, act: (*run).cleanUp},
}
