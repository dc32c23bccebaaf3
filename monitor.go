package bluegreen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Monitor watches a deployment and says whether green is fit to go on
// (CloudWatch alarms, error rates, metric queries). It has three answers:
// healthy, alarm (roll back) and inconclusive (not enough evidence yet: too
// few requests, a metric missing, CloudWatch's INSUFFICIENT_DATA). A
// production step and the bake time do not count as passed while any
// monitor is inconclusive; see Config.InconclusiveTimeout.
type Monitor interface {
	// Name identifies the monitor in events and rollback results.
	Name() string
	// Check returns the monitor's verdict on the deployment now.
	Check(ctx context.Context, in MonitorInput) (Verdict, error)
}

// EvidenceDescriber is an optional interface of Monitor for monitors that
// can say what evidence they need before they answer healthy (such as "at
// least 40 requests to green" or "3 periods of 60s"), for Plan to show why a
// step will wait.
type EvidenceDescriber interface {
	Evidence() string
}

// MonitorState is a monitor's answer.
type MonitorState string

// Monitor answers.
const (
	// MonitorHealthy: nothing wrong, with enough evidence to say so.
	MonitorHealthy MonitorState = "HEALTHY"
	// MonitorAlarm: roll the deployment back.
	MonitorAlarm MonitorState = "ALARM"
	// MonitorInconclusive: not enough evidence yet to tell.
	MonitorInconclusive MonitorState = "INCONCLUSIVE"
)

// Verdict is a monitor's answer to one check.
type Verdict struct {
	// State is the answer.
	State MonitorState `json:"state"`
	// Alarms are what fired, for MonitorAlarm.
	Alarms []Alarm `json:"alarms,omitempty"`
	// Reason says why, in words: what is missing, for MonitorInconclusive.
	Reason string `json:"reason,omitempty"`
}

// Healthy returns the verdict of a monitor that sees nothing wrong.
func Healthy() Verdict { return Verdict{State: MonitorHealthy} }

// Alarmed returns the verdict of a monitor whose alarms fired.
func Alarmed(alarms ...Alarm) Verdict { return Verdict{State: MonitorAlarm, Alarms: alarms} }

// Inconclusive returns the verdict of a monitor without enough evidence yet.
func Inconclusive(reason string) Verdict { return Verdict{State: MonitorInconclusive, Reason: reason} }

// NewMonitor returns a Monitor named name that calls check.
func NewMonitor(name string, check func(ctx context.Context, in MonitorInput) (Verdict, error)) Monitor {
	return funcMonitor{name, check}
}

type funcMonitor struct {
	name  string
	check func(ctx context.Context, in MonitorInput) (Verdict, error)
}

func (m funcMonitor) Name() string { return m.name }
func (m funcMonitor) Check(ctx context.Context, in MonitorInput) (Verdict, error) {
	return m.check(ctx, in)
}

// Alarm is a reason a monitor wants the deployment rolled back.
type Alarm struct {
	// Name names the alarm, such as a CloudWatch alarm name or "green-5xx-rate".
	Name string `json:"name"`
	// Reason says why it fired.
	Reason string `json:"reason,omitempty"`
}

// MonitorInput tells a monitor which deployment it is checking.
type MonitorInput struct {
	// DeploymentID identifies the deployment.
	DeploymentID string
	// Service is the service being deployed.
	Service string
	// Started is when the deployment started, so that a monitor can tell
	// alarms raised before it from alarms raised during it.
	Started time.Time
	// Stage is the stage the deployment is in.
	Stage Stage
	// Step is the production traffic step, if any.
	Step int
	// Blue is the environment being replaced; nil on a service's first deployment.
	Blue *Environment
	// Green is the environment being deployed.
	Green Environment
	// Routes are the routes in force.
	Routes Routes
}

// InconclusiveAction is what a deployment does when a monitor stays
// inconclusive for Config.InconclusiveTimeout.
type InconclusiveAction uint8

// Inconclusive actions.
const (
	// InconclusiveRollback rolls back: no evidence is not good evidence.
	InconclusiveRollback InconclusiveAction = iota
	// InconclusiveContinue goes on as if the monitor were healthy.
	InconclusiveContinue
)

// monitoring reports whether monitors are to be watched: once green has
// production traffic.
func (r *run) monitoring() bool {
	return len(r.d.cfg.Monitors) > 0 && !r.rollingBack && r.st != nil && r.st.Routes.Production.Of(r.st.Green.Slot) > 0
}

