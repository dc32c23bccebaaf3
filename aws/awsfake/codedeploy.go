package awsfake

import (
	"fmt"
	"sync"
	"time"
)

// CodeDeployOptions configure a CodeDeploy fake. Durations are measured on
// the fake's clock.
type CodeDeployOptions struct {
	// EventTime is how long each lifecycle event of an ECS deployment takes
	// (its Lambda hook included, if the AppSpec names one), and the last
	// step of a traffic shift; 10s if zero.
	EventTime time.Duration
	// RollbackTime is how long a rollback deployment takes to move traffic
	// back to the original task set; 30s if zero.
	RollbackTime time.Duration
	// Now is the fake's clock; time.Now (virtual inside a testing/synctest
	// bubble) if nil. A deployment's progress is computed from it when read.
	Now func() time.Time
}

// CodeDeployGroup is an ECS deployment group as the fake holds it.
type CodeDeployGroup struct {
	// Application and Name name the group.
	Application, Name string
	// Cluster and Service are the ECS service it deploys.
	Cluster, Service string
	// DeploymentConfigName is the group's default deployment configuration;
	// CodeDeployDefault.ECSAllAtOnce if empty.
	DeploymentConfigName string
	// ReadyWait, if above zero, makes the group's deploymentReadyOption
	// STOP_DEPLOYMENT with that wait (whole minutes): a deployment waits
	// (status Ready) before rerouting production traffic until
	// ContinueDeployment READY_WAIT, and is stopped at the end of the wait.
	// Zero is CONTINUE_DEPLOYMENT.
	ReadyWait time.Duration
	// TerminationWait is terminationWaitTimeInMinutes (whole minutes): how
	// long the original task set is kept after production traffic moved,
	// unless ContinueDeployment TERMINATION_WAIT ends the wait early.
	TerminationWait time.Duration
}

// CodeDeployRouting is a deployment configuration's traffic routing.
type CodeDeployRouting struct {
	// Type is AllAtOnce, TimeBasedLinear or TimeBasedCanary.
	Type string
	// Percentage is the linear step or the canary share, in whole percent.
	Percentage int
	// Interval is the wait after each step but the last, whole minutes.
	Interval time.Duration
}

// CodeDeploy is an in-process fake of AWS CodeDeploy for ECS blue/green
// deployments, over AWS JSON 1.1 (X-Amz-Target: CodeDeploy_20141006.<Op>):
// CreateDeployment (an AppSpecContent revision in JSON), GetDeployment,
// ListDeployments, ListDeploymentTargets, GetDeploymentTarget,
// ContinueDeployment, StopDeployment and GetDeploymentGroup. Applications,
// deployment groups and custom deployment configurations are created in Go.
//
// A deployment passes the ECS lifecycle events (BeforeInstall, Install,
// AfterInstall, AllowTestTraffic, AfterAllowTestTraffic, BeforeAllowTraffic,
// AllowTraffic, AfterAllowTraffic) EventTime each; between
// AfterAllowTestTraffic and BeforeAllowTraffic it waits with status Ready
// when the group's ReadyWait is set; AllowTraffic moves the green task
// set's traffic weight as its deployment configuration says; after
// AfterAllowTraffic it keeps the original task set for the group's
// TerminationWait (InstanceTerminationWaitTimeStarted), then removes it in
// EventTime and succeeds. A Lambda hook the AppSpec names for an event
// fails that event when marked with FailHook: the deployment fails and, as
// with StopDeployment with autoRollbackEnabled, a rollback deployment
// (creator codeDeployRollback) moves traffic back in RollbackTime.
type CodeDeploy struct {
	// Faults counts calls per operation and injects faults.
	Faults Faults
	// URL is the endpoint to pass as BaseEndpoint (empty when served in process).
	URL string

	opts CodeDeployOptions

	mu          sync.Mutex
	seq         int
	apps        map[string]bool
	groups      map[string]*CodeDeployGroup // by app + "/" + name
	configs     map[string]CodeDeployRouting
	deployments []*cdDeployment // in creation order
	failing     map[string]string
}

// ecsLifecycleEvents are the lifecycle events of an ECS deployment, in order.
var ecsLifecycleEvents = []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"}

// cdPredefined are CodeDeploy's predefined ECS deployment configurations.
var cdPredefined = map[string]CodeDeployRouting{
	"CodeDeployDefault.ECSAllAtOnce":                    {Type: "AllAtOnce"},
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {Type: "TimeBasedLinear", Percentage: 10, Interval: time.Minute},
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {Type: "TimeBasedLinear", Percentage: 10, Interval: 3 * time.Minute},
	"CodeDeployDefault.ECSCanary10Percent5Minutes":      {Type: "TimeBasedCanary", Percentage: 10, Interval: 5 * time.Minute},
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     {Type: "TimeBasedCanary", Percentage: 10, Interval: 15 * time.Minute},
}

