package awsfake

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// ECS service deployments: UpdateService on a service whose deployment
// controller is ECS, with the BLUE_GREEN, LINEAR or CANARY strategy, starts
// a service deployment that passes ECS's lifecycle stages in the fake's
// virtual time (computed from ECSOptions.Now when read, like task sets):
//
//	RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP,
//	TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, then per traffic step the
//	PRE_PRODUCTION_TRAFFIC_SHIFT hooks (the deployment reports the
//	lifecycleStage PRODUCTION_TRAFFIC_SHIFT, as ECS's ServiceDeployment
//	knows no PRE_PRODUCTION_TRAFFIC_SHIFT stage) and the PRODUCTION_TRAFFIC_SHIFT
//	step and its bake, POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP.
//
// Each stage takes ECSDeploymentTiming.StageTime, plus its waits (step and
// canary bakes, the bake time). Lifecycle hooks run at their stages:
// AWS_LAMBDA hooks answer after StageTime (SUCCEEDED, or what
// SetLambdaHookResult says: FAILED rolls the deployment back); PAUSE hooks
// wait AWAITING_ACTION for ContinueServiceDeployment until expiresAt, then
// take their timeout action. A rollback (a hook, StopServiceDeployment, an
// alarm set with SetAlarm, a task definition made to fail with
// FailTaskDefinition, found at POST_SCALE_UP) moves traffic back, runs the
// AWS_LAMBDA hooks of PRODUCTION_TRAFFIC_SHIFT and TEST_TRAFFIC_SHIFT again,
// removes green and ends ROLLBACK_SUCCESSFUL.
//
// Operations: UpdateService, ListServiceDeployments,
// DescribeServiceDeployments, ContinueServiceDeployment,
// StopServiceDeployment. The fake serves no rolling (ROLLING) deployments,
// and refuses an UpdateService while a service deployment is in progress.

// ECSDeploymentTiming configures how long the fake's service deployments
// take.
type ECSDeploymentTiming struct {
	// StageTime is how long a stage takes besides its waits (scale-up, an
	// AWS_LAMBDA hook's run, a traffic shift, clean-up); 10 s if zero.
	StageTime time.Duration
}

// SetDeploymentTiming sets the timing of service deployments started from
// now on.
func (e *ECS) SetDeploymentTiming(t ECSDeploymentTiming) {
	e.mu.Lock()
	e.sd.timing = t
	e.mu.Unlock()
}

// SetLambdaHookResult makes the AWS_LAMBDA hooks whose target is
// functionARN answer status ("SUCCEEDED" or "FAILED") from now on.
func (e *ECS) SetLambdaHookResult(functionARN, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sd.lambda == nil {
		e.sd.lambda = map[string]string{}
	}
	e.sd.lambda[functionARN] = status
}

// SetAlarm puts a CloudWatch alarm in or out of ALARM. A service deployment
// in progress whose configuration names it, with rollback enabled, rolls
// back at once.
func (e *ECS) SetAlarm(name string, alarm bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sd.alarms == nil {
		e.sd.alarms = map[string]bool{}
	}
	e.sd.alarms[name] = alarm
	now := e.opts.Now()
	for _, d := range e.sd.order {
		e.advance(d, now)
		e.checkAlarms(d, now)
	}
}

// ECSServiceDeployment is what ECS.ServiceDeployments reports.
type ECSServiceDeployment struct {
	ARN, Service, TaskDefinition, Status, LifecycleStage, StatusReason string
	// Strategy is the deployment configuration's strategy.
	Strategy string
	// Weight is green's share of production traffic in percent.
	Weight float64
}

// ServiceDeployments returns the service deployments of a service as they
// are now, oldest first.
func (e *ECS) ServiceDeployments(cluster, service string) []ECSServiceDeployment {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.opts.Now()
	var out []ECSServiceDeployment
	for _, d := range e.sd.order {
		if d.svc.cluster != lastPart(cluster) && !(cluster == "" && d.svc.cluster == "default") || d.svc.name != service {
			continue
		}
		e.advance(d, now)
		ph := d.phase()
		out = append(out, ECSServiceDeployment{ARN: d.arn, Service: d.svc.name, TaskDefinition: d.taskDef, Status: d.status,
			LifecycleStage: ph.stage, StatusReason: d.reason, Strategy: d.cfg.Strategy, Weight: ph.weight})
	}
	return out
}