// checkMonitors asks every monitor once. Any alarm rolls back, as do
// MonitorErrorLimit consecutive failures of one monitor; inconclusive
// answers are remembered for awaitEvidence.
func (r *run) checkMonitors() error {
	mons := r.d.cfg.Monitors
	if len(mons) == 0 {
		return nil
	}
	if r.monitorErrs == nil {
		r.monitorErrs = make([]int, len(mons))
		r.inconclusive = map[string]time.Time{}
	}
	r.nextMonitor = r.clock.Now().Add(r.d.cfg.MonitorInterval)
	in := MonitorInput{DeploymentID: r.st.ID, Service: r.service, Started: r.st.Started, Stage: r.stage, Step: r.step,
		Blue: r.st.Blue, Green: r.st.Green, Routes: r.st.Routes}
	for i, m := range mons {
		var v Verdict
		err := r.call(m, "Monitor.Check", func(ctx context.Context) (err error) {
			v, err = m.Check(ctx, in)
			return err
		})
		if err != nil {
			var sig *rollbackSignal
			if errors.As(err, &sig) || isAbort(err) {
				return err
			}
			r.monitorErrs[i]++
			r.emit(Event{Kind: EventRetried, Monitor: m.Name(), Reason: err.Error()})
			if r.monitorErrs[i] >= r.d.cfg.MonitorErrorLimit {
				return r.rollbackNow(TriggerMonitor, m.Name(),
					fmt.Sprintf("monitor %s failed %d checks in a row: %v", m.Name(), r.monitorErrs[i], err))
			}
			continue
		}
		r.monitorErrs[i] = 0
		switch v.State {
		case MonitorAlarm:
			r.emit(Event{Kind: EventMonitorFired, Monitor: m.Name(), Alarms: v.Alarms, Reason: v.Reason})
			reason := v.Reason
			if len(v.Alarms) > 0 {
				reason = "alarm " + v.Alarms[0].Name
				if v.Alarms[0].Reason != "" {
					reason += ": " + v.Alarms[0].Reason
				}
			}
			if len(v.Alarms) > 0 && v.Alarms[0].Reason == "" {
				reason += " fired"
			}
			if reason == "" {
				reason = "monitor " + m.Name() + " fired"
			}
			return r.rollbackNow(TriggerMonitor, m.Name(), reason)
		case MonitorInconclusive:
			if _, ok := r.inconclusive[m.Name()]; !ok {
				r.inconclusive[m.Name()] = r.clock.Now()
				r.emit(Event{Kind: EventMonitorInconclusive, Monitor: m.Name(), Reason: orNoReason(v.Reason)})
			}
		case MonitorHealthy:
			delete(r.inconclusive, m.Name())
		default:
			r.monitorErrs[i]++
			r.emit(Event{Kind: EventRetried, Monitor: m.Name(), Reason: fmt.Sprintf("monitor %s answered %q, not HEALTHY, ALARM or INCONCLUSIVE", m.Name(), v.State)})
			if r.monitorErrs[i] >= r.d.cfg.MonitorErrorLimit {
				return r.rollbackNow(TriggerMonitor, m.Name(), fmt.Sprintf("monitor %s answered %q", m.Name(), v.State))
			}
		}
	}
	return nil
}

// awaitEvidence holds a production step or the bake time while any monitor
// is inconclusive, checking them every MonitorInterval, for up to
// InconclusiveTimeout since the first inconclusive answer; then it takes
// OnInconclusive. Promote skips the wait deliberately.
func (r *run) awaitEvidence() error {
	for len(r.inconclusive) > 0 {
		if r.promoted {
			clear(r.inconclusive)
			break
		}
		names := make([]string, 0, len(r.inconclusive))
		var since time.Time
		for name, t := range r.inconclusive {
			names = append(names, name)
			if since.IsZero() || t.Before(since) {
				since = t
			}
		}
		slices.Sort(names)
		deadline := since.Add(r.d.cfg.InconclusiveTimeout)
		if !r.clock.Now().Before(deadline) {
			reason := fmt.Sprintf("monitor %s inconclusive for %v", names[0], r.d.cfg.InconclusiveTimeout)
			if r.d.cfg.OnInconclusive == InconclusiveContinue {
				r.emit(Event{Kind: EventMonitorInconclusive, Monitor: names[0], Reason: reason + "; continuing (Config.OnInconclusive)"})
				clear(r.inconclusive)
				break
			}
			return r.rollbackNow(TriggerMonitor, names[0], reason+": no evidence that green is healthy")
		}
		if err := r.sleep(minTime(deadline, r.nextMonitor), true); err != nil {
			return err
		}
		if !r.clock.Now().Before(r.nextMonitor) {
			if err := r.checkMonitors(); err != nil {
				return err
			}
		}
	}
	r.promoted = false
	return nil
}
