package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// progress prints one line per notable event of a deployment, stamped with
// the time since it started, and its result.
type progress struct {
	out          io.Writer
	start        time.Time
	targetGroups map[bluegreen.Slot]string // by slot, to name the live one
}

// event prints ev if it says something a person deploying wants to see.
func (p *progress) event(ev bluegreen.Event) {
	stage := ev.Stage.String()
	if ev.Step > 0 {
		stage += fmt.Sprintf(" #%d", ev.Step)
	}
	var line string
	switch ev.Kind {
	case bluegreen.EventStageStarted:
		line = "started"
	case bluegreen.EventStageSkipped:
		line = "skipped: " + ev.Reason
	case bluegreen.EventReconciled:
		line = "settled an earlier deployment: " + ev.Reason
	case bluegreen.EventHealthChecked:
		line = fmt.Sprintf("green %d/%d healthy", ev.Status.Healthy, ev.Status.Desired)
		if ev.Status.Reason != "" {
			line += ": " + ev.Status.Reason
		}
	case bluegreen.EventHookAnswered:
		line = fmt.Sprintf("hook %s answered %s", ev.Hook, ev.HookStatus)
		if ev.Reason != "" {
			line += ": " + ev.Reason
		}
	case bluegreen.EventTrafficVerified:
		line = "traffic " + ev.Routes.String()
		if ev.DuringRollback {
			line += " (rollback)"
		}
	case bluegreen.EventMonitorFired:
		var names []string
		for _, a := range ev.Alarms {
			names = append(names, a.Name+" ("+a.Reason+")")
		}
		line = "ALARM " + strings.Join(names, ", ")
	case bluegreen.EventPaused:
		line = "paused by " + ev.Hook + ": " + ev.Reason
	case bluegreen.EventRetried:
		line = "retrying: " + ev.Reason
	case bluegreen.EventRollbackStarted:
		line = "ROLLBACK started: " + ev.Reason
	case bluegreen.EventRollbackFinished:
		line = "rollback finished: blue has all traffic, green is gone"
	default:
		return
	}
	fmt.Fprintf(p.out, "%8s  %-33s %s\n", p.since(ev.Time), stage, line)
}

func (p *progress) since(t time.Time) string {
	return "+" + t.Sub(p.start).Round(10*time.Millisecond).String()
}

// result prints how the deployment ended.
func (p *progress) result(res bluegreen.Result, err error) {
	took := res.Finished.Sub(res.Started).Round(10 * time.Millisecond)
	live := "nothing is live"
	if res.Live != nil {
		live = fmt.Sprintf("%s is live in slot %s (target group %s)", res.Live.Revision.Name, res.Live.Slot, p.targetGroups[res.Live.Slot])
	}
	var rb *bluegreen.RollbackError
	switch {
	case err == nil:
		fmt.Fprintf(p.out, "SUCCEEDED in %v: %s; deployment %s\n", took, live, res.DeploymentID)
	case errors.As(err, &rb):
		fmt.Fprintf(p.out, "ROLLED_BACK in %v at %s (%s %s): %s; %s; deployment %s\n",
			took, rb.Info.Stage, rb.Info.Trigger, rb.Info.By, rb.Info.Reason, live, res.DeploymentID)
	default:
		fmt.Fprintf(p.out, "%s: %v\n", cmp.Or(string(res.Outcome), "FAILED"), err)
	}
}