type ecsDeployments struct {
	timing ECSDeploymentTiming
	byARN  map[string]*ecsSvcDeployment
	order  []*ecsSvcDeployment
	lambda map[string]string // function ARN -> the status its hooks answer
	alarms map[string]bool   // alarm name -> in ALARM
	seq    int
}

// ecsPhase is a stretch of a service deployment: the lifecycleStage it
// reports, the hooks it runs, the traffic while in it, and its wait.
type ecsPhase struct {
	stage, hookStage string
	weight, test     float64
	wait             time.Duration
}

type ecsHookRun struct {
	detail     ecsLifecycleHookDetail
	doneAt     time.Time // an AWS_LAMBDA hook answers then
	resolvedAt time.Time
}

type ecsSvcDeployment struct {
	arn, revisionARN, sourceRevisionARN string
	svc                                 *ecsService
	taskDef, sourceTaskDef              string
	cfg                                 ecsDeploymentConfiguration
	stageTime                           time.Duration
	created, updated                    time.Time
	status, reason                      string
	phases                              []ecsPhase
	pos                                 int
	enteredAt                           time.Time
	hooks                               []*ecsHookRun
	rollingBack                         bool
	rollback                            *ecsWireRollback
	failedHooks                         []ecsLifecycleHookDetail // the hooks that started the rollback
	triggered                           []string
	finished                            *time.Time
}

func (d *ecsSvcDeployment) phase() ecsPhase {
	if d.pos >= len(d.phases) {
		p := d.phases[len(d.phases)-1]
		return p
	}
	return d.phases[d.pos]
}

func (d *ecsSvcDeployment) inProgress() bool {
	return d.status == "IN_PROGRESS" || d.status == "ROLLBACK_IN_PROGRESS"
}

// serveDeployments serves the service deployment operations; ok is false
// for other operations.
func (e *ECS) serveDeployments(op string, decode func(any) error) (out any, ok bool, err error) {
	switch op {
	case "UpdateService":
		var in ecsUpdateServiceInput
		if err := decode(&in); err != nil {
			return nil, true, err
		}
		out, err = e.opUpdateService(in)
	case "ListServiceDeployments":
		var in ecsListServiceDeploymentsInput
		if err := decode(&in); err != nil {
			return nil, true, err
		}
		out, err = e.opListServiceDeployments(in)
	case "DescribeServiceDeployments":
		var in ecsDescribeServiceDeploymentsInput
		if err := decode(&in); err != nil {
			return nil, true, err
		}
		out, err = e.opDescribeServiceDeployments(in)
	case "ContinueServiceDeployment":
		var in ecsContinueServiceDeploymentInput
		if err := decode(&in); err != nil {
			return nil, true, err
		}
		out, err = e.opContinueServiceDeployment(in)
	case "StopServiceDeployment":
		var in ecsStopServiceDeploymentInput
		if err := decode(&in); err != nil {
			return nil, true, err
		}
		out, err = e.opStopServiceDeployment(in)
	default:
		return nil, false, nil
	}
	return out, true, err
}

// hookStages are the stages lifecycle hooks may name.
var hookStages = []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
	"PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"}

func invalid(format string, args ...any) error {
	return clientErr("InvalidParameterException", format, args...)
}

// validTenths reports whether p is a multiple of 0.1 in [lo, hi].
func validTenths(p, lo, hi float64) bool {
	t := p * 10
	return p >= lo && p <= hi && math.Abs(t-math.Round(t)) < 1e-6
}

