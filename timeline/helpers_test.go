package timeline_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/timeline"
)

// node is an element of a parsed SVG document.
type node struct {
	name     string
	attr     map[string]string
	children []*node
	text     strings.Builder // character data directly inside
}

// parseSVG parses doc strictly, failing the test if it is not well-formed
// XML with one <svg> root.
func parseSVG(t testing.TB, doc []byte) *node {
	t.Helper()
	root, err := parseXML(doc)
	if err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, doc)
	}
	if root.name != "svg" || root.attr["xmlns"] != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %q xmlns %q, want an SVG document", root.name, root.attr["xmlns"])
	}
	return root
}

func parseXML(doc []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				key := a.Name.Local
				if a.Name.Space != "" && a.Name.Space != "xmlns" {
					key = a.Name.Space + ":" + key
				}
				n.attr[key] = a.Value
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(tok)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// all returns the descendants of n (n included) that have class c.
func (n *node) all(c string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		if m.hasClass(c) {
			out = append(out, m)
		}
		for _, ch := range m.children {
			walk(ch)
		}
	}
	walk(n)
	return out
}

func (n *node) hasClass(c string) bool { return slices.Contains(strings.Fields(n.attr["class"]), c) }

// title returns the text of n's <title> child.
func (n *node) title() string {
	for _, ch := range n.children {
		if ch.name == "title" {
			return ch.text.String()
		}
	}
	return ""
}

// allText returns the character data of n and its descendants.
func (n *node) allText() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(m *node) {
		b.WriteString(m.text.String())
		for _, ch := range m.children {
			walk(ch)
		}
	}
	walk(n)
	return b.String()
}

func (n *node) float(t testing.TB, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr[attr], 64)
	if err != nil {
		t.Fatalf("<%s class=%q> %s=%q: %v", n.name, n.attr["class"], attr, n.attr[attr], err)
	}
	return v
}

