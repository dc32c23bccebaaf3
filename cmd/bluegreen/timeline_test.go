package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/timeline"
	"github.com/google/go-cmp/cmp"
)

// svgElement is an element of a parsed SVG picture, with its class and
// the text inside it.
type svgElement struct {
	name, class string
	attr        map[string]string
	text        string
}

// parseTimelineSVG parses an SVG strictly and returns its elements in
// document order; each element's text includes its descendants'.
func parseTimelineSVG(t *testing.T, doc []byte) []*svgElement {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var out, open []*svgElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the timeline is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &svgElement{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			e.class = e.attr["class"]
			out = append(out, e)
			open = append(open, e)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			for _, e := range open {
				e.text += string(tok)
			}
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatal("the timeline is not an SVG document")
	}
	return out
}

func withClass(els []*svgElement, class string) []*svgElement {
	var out []*svgElement
	for _, e := range els {
		if slices.Contains(strings.Fields(e.class), class) {
			out = append(out, e)
		}
	}
	return out
}

// savedRollback is the saved log of a deployment rolled back by the
// error-rate monitor at its first production step, with the daemon's
// counters.
func savedRollback(t *testing.T) ([]bluegreen.Event, []timeline.Sample) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []bluegreen.Event
	add := func(ms int, ev bluegreen.Event) {
		ev.Seq, ev.Time, ev.DeploymentID = len(evs)+1, t0.Add(time.Duration(ms)*time.Millisecond), "0123abcd"
		evs = append(evs, ev)
	}
	test := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}
	half := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 500), Test: bluegreen.SlotB}
	back := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}
	info := &bluegreen.RollbackInfo{Trigger: bluegreen.TriggerMonitor, By: "green-5xx-rate", Reason: "green answered 50% with 5xx",
		Stage: bluegreen.StageProductionTrafficShift, Step: 1}
	for i, s := range bluegreen.Stages()[:6] {
		add(100*i, bluegreen.Event{Kind: bluegreen.EventStageStarted, Stage: s})
	}
	add(400, bluegreen.Event{Kind: bluegreen.EventTrafficShifted, Stage: bluegreen.StageTestTrafficShift, Routes: &test})
	add(600, bluegreen.Event{Kind: bluegreen.EventStageStarted, Stage: bluegreen.StagePreProductionTrafficShift, Step: 1})
	add(700, bluegreen.Event{Kind: bluegreen.EventStageStarted, Stage: bluegreen.StageProductionTrafficShift, Step: 1})
	add(700, bluegreen.Event{Kind: bluegreen.EventTrafficShifted, Stage: bluegreen.StageProductionTrafficShift, Step: 1, Routes: &half})
	add(1900, bluegreen.Event{Kind: bluegreen.EventMonitorFired, Stage: bluegreen.StageProductionTrafficShift, Step: 1, Monitor: "green-5xx-rate"})
	add(1900, bluegreen.Event{Kind: bluegreen.EventRollbackStarted, Stage: bluegreen.StageProductionTrafficShift, Step: 1, Rollback: info})
	add(1900, bluegreen.Event{Kind: bluegreen.EventTrafficShifted, Stage: bluegreen.StageProductionTrafficShift, Step: 1, Routes: &back, DuringRollback: true})
	add(2100, bluegreen.Event{Kind: bluegreen.EventRollbackFinished, Stage: bluegreen.StageProductionTrafficShift, Step: 1, Rollback: info})
	add(2100, bluegreen.Event{Kind: bluegreen.EventDone, Outcome: bluegreen.OutcomeRolledBack})
	var samples []timeline.Sample
	for i := range 9 {
		at := t0.Add(time.Duration(i) * 250 * time.Millisecond)
		samples = append(samples, timeline.Sample{Time: at, Slot: bluegreen.SlotA, Requests: uint64(10 * i)},
			timeline.Sample{Time: at, Slot: bluegreen.SlotB, Requests: uint64(5 * i), Errors: uint64(2 * i)})
	}
	return evs, samples
}