// checkDeploymentConfiguration checks c as ECS checks an ECS-controlled
// blue/green, linear or canary configuration.
func checkDeploymentConfiguration(c *ecsDeploymentConfiguration) error {
	switch c.Strategy {
	case "BLUE_GREEN", "LINEAR", "CANARY":
	case "", "ROLLING":
		return invalid("the ECS fake serves only BLUE_GREEN, LINEAR and CANARY deployments, not %q", c.Strategy)
	default:
		return invalid("deploymentConfiguration.strategy %q is not one of ROLLING, BLUE_GREEN, LINEAR, CANARY", c.Strategy)
	}
	if c.LinearConfiguration != nil && c.Strategy != "LINEAR" {
		return invalid("linearConfiguration is only valid with the LINEAR strategy")
	}
	if c.CanaryConfiguration != nil && c.Strategy != "CANARY" {
		return invalid("canaryConfiguration is only valid with the CANARY strategy")
	}
	minutes := func(field string, v *int) error {
		if v != nil && (*v < 0 || *v > 1440) {
			return invalid("%s must be between 0 and 1440 minutes", field)
		}
		return nil
	}
	if err := minutes("bakeTimeInMinutes", c.BakeTimeInMinutes); err != nil {
		return err
	}
	if l := c.LinearConfiguration; l != nil {
		if l.StepPercent != nil && !validTenths(*l.StepPercent, 3, 100) {
			return invalid("linearConfiguration.stepPercent must be a multiple of 0.1 from 3.0 to 100.0")
		}
		if err := minutes("linearConfiguration.stepBakeTimeInMinutes", l.StepBakeTimeInMinutes); err != nil {
			return err
		}
	}
	if k := c.CanaryConfiguration; k != nil {
		if k.CanaryPercent != nil && !validTenths(*k.CanaryPercent, 0.1, 100) {
			return invalid("canaryConfiguration.canaryPercent must be a multiple of 0.1 from 0.1 to 100.0")
		}
		if err := minutes("canaryConfiguration.canaryBakeTimeInMinutes", k.CanaryBakeTimeInMinutes); err != nil {
			return err
		}
	}
	if a := c.Alarms; a != nil && a.Enable && len(a.AlarmNames) == 0 {
		return invalid("alarms.alarmNames must name at least one alarm when alarms are enabled")
	}
	for i, h := range c.LifecycleHooks {
		switch h.TargetType {
		case "", "AWS_LAMBDA":
			if h.HookTargetArn == "" || h.RoleArn == "" {
				return invalid("lifecycleHooks[%d]: an AWS_LAMBDA hook needs hookTargetArn and roleArn", i)
			}
		case "PAUSE":
			if h.HookTargetArn != "" {
				return invalid("lifecycleHooks[%d]: hookTargetArn is not applicable to PAUSE hooks", i)
			}
		default:
			return invalid("lifecycleHooks[%d].targetType %q is not one of AWS_LAMBDA, PAUSE", i, h.TargetType)
		}
		if len(h.LifecycleStages) == 0 {
			return invalid("lifecycleHooks[%d].lifecycleStages is required", i)
		}
		for _, s := range h.LifecycleStages {
			if !slices.Contains(hookStages, s) {
				return invalid("lifecycleHooks[%d].lifecycleStages: %q is not a lifecycle hook stage", i, s)
			}
			if h.TargetType == "PAUSE" && (s == "TEST_TRAFFIC_SHIFT" || s == "PRODUCTION_TRAFFIC_SHIFT") {
				return invalid("PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages")
			}
		}
		if t := h.TimeoutConfiguration; t != nil {
			if t.TimeoutInMinutes != nil && (*t.TimeoutInMinutes < 1 || *t.TimeoutInMinutes > 20160) {
				return invalid("lifecycleHooks[%d].timeoutConfiguration.timeoutInMinutes must be between 1 and 20160", i)
			}
			if t.Action != "" && t.Action != "ROLLBACK" && t.Action != "CONTINUE" {
				return invalid("lifecycleHooks[%d].timeoutConfiguration.action %q is not one of ROLLBACK, CONTINUE", i, t.Action)
			}
		}
	}
	return nil
}