// NewCodeDeploy returns a CodeDeploy fake with no applications. Serve it
// with ServeTest (setting URL) or in process with InProcessConfig.
func NewCodeDeploy(opts CodeDeployOptions) *CodeDeploy {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.EventTime <= 0 {
		opts.EventTime = 10 * time.Second
	}
	if opts.RollbackTime <= 0 {
		opts.RollbackTime = 30 * time.Second
	}
	return &CodeDeploy{opts: opts, apps: map[string]bool{}, groups: map[string]*CodeDeployGroup{}, configs: map[string]CodeDeployRouting{}, failing: map[string]string{}}
}

// CreateDeploymentGroup creates an ECS deployment group (and its
// application, if new), replacing one of the same name.
func (f *CodeDeploy) CreateDeploymentGroup(g CodeDeployGroup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[g.Application] = true
	if g.DeploymentConfigName == "" {
		g.DeploymentConfigName = "CodeDeployDefault.ECSAllAtOnce"
	}
	f.groups[g.Application+"/"+g.Name] = &g
}

// CreateDeploymentConfig creates a custom deployment configuration, as
// the CreateDeploymentConfig operation does.
func (f *CodeDeploy) CreateDeploymentConfig(name string, r CodeDeployRouting) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := cdPredefined[name]; ok || f.configs[name].Type != "" {
		return clientErr("DeploymentConfigAlreadyExistsException", "Deployment config %s already exists", name)
	}
	switch {
	case r.Type == "AllAtOnce":
	case (r.Type == "TimeBasedLinear" || r.Type == "TimeBasedCanary") && r.Percentage >= 1 && r.Percentage <= 99 && r.Interval >= time.Minute && r.Interval%time.Minute == 0:
	default:
		return clientErr("InvalidTrafficRoutingConfigurationException", "invalid traffic routing %+v", r)
	}
	f.configs[name] = r
	return nil
}

// FailHook makes every lifecycle event whose AppSpec hook is function
// fail with message; an empty message heals it.
func (f *CodeDeploy) FailHook(function, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if message == "" {
		delete(f.failing, function)
		return
	}
	f.failing[function] = message
}

// CodeDeployDeployment is a deployment as the fake reports it.
type CodeDeployDeployment struct {
	ID, Application, Group, ConfigName, Description, Status, Creator string
	// Events are the lifecycle events' statuses, by name (empty for a rollback deployment).
	Events map[string]string
	// GreenWeight is the replacement task set's share of production traffic, in percent.
	GreenWeight float64
	// RollbackDeploymentID is the rollback deployment, if any.
	RollbackDeploymentID string
	// Hooks are the AppSpec's Lambda hooks, by lifecycle event.
	Hooks map[string]string
	// TaskDefinition is the AppSpec's task definition.
	TaskDefinition string
}

// Deployments returns every deployment, in creation order, as of now.
func (f *CodeDeploy) Deployments() []CodeDeployDeployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.opts.Now()
	out := make([]CodeDeployDeployment, 0, len(f.deployments))
	for _, d := range f.deployments {
		f.advance(d, now)
		v := CodeDeployDeployment{ID: d.id, Application: d.app, Group: d.group.Name, ConfigName: d.config, Description: d.description,
			Status: d.status, Creator: d.creator, Events: map[string]string{}, GreenWeight: d.green, RollbackDeploymentID: d.rollbackID,
			Hooks: d.hooks, TaskDefinition: d.taskDef}
		for _, e := range d.events {
			v.Events[e.name] = e.status
		}
		out = append(out, v)
	}
	return out
}

type cdEvent struct {
	name, status string
	start, end   time.Time
}

// cdPhase kinds.
const (
	phaseEvent = iota
	phaseReadyWait
	phaseShift
	phaseTermWait
	phaseTerminate
	phaseRollback // the whole of a rollback deployment
)

type cdPhase struct {
	kind   int
	event  int // index into events, -1 for none
	dur    time.Duration
	weight float64 // green's weight on entering a shift step
	last   bool    // the last phase of its event
}

type cdDeployment struct {
	id, app, description, config, creator string
	group                                 *CodeDeployGroup
	taskDef                               string
	hooks                                 map[string]string
	autoRollback                          bool
	created, completed                    time.Time
	status                                string
	errCode, errMessage                   string
	events                                []*cdEvent
	phases                                []cdPhase
	idx                                   int
	phaseStart                            time.Time
	green                                 float64
	termWaitStarted                       bool
	rollbackID, rollbackOf                string
	rollbackMessage                       string
}