func writeLines[T any](t *testing.T, path string, vs []T) {
	t.Helper()
	var b []byte
	for _, v := range vs {
		var err error
		if b, err = timeline.AppendJSONLine(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTimelineCommand draws saved logs: the service's latest, a named one,
// and a file given with -events, and parses the pictures.
func TestTimelineCommand(t *testing.T) {
	state := t.TempDir()
	evs, samples := savedRollback(t)
	dir := filepath.Join(state, eventsDir, "web")
	writeLines(t, filepath.Join(dir, "0123abcd.jsonl"), evs)
	writeLines(t, filepath.Join(dir, "0123abcd.samples.jsonl"), samples)
	// An older deployment, and a torn line at the end of the latest.
	writeLines(t, filepath.Join(dir, "00older.jsonl"), evs[:3])
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "00older.jsonl"), old, old); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "0123abcd.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":99,"kind":"STA`)
	f.Close()

	out := filepath.Join(t.TempDir(), "d.svg")
	for _, tc := range []struct {
		name   string
		args   []string
		stages int
		rates  bool
	}{
		{"latest", []string{"-service", "web", "-state", state, "-o", out}, 8, true},
		{"named", []string{"-service", "web", "-state", state, "-deployment", "00older", "-o", out}, 3, false},
		{"file", []string{"-events", filepath.Join(dir, "0123abcd.jsonl"), "-o", out}, 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"timeline"}, tc.args...), &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			doc, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			els := parseTimelineSVG(t, doc)
			if n := len(withClass(els, "lane")); n != 1 {
				t.Errorf("%d lanes, want 1", n)
			}
			var stages []string
			for _, s := range withClass(els, "stage") {
				stages = append(stages, s.attr["data-stage"]+" "+s.attr["data-step"])
			}
			if len(stages) != tc.stages {
				t.Errorf("stage bars %q, want %d", stages, tc.stages)
			}
			rbs := withClass(els, "rollback")
			if tc.stages == 8 {
				if len(rbs) != 1 || !strings.Contains(rbs[0].text, "MONITOR green-5xx-rate") {
					t.Errorf("rollbacks %d, want one by the monitor", len(rbs))
				}
				if diff := cmp.Diff([]string{"A", "B"}, slotsOf(withClass(els, "requests"))); tc.rates && diff != "" {
					t.Errorf("request rates per slot (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(stderr.String(), "TIMELINE "+out) {
				t.Errorf("stderr %q: want the TIMELINE line", stderr.String())
			}
		})
	}
	// To stdout.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"timeline", "-events", filepath.Join(dir, "0123abcd.jsonl")}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	parseTimelineSVG(t, stdout.Bytes())
}

func slotsOf(els []*svgElement) []string {
	var out []string
	for _, e := range els {
		out = append(out, e.attr["data-slot"])
	}
	return out
}

func TestTimelineBadUsage(t *testing.T) {
	state := t.TempDir()
	evs, _ := savedRollback(t)
	writeLines(t, filepath.Join(state, eventsDir, "web", "0123abcd.jsonl"), evs)
	bad := filepath.Join(state, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"seq\":1}\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "-events or -service and -state are required"},
		{[]string{"-events", "x.jsonl", "-service", "web"}, exitUsage, "-events is given with -service"},
		{[]string{"-service", "web", "-state", state, "-deployment", "nope"}, exitUsage, "-deployment nope has no saved event log"},
		{[]string{"-service", "api", "-state", state}, exitUsage, "-service api has no saved event log"},
		{[]string{"-service", "web", "-state", state, "-deployment", "../x"}, exitUsage, "is not a deployment ID"},
		{[]string{"-service", "web", "-state", state, "-width", "10"}, exitUsage, "-width 10 is out of range"},
		{[]string{"-events", filepath.Join(state, "missing.jsonl")}, exitUsage, "-events cannot be read"},
		{[]string{"-events", bad}, exitFailed, "line 2"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"timeline"}, tc.args...), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("timeline %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestEventLogFiles saves events of two deployments as they happen, and
// reads them back.
func TestEventLogFiles(t *testing.T) {
	state := t.TempDir()
	var warnings []string
	l := newEventLog(state, "web", func(f string, args ...any) { warnings = append(warnings, f) })
	evs, _ := savedRollback(t)
	l.sample(timeline.Sample{Slot: bluegreen.SlotA}) // before any event: no file to put it in
	for i, ev := range evs {
		l.event(ev)
		if i == 2 { // saved as it happens, before the log is closed
			got, err := timeline.ReadJSONLines(mustOpen(t, filepath.Join(state, eventsDir, "web", "0123abcd.jsonl")))
			if err != nil || len(got) != 3 {
				t.Fatalf("after 3 events the file holds %d (%v)", len(got), err)
			}
		}
	}
	l.sample(timeline.Sample{Time: evs[0].Time, Slot: bluegreen.SlotB, Requests: 7})
	l.event(bluegreen.Event{Seq: 1, DeploymentID: "../other", Kind: bluegreen.EventDone})
	l.close()
	got, err := timeline.ReadJSONLines(mustOpen(t, filepath.Join(state, eventsDir, "web", "0123abcd.jsonl")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(evs, got); diff != "" {
		t.Errorf("saved events (-want +got):\n%s", diff)
	}
	ss, err := timeline.ReadSamples(mustOpen(t, filepath.Join(state, eventsDir, "web", "0123abcd.samples.jsonl")))
	if err != nil || len(ss) != 1 || ss[0].Requests != 7 {
		t.Errorf("samples %+v (%v), want the one taken during the deployment", ss, err)
	}
	if _, err := os.Stat(filepath.Join(state, eventsDir, "web", ".._other.jsonl")); err != nil {
		t.Errorf("a deployment ID with a slash: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %q", warnings)
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