func (e *ECS) opUpdateService(in ecsUpdateServiceInput) (any, error) {
	if in.Service == "" {
		return nil, invalid("service is required")
	}
	svc, err := e.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	now := e.opts.Now()
	var current *ecsSvcDeployment
	for _, d := range e.sd.order {
		if d.svc == svc {
			e.advance(d, now)
			current = d
		}
	}
	cfg := svc.sdConfig
	if in.DeploymentConfiguration != nil {
		cfg = in.DeploymentConfiguration
	}
	if cfg == nil {
		cfg = &ecsDeploymentConfiguration{}
	}
	if err := checkDeploymentConfiguration(cfg); err != nil {
		return nil, err
	}
	if svc.controller != "ECS" {
		return nil, invalid("the %s strategy needs the ECS deployment controller; the service uses %s", cfg.Strategy, svc.controller)
	}
	lbs := svc.lbs
	if in.LoadBalancers != nil {
		lbs = in.LoadBalancers
	}
	advanced := false
	for i, lb := range lbs {
		if a := lb.AdvancedConfiguration; a != nil {
			if a.AlternateTargetGroupArn == "" || a.ProductionListenerRule == "" || a.RoleArn == "" {
				return nil, invalid("loadBalancers[%d].advancedConfiguration needs alternateTargetGroupArn, productionListenerRule and roleArn", i)
			}
			advanced = true
		}
	}
	if !advanced {
		return nil, invalid("a %s deployment needs a load balancer with advancedConfiguration (alternateTargetGroupArn, productionListenerRule, roleArn)", cfg.Strategy)
	}
	taskDef := svc.taskDef
	if in.TaskDefinition != "" {
		taskDef = in.TaskDefinition
	}
	if taskDef == "" {
		return nil, invalid("taskDefinition is required")
	}
	start := taskDef != svc.taskDef || in.ForceNewDeployment
	if start && current != nil && current.inProgress() {
		return nil, invalid("service deployment %s is in progress; wait for it to end or stop it", current.arn)
	}
	svc.sdConfig, svc.lbs = cfg, lbs
	if in.DesiredCount != nil {
		svc.desired = *in.DesiredCount
	}
	if start {
		current = e.startDeployment(svc, taskDef, *cfg, now)
	}
	out := ecsUpdatedService{ecsWireService: e.serviceView(svc), DeploymentConfiguration: cfg}
	if current != nil {
		out.CurrentServiceDeployment = current.arn
	}
	return map[string]any{"service": out}, nil
}

func intOr(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}

func floatOr(v *float64, def float64) float64 {
	if v == nil {
		return def
	}
	return *v
}