// points returns a polyline's points.
func (n *node) points(t testing.TB) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, p := range strings.Fields(n.attr["points"]) {
		xs, ys, ok := strings.Cut(p, ",")
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("polyline point %q", p)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

// levels reads a step curve (class production-weight or test-route) back
// as its successive percentages, from its data-y0 and data-y100.
func (n *node) levels(t testing.TB) []float64 {
	t.Helper()
	y0, y100 := n.float(t, "data-y0"), n.float(t, "data-y100")
	var out []float64
	for _, p := range n.points(t) {
		v := math.Round((y0 - p[1]) / (y0 - y100) * 100)
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// render draws events and parses the picture.
func render(t testing.TB, events []bluegreen.Event, opts timeline.Options) (*node, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := timeline.Write(&b, events, opts); err != nil {
		t.Fatal(err)
	}
	return parseSVG(t, b.Bytes()), b.Bytes()
}

// lanes returns the picture's lanes by member.
func lanes(root *node) map[string]*node {
	out := map[string]*node{}
	for _, l := range root.all("lane") {
		out[l.attr["data-member"]] = l
	}
	return out
}

// stageNames lists a lane's stage bars in drawing order, with their steps,
// and checks that they start left to right.
func stageNames(t testing.TB, lane *node) []string {
	t.Helper()
	var out []string
	prev := -1.0
	for _, s := range lane.all("stage") {
		name := s.attr["data-stage"]
		if s.attr["data-step"] != "0" {
			name += " " + s.attr["data-step"]
		}
		out = append(out, name)
		var rect *node
		for _, ch := range s.children {
			if ch.name == "rect" {
				rect = ch
			}
		}
		if rect == nil {
			t.Fatalf("stage %s has no bar", name)
		}
		if x := rect.float(t, "x"); x < prev {
			t.Errorf("stage %s starts at x=%v, left of the one before (%v)", name, x, prev)
		} else {
			prev = x
		}
	}
	return out
}

// log builds an event log by hand, with a clock.
type eventLog struct {
	id     string
	member string
	start  time.Time
	now    time.Duration
	events *[]bluegreen.Event
}

func newLog(id string) *eventLog {
	return &eventLog{id: id, start: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), events: &[]bluegreen.Event{}}
}

// as returns a builder for member's events in the same log, on the same clock.
func (l *eventLog) as(member string) *eventLog { c := *l; c.member = member; return &c }

func (l *eventLog) at(d time.Duration) *eventLog { l.now = d; return l }

func (l *eventLog) add(ev bluegreen.Event) *eventLog {
	ev.Seq = len(*l.events) + 1
	ev.Time = l.start.Add(l.now)
	ev.DeploymentID = l.id
	ev.Member = l.member
	*l.events = append(*l.events, ev)
	return l
}

func (l *eventLog) stage(s bluegreen.Stage, step int) *eventLog {
	return l.add(bluegreen.Event{Kind: bluegreen.EventStageStarted, Stage: s, Step: step})
}

func (l *eventLog) finish(s bluegreen.Stage, step int) *eventLog {
	return l.add(bluegreen.Event{Kind: bluegreen.EventStageFinished, Stage: s, Step: step})
}

func (l *eventLog) traffic(s bluegreen.Stage, step int, r bluegreen.Routes, rollback bool) *eventLog {
	l.add(bluegreen.Event{Kind: bluegreen.EventTrafficShifted, Stage: s, Step: step, Routes: &r, DuringRollback: rollback})
	return l.add(bluegreen.Event{Kind: bluegreen.EventTrafficVerified, Stage: s, Step: step, Routes: &r, DuringRollback: rollback})
}

func (l *eventLog) hook(s bluegreen.Stage, name string, status bluegreen.HookStatus, reason string) *eventLog {
	l.add(bluegreen.Event{Kind: bluegreen.EventHookCalled, Stage: s, Hook: name, Attempt: 1})
	return l.add(bluegreen.Event{Kind: bluegreen.EventHookAnswered, Stage: s, Hook: name, Attempt: 1, HookStatus: status, Reason: reason})
}

func (l *eventLog) done(o bluegreen.Outcome) *eventLog {
	return l.add(bluegreen.Event{Kind: bluegreen.EventDone, Outcome: o})
}

// throughTestShift logs a deployment of green in slot B up to its test
// traffic (blue in A has all of production), with a hook at
// POST_TEST_TRAFFIC_SHIFT; it ends at 3s.
func (l *eventLog) throughTestShift(hook bluegreen.HookStatus) *eventLog {
	l.at(0).stage(bluegreen.StageReconcileService, 0).at(100*time.Millisecond).finish(bluegreen.StageReconcileService, 0)
	l.stage(bluegreen.StagePreScaleUp, 0).at(200*time.Millisecond).finish(bluegreen.StagePreScaleUp, 0)
	l.stage(bluegreen.StageScaleUp, 0)
	for i := range 3 {
		st := bluegreen.Status{Desired: 2, Running: 2, Healthy: i}
		l.at(time.Duration(500+500*i) * time.Millisecond).add(bluegreen.Event{Kind: bluegreen.EventHealthChecked, Stage: bluegreen.StageScaleUp, Status: &st})
	}
	l.at(1500*time.Millisecond).finish(bluegreen.StageScaleUp, 0).stage(bluegreen.StagePostScaleUp, 0)
	l.at(1600*time.Millisecond).stage(bluegreen.StageTestTrafficShift, 0).
		traffic(bluegreen.StageTestTrafficShift, 0, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, false)
	l.at(1700*time.Millisecond).stage(bluegreen.StagePostTestTrafficShift, 0).hook(bluegreen.StagePostTestTrafficShift, "smoke", hook, "")
	return l.at(3 * time.Second)
}

// step logs production step n of a linear shift of 25% every 2s (from 3s).
func (l *eventLog) step(n int) *eventLog {
	at := 3*time.Second + time.Duration(n-1)*2*time.Second
	l.at(at).stage(bluegreen.StagePreProductionTrafficShift, n)
	return l.at(at+100*time.Millisecond).stage(bluegreen.StageProductionTrafficShift, n).
		traffic(bluegreen.StageProductionTrafficShift, n, bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, bluegreen.Weight(250*n)), Test: bluegreen.SlotB}, false)
}

// rollback logs a rollback to blue in slot A.
func (l *eventLog) rollback(s bluegreen.Stage, step int, info bluegreen.RollbackInfo, took time.Duration) *eventLog {
	l.add(bluegreen.Event{Kind: bluegreen.EventRollbackStarted, Stage: s, Step: step, Rollback: &info, Reason: info.Reason})
	l.traffic(s, step, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}, true)
	l.at(l.now + took).add(bluegreen.Event{Kind: bluegreen.EventRollbackFinished, Stage: s, Step: step, Rollback: &info})
	return l.done(bluegreen.OutcomeRolledBack)
}

func fmtSscanf(d string, x, y *float64) (int, error) { return fmt.Sscanf(d, "M%g %g", x, y) }
