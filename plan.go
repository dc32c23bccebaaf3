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
	// PlanMonitor is a monitor watched from green's first production
	// traffic on; Note says what evidence it needs before a step or the bake
	// time counts as passed.
	PlanMonitor PlanKind = "MONITOR"
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
	// Monitor names the monitor of monitor entries.
	Monitor string `json:"monitor,omitempty"`
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
// (green in slot A for a first deployment). It walks the same stage table
// and schedule as the engine.
func (d *Deployer) Plan(opts PlanOptions) Plan {
	pl := &planner{d: d, green: SlotB, steps: d.steps, bakeTime: d.cfg.BakeTime, prod: AllTo(SlotA)}
	if opts.FirstDeployment {
		pl.green, pl.steps, pl.bakeTime, pl.prod = SlotA, []Step{{Green: Full}}, 0, Weights{}
	}
	pl.add(PlanEntry{Kind: PlanStage, Stage: StageReconcileService})
	pl.hooks(StageReconcileService, 0)
	for _, p := range schedule(pl.steps, opts.FirstDeployment) {
		if p.Skip != "" {
			pl.add(PlanEntry{Kind: PlanSkip, Stage: p.Stage, Note: p.Skip})
			continue
		}
		def := &lifecycle[p.Stage]
		pl.add(PlanEntry{Kind: PlanStage, Stage: p.Stage, Step: p.Step})
		if def.planAct != nil {
			def.planAct(pl, p)
		}
		pl.hooks(p.Stage, p.Step)
		if def.planAfter != nil {
			def.planAfter(pl, p)
		}
	}
	pl.plan.Duration = pl.at
	return pl.plan
}

// planner builds a Plan from the stage table.
type planner struct {
	d        *Deployer
	plan     Plan
	at       time.Duration
	green    Slot
	steps    []Step
	bakeTime time.Duration
	prod     Weights
	// watched is set once the monitors have been listed, at the first
	// production step.
	watched bool
}

func (pl *planner) add(e PlanEntry) { e.At = pl.at; pl.plan.Entries = append(pl.plan.Entries, e) }

func (pl *planner) hooks(s Stage, step int) {
	for _, h := range pl.d.hooks[s] {
		if h.IsPause() {
			pl.add(PlanEntry{Kind: PlanPause, Stage: s, Step: step, Hook: h.Name,
				Note: fmt.Sprintf("waits for Continue or Rollback, up to %v (then %s)", h.timeout(), timeoutAction(h))})
			continue
		}
		pl.add(PlanEntry{Kind: PlanHook, Stage: s, Step: step, Hook: h.Name})
	}
}

func (pl *planner) traffic(p position, r Routes) {
	pl.add(PlanEntry{Kind: PlanTraffic, Stage: p.Stage, Step: p.Step, Routes: &r})
}

func (pl *planner) wait(p position, w time.Duration) {
	if w > 0 {
		pl.add(PlanEntry{Kind: PlanWait, Stage: p.Stage, Step: p.Step, Wait: w})
		pl.at += w
	}
}

func (pl *planner) testTraffic(p position) {
	pl.traffic(p, Routes{Production: pl.prod, Test: pl.green})
}

func (pl *planner) productionStep(p position) {
	pl.traffic(p, Routes{Production: Split(pl.green, pl.steps[p.Step-1].Green), Test: pl.green})
	if !pl.watched {
		pl.watched = true
		for _, m := range pl.d.cfg.Monitors {
			note := "checked every " + pl.d.cfg.MonitorInterval.String()
			if e, ok := m.(EvidenceDescriber); ok {
				note += "; needs " + e.Evidence()
			}
			pl.add(PlanEntry{Kind: PlanMonitor, Stage: p.Stage, Step: p.Step, Monitor: m.Name(), Note: note})
		}
	}
}

func (pl *planner) stepWait(p position) { pl.wait(p, pl.steps[p.Step-1].Wait) }

func (pl *planner) bake(p position) { pl.wait(p, pl.bakeTime) }

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
		case e.Monitor != "":
			fmt.Fprintf(&b, " %s", e.Monitor)
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