// startDeployment starts a service deployment of taskDef.
func (e *ECS) startDeployment(svc *ecsService, taskDef string, cfg ecsDeploymentConfiguration, now time.Time) *ecsSvcDeployment {
	e.sd.seq++
	if e.sd.byARN == nil {
		e.sd.byARN = map[string]*ecsSvcDeployment{}
	}
	stageTime := e.sd.timing.StageTime
	if stageTime <= 0 {
		stageTime = 10 * time.Second
	}
	source := svc.revisionARN
	svc.revisionSeq++
	svc.revisionARN = fmt.Sprintf("arn:aws:ecs:%s:%s:service-revision/%s/%s/%d", fakeRegion, fakeAccount, svc.cluster, svc.name, 1000+svc.revisionSeq)
	d := &ecsSvcDeployment{
		arn:         fmt.Sprintf("arn:aws:ecs:%s:%s:service-deployment/%s/%s/sd%08d", fakeRegion, fakeAccount, svc.cluster, svc.name, e.sd.seq),
		revisionARN: svc.revisionARN, sourceRevisionARN: source,
		svc: svc, taskDef: taskDef, sourceTaskDef: svc.taskDef, cfg: cfg, stageTime: stageTime,
		created: now, status: "IN_PROGRESS",
	}
	minutes := func(m int) time.Duration { return time.Duration(m) * time.Minute }
	// The production steps and their bakes.
	var steps []float64
	var stepBake time.Duration
	switch cfg.Strategy {
	case "LINEAR":
		var p float64 = 10
		if l := cfg.LinearConfiguration; l != nil {
			p = floatOr(l.StepPercent, 10)
			stepBake = minutes(intOr(l.StepBakeTimeInMinutes, 6))
		} else {
			stepBake = minutes(6)
		}
		for i := 1; ; i++ {
			w := math.Round(float64(i)*p*10) / 10
			if w >= 100 {
				steps = append(steps, 100)
				break
			}
			steps = append(steps, w)
		}
	case "CANARY":
		p := 5.0
		stepBake = minutes(10)
		if k := cfg.CanaryConfiguration; k != nil {
			p = floatOr(k.CanaryPercent, 5)
			stepBake = minutes(intOr(k.CanaryBakeTimeInMinutes, 10))
		}
		steps = []float64{p}
		if p < 100 {
			steps = append(steps, 100)
		}
	default:
		steps = []float64{100}
	}
	ps := []ecsPhase{{stage: "RECONCILE_SERVICE"}, {stage: "PRE_SCALE_UP", hookStage: "PRE_SCALE_UP"}, {stage: "SCALE_UP"},
		{stage: "POST_SCALE_UP", hookStage: "POST_SCALE_UP"}, {stage: "TEST_TRAFFIC_SHIFT", hookStage: "TEST_TRAFFIC_SHIFT", test: 100},
		{stage: "POST_TEST_TRAFFIC_SHIFT", hookStage: "POST_TEST_TRAFFIC_SHIFT", test: 100}}
	prev := 0.0
	for i, w := range steps {
		wait := stepBake
		if i == len(steps)-1 {
			wait = 0
		}
		ps = append(ps, ecsPhase{stage: "PRODUCTION_TRAFFIC_SHIFT", hookStage: "PRE_PRODUCTION_TRAFFIC_SHIFT", weight: prev, test: 100},
			ecsPhase{stage: "PRODUCTION_TRAFFIC_SHIFT", hookStage: "PRODUCTION_TRAFFIC_SHIFT", weight: w, test: 100, wait: wait})
		prev = w
	}
	ps = append(ps, ecsPhase{stage: "POST_PRODUCTION_TRAFFIC_SHIFT", hookStage: "POST_PRODUCTION_TRAFFIC_SHIFT", weight: 100, test: 100},
		ecsPhase{stage: "BAKE_TIME", weight: 100, test: 100, wait: minutes(intOr(cfg.BakeTimeInMinutes, 0))},
		ecsPhase{stage: "CLEAN_UP", weight: 100, test: 100})
	d.phases = ps
	svc.taskDef = taskDef
	e.sd.byARN[d.arn] = d
	e.sd.order = append(e.sd.order, d)
	e.enter(d, 0, now)
	return d
}

// enter moves d into phase i at at: its hooks start.
func (e *ECS) enter(d *ecsSvcDeployment, i int, at time.Time) {
	d.pos, d.enteredAt, d.updated, d.hooks = i, at, at, nil
	if i >= len(d.phases) {
		t := at
		d.finished = &t
		if d.rollingBack {
			d.status = "ROLLBACK_SUCCESSFUL"
			d.svc.taskDef, d.svc.revisionARN = d.sourceTaskDef, d.sourceRevisionARN
		} else {
			d.status = "SUCCESSFUL"
		}
		return
	}
	ph := d.phases[i]
	if !d.rollingBack && ph.stage == "POST_SCALE_UP" {
		if reason, ok := e.failing[d.taskDef]; ok {
			e.startRollback(d, at, "tasks of the new service revision failed to start: "+reason)
			return
		}
	}
	if ph.hookStage == "" {
		return
	}
	for _, h := range d.cfg.LifecycleHooks {
		if !slices.Contains(h.LifecycleStages, ph.hookStage) {
			continue
		}
		e.sd.seq++
		run := &ecsHookRun{detail: ecsLifecycleHookDetail{TargetType: h.TargetType, TargetArn: h.HookTargetArn, TimeoutAction: "ROLLBACK"}}
		timeout := 1440
		if t := h.TimeoutConfiguration; t != nil {
			timeout = intOr(t.TimeoutInMinutes, 1440)
			if t.Action != "" {
				run.detail.TimeoutAction = t.Action
			}
		}
		if h.TargetType == "PAUSE" {
			run.detail.HookID = "ecs-pause-" + strconv.Itoa(e.sd.seq)
			run.detail.Status = "AWAITING_ACTION"
			exp := epoch(at.Add(time.Duration(timeout) * time.Minute))
			run.detail.ExpiresAt = &exp
		} else {
			run.detail.TargetType = "AWS_LAMBDA"
			run.detail.HookID = "ecs-lambda-" + strconv.Itoa(e.sd.seq)
			run.detail.Status = "IN_PROGRESS"
			run.doneAt = at.Add(d.stageTime)
		}
		d.hooks = append(d.hooks, run)
	}
}

