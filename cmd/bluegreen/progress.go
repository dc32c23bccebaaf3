package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// progress prints one line per deployment event:
//
//	15:04:05.000 STAGE PRODUCTION_TRAFFIC_SHIFT step 2
//	15:04:05.012 TRAFFIC PRODUCTION_TRAFFIC_SHIFT step 2: A=50% B=50% test=B
//
// The first word says what happened; scripts and tests match on it.
type progress struct {
	mu  sync.Mutex
	out io.Writer
}

// line prints a line of its own, such as the command's header.
func (p *progress) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}

// event prints ev, if it is worth a line. It is a bluegreen.Callbacks.OnEvent.
func (p *progress) event(ev bluegreen.Event) {
	label, text := describe(ev)
	if label == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "%s %s %s\n", ev.Time.Format("15:04:05.000"), label, text)
}

// describe returns the label and the text of ev's line; no label for events
// not shown (a stage finishing: the next one starting says as much).
func describe(ev bluegreen.Event) (label, text string) {
	where := ev.Stage.String()
	if ev.Step > 0 {
		where += fmt.Sprintf(" step %d", ev.Step)
	}
	rb := ""
	if ev.DuringRollback {
		rb = " (rollback)"
	}
	switch ev.Kind {
	case bluegreen.EventStageStarted:
		return "STAGE", where
	case bluegreen.EventStageSkipped:
		return "SKIPPED", where + ": " + ev.Reason
	case bluegreen.EventHealthChecked:
		if s := ev.Status; s != nil {
			text = fmt.Sprintf("%d/%d healthy, %d running", s.Healthy, s.Desired, s.Running)
			if s.Reason != "" {
				text += ": " + s.Reason
			}
		}
		return "HEALTH", text
	case bluegreen.EventTrafficShifted:
		return "TRAFFIC", where + ": " + routes(ev.Routes) + rb
	case bluegreen.EventTrafficVerified:
		return "VERIFIED", where + ": " + routes(ev.Routes) + rb
	case bluegreen.EventHookCalled:
		return "HOOK", fmt.Sprintf("%s: %s called (attempt %d)%s", where, ev.Hook, ev.Attempt, rb)
	case bluegreen.EventHookAnswered:
		text = fmt.Sprintf("%s: %s answered %s%s", where, ev.Hook, ev.HookStatus, rb)
		if ev.Reason != "" {
			text += ": " + ev.Reason
		}
		return "HOOK", text
	case bluegreen.EventMonitorFired:
		names := make([]string, len(ev.Alarms))
		for i, a := range ev.Alarms {
			names[i] = a.Name
			if a.Reason != "" {
				names[i] += " (" + a.Reason + ")"
			}
		}
		return "MONITOR", where + ": " + strings.Join(names, ", ")
	case bluegreen.EventPaused, bluegreen.EventContinued, bluegreen.EventPromoted:
		return string(ev.Kind), strings.TrimSuffix(where+": "+ev.Hook+" "+ev.Reason, " ")
	case bluegreen.EventRetried:
		return "RETRY", where + ": " + ev.Reason
	case bluegreen.EventRollbackStarted:
		text = where
		if r := ev.Rollback; r != nil {
			text += fmt.Sprintf(": %s", r.Trigger)
			if r.By != "" {
				text += " " + r.By
			}
			text += ": " + r.Reason
		}
		return "ROLLBACK", text
	case bluegreen.EventRollbackFinished:
		return "ROLLBACK", where + ": finished; blue has all traffic again and green is gone"
	case bluegreen.EventReconciled:
		return "RECONCILED", ev.Reason
	case bluegreen.EventDone:
		text = string(ev.Outcome)
		if ev.Reason != "" {
			text += ": " + ev.Reason
		}
		return "DONE", text
	}
	return "", ""
}

func routes(r *bluegreen.Routes) string {
	if r == nil {
		return "?"
	}
	if r.Production.Empty() && r.Test == "" {
		return "nothing routed"
	}
	return r.String()
}
