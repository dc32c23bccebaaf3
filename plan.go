package bluegreen

import (
	"fmt"
	"strings"
	"time"
)

// PlanOptions describe the deployment to plan.
type PlanOptions struct {
	// FirstDeployment plans a service's first deployment (no blue): one
	// production step and no bake time.
	FirstDeployment bool
}

// PlanKind says what a PlanEntry is.
type PlanKind string

// Plan entry kinds.
const (
	// PlanStage is a stage entered.
	PlanStage PlanKind = "STAGE"
	// PlanSkip is a stage skipped.
	PlanSkip PlanKind = "SKIP"
	// PlanHook is a hook call.
	PlanHook PlanKind = "HOOK"
	// PlanPause is a pause hook waiting for Continue.
	PlanPause PlanKind = "PAUSE"
	// PlanTraffic is a router call setting Routes.
	PlanTraffic PlanKind = "TRAFFIC"
	// PlanWait is a wait (a step's wait or the bake time) with monitors watched.
	PlanWait PlanKind = "WAIT"
)

// PlanEntry is one thing a deployment will do.
type PlanEntry struct {
	// At is the earliest time after the start at which it happens: when
	// every hook succeeds at its first call, green is healthy at once and no
	// pause waits.
	At time.Duration `json:"at"`
	// Kind says what it is.
	Kind PlanKind `json:"kind"`
	// Stage is the stage it happens in.
	Stage Stage `json:"stage"`
	// Step is the production step, if any.
	Step int `json:"step,omitempty"`
	// Hook names the hook of hook and pause entries.
	Hook string `json:"hook,omitempty"`
	// Routes are the routes a traffic entry sets (blue in slot A, green in slot B).
	Routes *Routes `json:"routes,omitempty"`
	// Wait is the length of a wait entry.
	Wait time.Duration `json:"wait,omitempty"`
	// Note explains a skip or a pause.
	Note string `json:"note,omitempty"`
}

// Plan is what a deployment will do, in order, for a deploy tool to show
// before it starts one.
type Plan struct {
	// Entries are the stages, hook calls, traffic changes and waits, in order.
	Entries []PlanEntry `json:"entries"`
	// Duration is the earliest time the deployment can take.
	Duration time.Duration `json:"duration"`
}

// Plan returns what a deployment with this Deployer's configuration will do,
// without touching any backend. Blue is shown in slot A and green in slot B
// (green in slot A for a first deployment).
func (d *Deployer) Plan(opts PlanOptions) Plan {
	var p Plan
	var at time.Duration
	green, test := SlotB, SlotB
	steps, bake := d.steps, d.cfg.BakeTime
	prod := AllTo(SlotA)
	if opts.FirstDeployment {
		green, test = SlotA, SlotA
		steps, bake, prod = []Step{{Green: Full}}, 0, Weights{}
	}
	add := func(e PlanEntry) { e.At = at; p.Entries = append(p.Entries, e) }
	hooks := func(s Stage, step int) {
		for _, h := range d.hooks[s] {
			if h.IsPause() {
				add(PlanEntry{Kind: PlanPause, Stage: s, Step: step, Hook: h.Name,
					Note: fmt.Sprintf("waits for Continue or Rollback, up to %v (then %s)", h.timeout(), timeoutAction(h))})
				continue
			}
			add(PlanEntry{Kind: PlanHook, Stage: s, Step: step, Hook: h.Name})
		}
	}
	traffic := func(s Stage, step int, r Routes) { add(PlanEntry{Kind: PlanTraffic, Stage: s, Step: step, Routes: &r}) }
	wait := func(s Stage, step int, w time.Duration) {
		if w > 0 {
			add(PlanEntry{Kind: PlanWait, Stage: s, Step: step, Wait: w})
			at += w
		}
	}
	for _, s := range []Stage{StageReconcileService, StagePreScaleUp, StageScaleUp, StagePostScaleUp, StageTestTrafficShift, StagePostTestTrafficShift} {
		add(PlanEntry{Kind: PlanStage, Stage: s})
		if s == StageTestTrafficShift {
			traffic(s, 0, Routes{Production: prod, Test: test})
		}
		hooks(s, 0)
	}
	for i, st := range steps {
		add(PlanEntry{Kind: PlanStage, Stage: StagePreProductionTrafficShift, Step: i + 1})
		hooks(StagePreProductionTrafficShift, i+1)
		add(PlanEntry{Kind: PlanStage, Stage: StageProductionTrafficShift, Step: i + 1})
		traffic(StageProductionTrafficShift, i+1, Routes{Production: Split(green, st.Green), Test: test})
		hooks(StageProductionTrafficShift, i+1)
		wait(StageProductionTrafficShift, i+1, st.Wait)
	}
	add(PlanEntry{Kind: PlanStage, Stage: StagePostProductionTrafficShift})
	hooks(StagePostProductionTrafficShift, 0)
	if opts.FirstDeployment {
		add(PlanEntry{Kind: PlanSkip, Stage: StageBakeTime, Note: "first deployment: there is no blue to return to"})
	} else {
		add(PlanEntry{Kind: PlanStage, Stage: StageBakeTime})
		wait(StageBakeTime, 0, bake)
	}
	add(PlanEntry{Kind: PlanStage, Stage: StageCleanUp})
	p.Duration = at
	return p
}

func timeoutAction(h LifecycleHook) TimeoutAction {
	if h.TimeoutAction == "" {
		return TimeoutRollback
	}
	return h.TimeoutAction
}

// String prints the plan as a table, one entry a line.
func (p Plan) String() string {
	var b strings.Builder
	for _, e := range p.Entries {
		name := e.Stage.String()
		if e.Step > 0 {
			name += fmt.Sprintf("#%d", e.Step)
		}
		fmt.Fprintf(&b, "%8s  %-7s %-32s", e.At, e.Kind, name)
		switch {
		case e.Hook != "":
			fmt.Fprintf(&b, " %s", e.Hook)
		case e.Routes != nil:
			fmt.Fprintf(&b, " %v", *e.Routes)
		case e.Wait > 0:
			fmt.Fprintf(&b, " %v, monitors watched", e.Wait)
		}
		if e.Note != "" {
			fmt.Fprintf(&b, " (%s)", e.Note)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%8s  done at the earliest\n", p.Duration)
	return b.String()
}