// startRollback rolls d back from at: traffic returns to the source
// revision, the traffic-shift AWS_LAMBDA hooks run again, green is removed.
func (e *ECS) startRollback(d *ecsSvcDeployment, at time.Time, reason string) {
	for _, h := range d.hooks {
		if h.detail.Status == "FAILED" || h.detail.Status == "TIMED_OUT" {
			d.failedHooks = append(d.failedHooks, h.detail)
		}
	}
	d.rollingBack = true
	d.status, d.reason = "ROLLBACK_IN_PROGRESS", reason
	d.rollback = &ecsWireRollback{Reason: reason, StartedAt: epoch(at), ServiceRevisionArn: d.sourceRevisionARN}
	d.phases = []ecsPhase{{stage: "PRODUCTION_TRAFFIC_SHIFT", hookStage: "PRODUCTION_TRAFFIC_SHIFT"},
		{stage: "TEST_TRAFFIC_SHIFT", hookStage: "TEST_TRAFFIC_SHIFT"}, {stage: "CLEAN_UP"}}
	e.enter(d, 0, at)
}

// checkAlarms rolls d back if one of its alarms is in ALARM.
func (e *ECS) checkAlarms(d *ecsSvcDeployment, now time.Time) {
	a := d.cfg.Alarms
	if d.status != "IN_PROGRESS" || a == nil || !a.Enable || !a.Rollback {
		return
	}
	for _, name := range a.AlarmNames {
		if e.sd.alarms[name] && !slices.Contains(d.triggered, name) {
			d.triggered = append(d.triggered, name)
		}
	}
	if len(d.triggered) > 0 {
		e.startRollback(d, now, "CloudWatch alarm "+d.triggered[0]+" is in ALARM")
	}
}

// advance brings d to now: hooks answer or time out, stages end.
func (e *ECS) advance(d *ecsSvcDeployment, now time.Time) {
	for guard := 0; d.inProgress() && guard < 10000; guard++ {
		ph := d.phases[d.pos]
		ready := d.enteredAt.Add(d.stageTime)
		rolledBack := false
		for _, h := range d.hooks {
			switch h.detail.Status {
			case "IN_PROGRESS":
				if now.Before(h.doneAt) {
					return
				}
				h.detail.Status, h.resolvedAt = "SUCCEEDED", h.doneAt
				if s := e.sd.lambda[h.detail.TargetArn]; s != "" {
					h.detail.Status = s
				}
				if h.detail.Status == "FAILED" && !d.rollingBack {
					e.startRollback(d, h.doneAt, "lifecycle hook "+h.detail.TargetArn+" failed")
					rolledBack = true
				}
			case "AWAITING_ACTION":
				exp := time.Time(*h.detail.ExpiresAt)
				if now.Before(exp) {
					return
				}
				h.detail.Status, h.resolvedAt = "TIMED_OUT", exp
				if h.detail.TimeoutAction == "ROLLBACK" && !d.rollingBack {
					e.startRollback(d, exp, "lifecycle hook "+h.detail.HookID+" timed out")
					rolledBack = true
				}
			}
			if rolledBack {
				break
			}
			if h.resolvedAt.After(ready) {
				ready = h.resolvedAt
			}
		}
		if rolledBack {
			continue
		}
		end := ready.Add(ph.wait)
		if now.Before(end) {
			return
		}
		e.enter(d, d.pos+1, end)
	}
}