// newDeploymentLocked creates a deployment in group with the AppSpec's
// task definition and hooks, following routing.
func (f *CodeDeploy) newDeploymentLocked(g *CodeDeployGroup, config string, routing CodeDeployRouting, desc, taskDef string, hooks map[string]string, autoRollback bool) *cdDeployment {
	f.seq++
	now := f.opts.Now()
	d := &cdDeployment{id: fmt.Sprintf("d-FAKE%05d", f.seq), app: g.Application, group: g, config: config, description: desc, creator: "user",
		taskDef: taskDef, hooks: hooks, autoRollback: autoRollback, created: now, status: "InProgress", phaseStart: now}
	et := f.opts.EventTime
	for i, name := range ecsLifecycleEvents {
		d.events = append(d.events, &cdEvent{name: name, status: "Pending"})
		switch name {
		case "BeforeAllowTraffic":
			if g.ReadyWait > 0 {
				d.phases = append(d.phases, cdPhase{kind: phaseReadyWait, event: -1, dur: g.ReadyWait})
			}
		case "AllowTraffic":
			var steps []cdPhase
			switch routing.Type {
			case "TimeBasedLinear":
				for w := routing.Percentage; w < 100; w += routing.Percentage {
					steps = append(steps, cdPhase{kind: phaseShift, event: i, dur: routing.Interval, weight: float64(w)})
				}
			case "TimeBasedCanary":
				steps = append(steps, cdPhase{kind: phaseShift, event: i, dur: routing.Interval, weight: float64(routing.Percentage)})
			}
			steps = append(steps, cdPhase{kind: phaseShift, event: i, dur: et, weight: 100, last: true})
			d.phases = append(d.phases, steps...)
			continue
		}
		d.phases = append(d.phases, cdPhase{kind: phaseEvent, event: i, dur: et, last: true})
	}
	d.phases = append(d.phases, cdPhase{kind: phaseTermWait, event: -1, dur: g.TerminationWait}, cdPhase{kind: phaseTerminate, event: -1, dur: et})
	f.deployments = append(f.deployments, d)
	f.enter(d, now)
	return d
}

// enter starts the deployment's current phase at t.
func (f *CodeDeploy) enter(d *cdDeployment, t time.Time) {
	d.phaseStart = t
	p := d.phases[d.idx]
	if p.event >= 0 && d.events[p.event].status == "Pending" {
		d.events[p.event].status, d.events[p.event].start = "InProgress", t
	}
	switch p.kind {
	case phaseReadyWait:
		d.status = "Ready"
	case phaseShift:
		d.green = p.weight
	case phaseTermWait:
		d.termWaitStarted = true
	}
}

// done reports whether a deployment reached an end state.
func (d *cdDeployment) done() bool {
	switch d.status {
	case "Succeeded", "Failed", "Stopped":
		return true
	}
	return false
}

// advance moves d forward to now.
func (f *CodeDeploy) advance(d *cdDeployment, now time.Time) {
	for !d.done() {
		p := d.phases[d.idx]
		end := d.phaseStart.Add(p.dur)
		if now.Before(end) {
			return
		}
		f.finish(d, end, p.kind == phaseReadyWait)
	}
}

// finish ends d's current phase at t: timedOut says a ready wait ran out.
func (f *CodeDeploy) finish(d *cdDeployment, t time.Time, timedOut bool) {
	p := d.phases[d.idx]
	switch p.kind {
	case phaseRollback:
		d.status, d.completed = "Succeeded", t
		if orig := f.find(d.rollbackOf); orig != nil {
			orig.green = 0
		}
		return
	case phaseReadyWait:
		if timedOut {
			f.stop(d, t, "Stopped", "TIMEOUT", "the deployment timed out waiting for traffic to be rerouted (deploymentReadyOption STOP_DEPLOYMENT)", d.autoRollback)
			return
		}
		d.status = "InProgress"
	case phaseTerminate:
		d.status, d.completed = "Succeeded", t
		return
	}
	if p.event >= 0 && p.last {
		ev := d.events[p.event]
		if fn := d.hooks[ev.name]; fn != "" && f.failing[fn] != "" {
			ev.status, ev.end = "Failed", t
			f.stop(d, t, "Failed", "HOOK_EXECUTION_FAILURE", fmt.Sprintf("lifecycle event %s failed: hook %s: %s", ev.name, fn, f.failing[fn]), d.autoRollback)
			return
		}
		ev.status, ev.end = "Succeeded", t
	}
	d.idx++
	f.enter(d, t)
}

// stop ends d with status at t and, if asked, starts its rollback deployment.
func (f *CodeDeploy) stop(d *cdDeployment, t time.Time, status, code, msg string, rollback bool) {
	d.status, d.completed, d.errCode, d.errMessage = status, t, code, msg
	for _, e := range d.events {
		switch e.status {
		case "Pending":
			e.status = "Skipped"
		case "InProgress":
			e.status, e.end = "Failed", t
		}
	}
	if !rollback {
		return
	}
	f.seq++
	r := &cdDeployment{id: fmt.Sprintf("d-FAKE%05d", f.seq), app: d.app, group: d.group, config: d.config, creator: "codeDeployRollback",
		description: "rollback of " + d.id, taskDef: d.taskDef, created: t, status: "InProgress", phaseStart: t, rollbackOf: d.id,
		phases: []cdPhase{{kind: phaseRollback, event: -1, dur: f.opts.RollbackTime}}}
	d.rollbackID = r.id
	d.rollbackMessage = "Rollback deployment " + r.id + " started: " + msg
	f.deployments = append(f.deployments, r)
}

func (f *CodeDeploy) find(id string) *cdDeployment {
	for _, d := range f.deployments {
		if d.id == id {
			return d
		}
	}
	return nil
}

func (f *CodeDeploy) routing(name string) (CodeDeployRouting, bool) {
	if r, ok := cdPredefined[name]; ok {
		return r, true
	}
	r, ok := f.configs[name]
	return r, ok
}
