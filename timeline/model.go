package timeline

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// lane is what one member's events say, ready to draw.
type lane struct {
	member     string
	start, end time.Time
	green      bluegreen.Slot // "" when no event tells
	stages     []stageBar
	skipped    []mark
	prod       []level // green's production share, in percent
	test       []level // 100: green, 0: blue, -1: none
	markers    []mark
	rollbacks  []rollbackSpan
	outcome    bluegreen.Outcome
	samples    map[bluegreen.Slot][]rate
}

type stageBar struct {
	stage      bluegreen.Stage
	step       int
	start, end time.Time
	rollback   bool // started during a rollback
	reason     string
}

// level is a value of a step curve from a time on.
type level struct {
	t time.Time
	v float64
}

// mark is a marker: kind is its class, row its row (0: hooks and pauses, 1:
// the rest), title its details.
type mark struct {
	t      time.Time
	kind   string
	row    int
	status string
	label  string
	title  string
}

type rollbackSpan struct {
	start, end time.Time
	text       string
}

// rate is a requests and errors rate at a time, per second.
type rate struct {
	t                time.Time
	reqs, errs       float64
	requests, errors uint64
}

// Marker classes.
const (
	markHookCalled   = "hook-called"
	markHookAnswered = "hook-answered"
	markPaused       = "paused"
	markContinued    = "continued"
	markPromoted     = "promoted"
	markFired        = "monitor-fired"
	markInconclusive = "monitor-inconclusive"
	markAdopted      = "adopted"
	markReconciled   = "reconciled"
	markRetried      = "retried"
	markRollback     = "rollback-started"
	markDone         = "done"
)

// buildLanes splits events into lanes, one per member in order of first
// appearance, and reads what each lane shows.
func buildLanes(events []bluegreen.Event, samples []Sample) []*lane {
	byMember := map[string][]bluegreen.Event{}
	var order []string
	for _, ev := range events {
		if _, ok := byMember[ev.Member]; !ok {
			order = append(order, ev.Member)
		}
		byMember[ev.Member] = append(byMember[ev.Member], ev)
	}
	lanes := make([]*lane, 0, len(order))
	for _, m := range order {
		evs := byMember[m]
		slices.SortStableFunc(evs, func(a, b bluegreen.Event) int { return a.Time.Compare(b.Time) })
		lanes = append(lanes, readLane(m, evs))
	}
	for _, l := range lanes {
		var mine []Sample
		for _, s := range samples {
			if s.Member == l.member || len(lanes) == 1 {
				mine = append(mine, s)
			}
		}
		l.samples = rates(mine, l.start, l.end)
	}
	return lanes
}

func readLane(member string, evs []bluegreen.Event) *lane {
	l := &lane{member: member, start: evs[0].Time, end: evs[len(evs)-1].Time, green: greenSlot(evs)}
	open := -1 // index of the stage bar still open
	closeBar := func(t time.Time) {
		if open >= 0 {
			l.stages[open].end = t
			open = -1
		}
	}
	rb := -1 // index of the rollback still open
	var curProd = -1.0
	var curTest bluegreen.Slot = "none"
	for _, ev := range evs {
		where := ev.Stage.String()
		if ev.Step > 0 {
			where += fmt.Sprintf(" step %d", ev.Step)
		}
		add := func(kind string, row int, title string) {
			l.markers = append(l.markers, mark{t: ev.Time, kind: kind, row: row, title: title})
		}
		switch ev.Kind {
		case bluegreen.EventStageStarted:
			closeBar(ev.Time)
			l.stages = append(l.stages, stageBar{stage: ev.Stage, step: ev.Step, start: ev.Time, end: ev.Time, rollback: rb >= 0, reason: ev.Reason})
			open = len(l.stages) - 1
		case bluegreen.EventStageFinished:
			if open >= 0 && l.stages[open].stage == ev.Stage {
				closeBar(ev.Time)
			}
		case bluegreen.EventStageSkipped:
			l.skipped = append(l.skipped, mark{t: ev.Time, kind: "stage-skipped", title: fmt.Sprintf("%s skipped: %s", where, ev.Reason)})
		case bluegreen.EventTrafficShifted, bluegreen.EventTrafficVerified:
			if ev.Routes == nil {
				continue
			}
			g := l.green
			if g == "" {
				g = bluegreen.SlotB
			}
			if v := ev.Routes.Production.Of(g).Percent(); v != curProd {
				l.prod = append(l.prod, level{ev.Time, v})
				curProd = v
			}
			if t := ev.Routes.Test; t != curTest {
				curTest = t
				v := -1.0 // no test route
				switch {
				case t == g:
					v = 100
				case t.Valid():
					v = 0
				}
				l.test = append(l.test, level{ev.Time, v})
			}
		case bluegreen.EventHookCalled:
			add(markHookCalled, 0, fmt.Sprintf("hook %s called at %s (attempt %d)%s", ev.Hook, where, ev.Attempt, during(ev)))
		case bluegreen.EventHookAnswered:
			m := mark{t: ev.Time, kind: markHookAnswered, status: string(ev.HookStatus),
				title: fmt.Sprintf("hook %s answered %s at %s (attempt %d)%s%s", ev.Hook, ev.HookStatus, where, ev.Attempt, during(ev), colon(ev.Reason))}
			l.markers = append(l.markers, m)
		case bluegreen.EventPaused:
			add(markPaused, 0, fmt.Sprintf("paused by %s at %s%s", ev.Hook, where, colon(ev.Reason)))
		case bluegreen.EventContinued:
			add(markContinued, 0, fmt.Sprintf("continued (%s) at %s%s", ev.Hook, where, colon(ev.Reason)))
		case bluegreen.EventPromoted:
			add(markPromoted, 0, fmt.Sprintf("promoted at %s%s", where, colon(ev.Reason)))
		case bluegreen.EventMonitorFired:
			alarms := make([]string, len(ev.Alarms))
			for i, a := range ev.Alarms {
				alarms[i] = a.Name + colon(a.Reason)
			}
			add(markFired, 1, fmt.Sprintf("monitor %s fired at %s: %s%s", ev.Monitor, where, strings.Join(alarms, "; "), colon(ev.Reason)))
		case bluegreen.EventMonitorInconclusive:
			add(markInconclusive, 1, fmt.Sprintf("monitor %s inconclusive at %s%s", ev.Monitor, where, colon(ev.Reason)))
		case bluegreen.EventAdopted:
			add(markAdopted, 1, "adopted"+colon(ev.Reason))
		case bluegreen.EventReconciled:
			add(markReconciled, 1, "reconciled"+colon(ev.Reason))
		case bluegreen.EventRetried:
			add(markRetried, 1, fmt.Sprintf("retried at %s%s", where, colon(ev.Reason)))
		case bluegreen.EventRollbackStarted:
			text := "rollback"
			if r := ev.Rollback; r != nil {
				text += " (" + string(r.Trigger)
				if r.By != "" {
					text += " " + r.By
				}
				text += ")"
				if r.Reason != "" {
					text += ": " + r.Reason
				}
			} else if ev.Reason != "" {
				text += ": " + ev.Reason
			}
			text += " at " + where
			add(markRollback, 1, text)
			if rb < 0 {
				l.rollbacks = append(l.rollbacks, rollbackSpan{start: ev.Time, end: ev.Time, text: text})
				rb = len(l.rollbacks) - 1
			}
		case bluegreen.EventRollbackFinished:
			if rb >= 0 {
				l.rollbacks[rb].end = ev.Time
				rb = -1
			}
		case bluegreen.EventDone:
			closeBar(ev.Time)
			if rb >= 0 {
				l.rollbacks[rb].end = ev.Time
				rb = -1
			}
			l.outcome = ev.Outcome
			l.markers = append(l.markers, mark{t: ev.Time, kind: markDone, row: 1, status: string(ev.Outcome),
				title: "done: " + string(ev.Outcome) + colon(ev.Reason)})
		}
	}
	closeBar(l.end)
	if rb >= 0 {
		l.rollbacks[rb].end = l.end
	}
	return l
}