// view is d as DescribeServiceDeployments shows it.
func (e *ECS) sdView(d *ecsSvcDeployment) ecsWireServiceDeployment {
	ph := d.phase()
	weight, test := ph.weight, ph.test
	if d.status == "SUCCESSFUL" {
		weight, test = 100, 100
	}
	desired := d.svc.desired
	target := &ecsServiceRevisionSummary{Arn: d.revisionARN, RequestedProductionTrafficWeight: &weight, RequestedTestTrafficWeight: &test}
	if d.pos >= 2 && !d.rollingBack {
		target.RequestedTaskCount, target.RunningTaskCount = desired, desired
	}
	out := ecsWireServiceDeployment{ServiceDeploymentArn: d.arn, ServiceArn: d.svc.arn(), ClusterArn: clusterARN(d.svc.cluster),
		CreatedAt: epoch(d.created), StartedAt: epoch(d.created), UpdatedAt: epoch(d.updated), TargetServiceRevision: target,
		Status: d.status, StatusReason: d.reason, LifecycleStage: ph.stage, Rollback: d.rollback}
	cfg := d.cfg
	out.DeploymentConfiguration = &cfg
	if d.sourceRevisionARN != "" {
		bw, bt := 100-weight, 100-test
		out.SourceServiceRevisions = []ecsServiceRevisionSummary{{Arn: d.sourceRevisionARN, RequestedTaskCount: desired, RunningTaskCount: desired,
			RequestedProductionTrafficWeight: &bw, RequestedTestTrafficWeight: &bt}}
	}
	if d.finished != nil {
		f := epoch(*d.finished)
		out.FinishedAt = &f
	}
	out.LifecycleHookDetails = append(out.LifecycleHookDetails, d.failedHooks...)
	for _, h := range d.hooks {
		out.LifecycleHookDetails = append(out.LifecycleHookDetails, h.detail)
	}
	if a := d.cfg.Alarms; a != nil && a.Enable {
		st := "MONITORING"
		switch {
		case len(d.triggered) > 0:
			st = "TRIGGERED"
		case !d.inProgress():
			st = "MONITORING_COMPLETE"
		}
		out.Alarms = &ecsServiceDeploymentAlarms{Status: st, AlarmNames: a.AlarmNames, TriggeredAlarmNames: d.triggered}
	}
	return out
}