// greenSlot finds the slot green runs in: the test route's slot before any
// rollback, or the slot a rollback took production from.
func greenSlot(evs []bluegreen.Event) bluegreen.Slot {
	for _, ev := range evs {
		if ev.Routes != nil && !ev.DuringRollback && ev.Routes.Test.Valid() &&
			(ev.Kind == bluegreen.EventTrafficShifted || ev.Kind == bluegreen.EventTrafficVerified) {
			return ev.Routes.Test
		}
	}
	for _, ev := range evs {
		if ev.Routes != nil && ev.DuringRollback {
			switch ev.Routes.Production {
			case bluegreen.AllTo(bluegreen.SlotA):
				return bluegreen.SlotB
			case bluegreen.AllTo(bluegreen.SlotB):
				return bluegreen.SlotA
			}
		}
	}
	return ""
}

// rates turns counter samples into per-second rates between consecutive
// samples of each slot, keeping those within [from, to].
func rates(samples []Sample, from, to time.Time) map[bluegreen.Slot][]rate {
	bySlot := map[bluegreen.Slot][]Sample{}
	for _, s := range samples {
		bySlot[s.Slot] = append(bySlot[s.Slot], s)
	}
	out := map[bluegreen.Slot][]rate{}
	for slot, ss := range bySlot {
		if !slot.Valid() {
			continue
		}
		slices.SortStableFunc(ss, func(a, b Sample) int { return a.Time.Compare(b.Time) })
		for i := 1; i < len(ss); i++ {
			prev, cur := ss[i-1], ss[i]
			dt := cur.Time.Sub(prev.Time).Seconds()
			if dt <= 0 || cur.Time.Before(from) || cur.Time.After(to) {
				continue
			}
			dr, de := counterDelta(prev.Requests, cur.Requests), counterDelta(prev.Errors, cur.Errors)
			out[slot] = append(out[slot], rate{t: cur.Time, reqs: float64(dr) / dt, errs: float64(de) / dt, requests: dr, errors: de})
		}
	}
	return out
}

func counterDelta(prev, cur uint64) uint64 {
	if cur < prev {
		return cur // the counter started over
	}
	return cur - prev
}

func during(ev bluegreen.Event) string {
	if ev.DuringRollback {
		return " during the rollback"
	}
	return ""
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// span returns the earliest and latest event times.
func span(events []bluegreen.Event) (time.Time, time.Time) {
	t0 := slices.MinFunc(events, func(a, b bluegreen.Event) int { return a.Time.Compare(b.Time) }).Time
	t1 := slices.MaxFunc(events, func(a, b bluegreen.Event) int { return a.Time.Compare(b.Time) }).Time
	return t0, t1
}