func (e *ECS) opListServiceDeployments(in ecsListServiceDeploymentsInput) (any, error) {
	if in.Service == "" {
		return nil, invalid("service is required")
	}
	svc, err := e.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if in.MaxResults < 0 || in.MaxResults > 100 {
		return nil, invalid("maxResults must be between 1 and 100")
	}
	limit := in.MaxResults
	if limit == 0 {
		limit = 20
	}
	now := e.opts.Now()
	var all []ecsServiceDeploymentBrief
	for i := len(e.sd.order) - 1; i >= 0; i-- { // newest first
		d := e.sd.order[i]
		if d.svc != svc {
			continue
		}
		e.advance(d, now)
		if len(in.Status) > 0 && !slices.Contains(in.Status, d.status) {
			continue
		}
		if c := in.CreatedAt; c != nil && (c.After != nil && !d.created.After(time.Time(*c.After)) || c.Before != nil && !d.created.Before(time.Time(*c.Before))) {
			continue
		}
		b := ecsServiceDeploymentBrief{ServiceDeploymentArn: d.arn, ServiceArn: svc.arn(), ClusterArn: clusterARN(svc.cluster),
			CreatedAt: epoch(d.created), StartedAt: epoch(d.created), Status: d.status, StatusReason: d.reason, TargetServiceRevisionArn: d.revisionARN}
		if d.finished != nil {
			f := epoch(*d.finished)
			b.FinishedAt = &f
		}
		all = append(all, b)
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(all) {
			return nil, invalid("nextToken is not one this service returned")
		}
		start = n
	}
	end := min(start+limit, len(all))
	out := map[string]any{"serviceDeployments": append([]ecsServiceDeploymentBrief{}, all[start:end]...)}
	if end < len(all) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func (e *ECS) opDescribeServiceDeployments(in ecsDescribeServiceDeploymentsInput) (any, error) {
	if len(in.ServiceDeploymentArns) == 0 || len(in.ServiceDeploymentArns) > 20 {
		return nil, invalid("serviceDeploymentArns must name between 1 and 20 service deployments")
	}
	now := e.opts.Now()
	sds, failures := []ecsWireServiceDeployment{}, []ecsFailure{}
	for _, arn := range in.ServiceDeploymentArns {
		d, ok := e.sd.byARN[arn]
		if !ok {
			failures = append(failures, ecsFailure{Arn: arn, Reason: "MISSING"})
			continue
		}
		e.advance(d, now)
		sds = append(sds, e.sdView(d))
	}
	return map[string]any{"serviceDeployments": sds, "failures": failures}, nil
}

// deployment returns the service deployment arn names, brought to now.
func (e *ECS) deployment(arn string) (*ecsSvcDeployment, time.Time, error) {
	if arn == "" {
		return nil, time.Time{}, invalid("serviceDeploymentArn is required")
	}
	d, ok := e.sd.byARN[arn]
	if !ok {
		return nil, time.Time{}, clientErr("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", arn)
	}
	now := e.opts.Now()
	e.advance(d, now)
	return d, now, nil
}

func (e *ECS) opContinueServiceDeployment(in ecsContinueServiceDeploymentInput) (any, error) {
	d, now, err := e.deployment(in.ServiceDeploymentArn)
	if err != nil {
		return nil, err
	}
	if in.HookID == "" {
		return nil, invalid("hookId is required")
	}
	action := in.Action
	if action == "" {
		action = "CONTINUE"
	}
	if action != "CONTINUE" && action != "ROLLBACK" {
		return nil, invalid("action %q is not one of CONTINUE, ROLLBACK", in.Action)
	}
	if d.status != "IN_PROGRESS" {
		return nil, clientErr("ConflictException", "The service deployment is %s, not IN_PROGRESS.", d.status)
	}
	for _, h := range d.hooks {
		if h.detail.HookID != in.HookID {
			continue
		}
		if h.detail.Status != "AWAITING_ACTION" {
			return nil, clientErr("ConflictException", "The lifecycle hook %s is %s, not AWAITING_ACTION.", in.HookID, h.detail.Status)
		}
		h.resolvedAt = now
		if action == "ROLLBACK" {
			h.detail.Status = "FAILED"
			e.startRollback(d, now, "lifecycle hook "+in.HookID+" was answered ROLLBACK")
		} else {
			h.detail.Status = "SUCCEEDED"
			e.advance(d, now)
		}
		return map[string]any{"serviceDeploymentArn": d.arn}, nil
	}
	return nil, invalid("the service deployment has no lifecycle hook %s awaiting action", in.HookID)
}

func (e *ECS) opStopServiceDeployment(in ecsStopServiceDeploymentInput) (any, error) {
	d, now, err := e.deployment(in.ServiceDeploymentArn)
	if err != nil {
		return nil, err
	}
	if in.StopType != "" && in.StopType != "ROLLBACK" {
		return nil, invalid("stopType %q: the valid value is ROLLBACK", in.StopType)
	}
	if d.status != "IN_PROGRESS" || d.phase().stage == "CLEAN_UP" {
		return nil, clientErr("ConflictException", "The service deployment is %s at %s and cannot be stopped.", d.status, d.phase().stage)
	}
	e.startRollback(d, now, "stopped with StopServiceDeployment")
	return map[string]any{"serviceDeploymentArn": d.arn}, nil
}

// NewECSInProcess returns an ECS fake with no server, for InProcessConfig:
// inside a testing/synctest bubble, its clock (time.Now by default) is
// virtual.
func NewECSInProcess(opts ECSOptions) *ECS { return newECS(opts) }
