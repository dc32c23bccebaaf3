package timeline_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/timeline"
	"github.com/google/go-cmp/cmp"
)

func successLinear() []bluegreen.Event {
	l := newLog("d-success").throughTestShift(bluegreen.HookSucceeded)
	for n := 1; n <= 4; n++ {
		l.step(n)
	}
	l.at(11*time.Second).stage(bluegreen.StagePostProductionTrafficShift, 0)
	l.at(11100*time.Millisecond).stage(bluegreen.StageBakeTime, 0)
	l.at(14100*time.Millisecond).stage(bluegreen.StageCleanUp, 0)
	l.at(15*time.Second).finish(bluegreen.StageCleanUp, 0).done(bluegreen.OutcomeSucceeded)
	return *l.events
}

func rollbackByMonitor() []bluegreen.Event {
	l := newLog("d-rollback").throughTestShift(bluegreen.HookSucceeded)
	l.step(1)
	l.at(4 * time.Second).add(bluegreen.Event{Kind: bluegreen.EventMonitorInconclusive, Stage: bluegreen.StageProductionTrafficShift, Step: 1,
		Monitor: "green-5xx-rate", Reason: "12 requests to green, want at least 40"})
	l.step(2)
	l.at(5600 * time.Millisecond).add(bluegreen.Event{Kind: bluegreen.EventMonitorFired, Stage: bluegreen.StageProductionTrafficShift, Step: 2,
		Monitor: "green-5xx-rate", Alarms: []bluegreen.Alarm{{Name: "green-5xx-rate", Reason: "30% of 200 requests failed"}}})
	l.rollback(bluegreen.StageProductionTrafficShift, 2, bluegreen.RollbackInfo{Trigger: bluegreen.TriggerMonitor, By: "green-5xx-rate",
		Reason: "green answered 60 of 200 requests with 5xx (30% > 5%)", Stage: bluegreen.StageProductionTrafficShift, Step: 2}, 200*time.Millisecond)
	return *l.events
}

// groupRollback is a release group of api and worker: worker's smoke hook
// fails at POST_TEST_TRAFFIC_SHIFT, and the group rolls both back.
func groupRollback() []bluegreen.Event {
	l := newLog("g-1")
	api, worker := l.as("api"), l.as("worker")
	api.at(0).stage(bluegreen.StageReconcileService, 0).
		add(bluegreen.Event{Kind: bluegreen.EventAdopted, Stage: bluegreen.StageReconcileService, Reason: "adopted v0 in slot A, serving A=100% B=0%, as blue"})
	worker.at(0).stage(bluegreen.StageReconcileService, 0)
	api.at(100*time.Millisecond).stage(bluegreen.StagePreScaleUp, 0).
		add(bluegreen.Event{Kind: bluegreen.EventPaused, Stage: bluegreen.StagePreScaleUp, Hook: "approval"})
	worker.at(100*time.Millisecond).stage(bluegreen.StagePreScaleUp, 0)
	api.at(900 * time.Millisecond).add(bluegreen.Event{Kind: bluegreen.EventContinued, Stage: bluegreen.StagePreScaleUp, Hook: "approval", Reason: "Continue called"})
	for _, m := range []*eventLog{api, worker} {
		m.at(time.Second).stage(bluegreen.StageScaleUp, 0).
			at(2*time.Second).stage(bluegreen.StagePostScaleUp, 0).
			at(2100*time.Millisecond).stage(bluegreen.StageTestTrafficShift, 0).
			traffic(bluegreen.StageTestTrafficShift, 0, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, false).
			at(2200*time.Millisecond).stage(bluegreen.StagePostTestTrafficShift, 0)
	}
	worker.at(2300*time.Millisecond).hook(bluegreen.StagePostTestTrafficShift, "smoke", bluegreen.HookFailed, `GET /jobs answered 500 & "<boom>"`)
	info := bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "smoke", Reason: `worker: hook smoke answered FAILED: GET /jobs answered 500 & "<boom>"`,
		Stage: bluegreen.StagePostTestTrafficShift}
	worker.rollback(bluegreen.StagePostTestTrafficShift, 0, info, 300*time.Millisecond)
	api.at(2300*time.Millisecond).rollback(bluegreen.StagePostTestTrafficShift, 0, info, 400*time.Millisecond)
	return *l.events
}

func TestSuccessWithLinearShift(t *testing.T) {
	root, _ := render(t, successLinear(), timeline.Options{Service: "web"})
	ls := lanes(root)
	if len(ls) != 1 || ls[""] == nil {
		t.Fatalf("lanes %v, want one for the service", keys(ls))
	}
	lane := ls[""]
	if !strings.Contains(lane.allText(), "web") || !strings.Contains(lane.allText(), "SUCCEEDED") {
		t.Errorf("lane text %q: want the service's name and its outcome", lane.allText())
	}
	want := []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
		"PRE_PRODUCTION_TRAFFIC_SHIFT 1", "PRODUCTION_TRAFFIC_SHIFT 1", "PRE_PRODUCTION_TRAFFIC_SHIFT 2", "PRODUCTION_TRAFFIC_SHIFT 2",
		"PRE_PRODUCTION_TRAFFIC_SHIFT 3", "PRODUCTION_TRAFFIC_SHIFT 3", "PRE_PRODUCTION_TRAFFIC_SHIFT 4", "PRODUCTION_TRAFFIC_SHIFT 4",
		"POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"}
	if diff := cmp.Diff(want, stageNames(t, lane)); diff != "" {
		t.Errorf("stage bars (-want +got):\n%s", diff)
	}
	prod := lane.all("production-weight")
	if len(prod) != 1 {
		t.Fatalf("%d production weight curves, want 1", len(prod))
	}
	if diff := cmp.Diff([]float64{0, 25, 50, 75, 100}, prod[0].levels(t)); diff != "" {
		t.Errorf("green's production share (-want +got):\n%s", diff)
	}
	// Each step rises where its PRODUCTION_TRAFFIC_SHIFT bar starts.
	bars := lane.all("stage")
	pts := prod[0].points(t)
	for n := 1; n <= 4; n++ {
		bar := bars[5+2*n].children[1] // <title>, <rect>
		x := bar.float(t, "x")
		if !hasPoint(pts, x) {
			t.Errorf("step %d: the weight curve has no point at x=%v (where its bar starts): %v", n, x, pts)
		}
	}
	test := lane.all("test-route")
	if len(test) != 1 || !cmp.Equal(test[0].levels(t), []float64{100}) {
		t.Errorf("test route curves %d, want one on green throughout", len(test))
	}
	checkMarkers(t, lane, map[string]int{"hook-called": 1, "hook-answered": 1, "done": 1})
	if a := lane.all("hook-answered")[0]; a.attr["data-status"] != "SUCCEEDED" || !strings.Contains(a.title(), "smoke") {
		t.Errorf("hook answer %q %q: want smoke's SUCCEEDED", a.attr["data-status"], a.title())
	}
	if n := len(lane.all("rollback")); n != 0 {
		t.Errorf("%d rollbacks drawn for a success", n)
	}
	// The axis ticks every 2s over 15s, from 0s.
	var ticks []string
	for _, tk := range root.all("tick") {
		ticks = append(ticks, strings.TrimSpace(tk.allText()))
	}
	if diff := cmp.Diff([]string{"0s", "2s", "4s", "6s", "8s", "10s", "12s", "14s"}, ticks); diff != "" {
		t.Errorf("axis ticks (-want +got):\n%s", diff)
	}
	if len(root.all("legend-item")) < 15 {
		t.Errorf("legend has %d items", len(root.all("legend-item")))
	}
}

func TestRollbackByMonitor(t *testing.T) {
	evs := rollbackByMonitor()
	// Router counters every second: blue (A) 100 req/s, green (B) 50 req/s
	// with 15 errors/s from 4s on.
	var samples []timeline.Sample
	var a, b, be uint64
	start := evs[0].Time
	for s := 0; s <= 6; s++ {
		samples = append(samples, timeline.Sample{Time: start.Add(time.Duration(s) * time.Second), Slot: bluegreen.SlotA, Requests: a},
			timeline.Sample{Time: start.Add(time.Duration(s) * time.Second), Slot: bluegreen.SlotB, Requests: b, Errors: be})
		a += 100
		if s >= 3 {
			b += 50
			be += 15
		}
	}
	root, _ := render(t, evs, timeline.Options{Samples: samples})
	lane := lanes(root)[""]
	if lane == nil {
		t.Fatal("no lane")
	}
	want := []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
		"PRE_PRODUCTION_TRAFFIC_SHIFT 1", "PRODUCTION_TRAFFIC_SHIFT 1", "PRE_PRODUCTION_TRAFFIC_SHIFT 2", "PRODUCTION_TRAFFIC_SHIFT 2"}
	if diff := cmp.Diff(want, stageNames(t, lane)); diff != "" {
		t.Errorf("stage bars (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{0, 25, 50, 0}, lane.all("production-weight")[0].levels(t)); diff != "" {
		t.Errorf("green's production share (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{100, 0}, lane.all("test-route")[0].levels(t)); diff != "" {
		t.Errorf("test route (-want +got):\n%s", diff)
	}
	checkMarkers(t, lane, map[string]int{"hook-called": 1, "hook-answered": 1, "monitor-inconclusive": 1, "monitor-fired": 1,
		"rollback-started": 1, "done": 1})
	rbs := lane.all("rollback")
	if len(rbs) != 1 {
		t.Fatalf("%d rollbacks drawn, want 1", len(rbs))
	}
	text := rbs[0].allText()
	for _, w := range []string{"MONITOR", "green-5xx-rate", "30% > 5%", "PRODUCTION_TRAFFIC_SHIFT step 2"} {
		if !strings.Contains(text, w) {
			t.Errorf("rollback text %q: want %q", text, w)
		}
	}
	// The span runs from the rollback's start (5.6s) to its end (5.8s).
	span := rbs[0].all("rollback-span")[0]
	fired := lane.all("monitor-fired")[0]
	if fx := firstX(t, fired); math.Abs(span.float(t, "x")-fx) > 1 {
		t.Errorf("rollback span starts at x=%v, the monitor fired at x=%v", span.float(t, "x"), fx)
	}
	if !strings.Contains(fired.title(), "30% of 200 requests failed") {
		t.Errorf("monitor marker title %q: want the alarm's reason", fired.title())
	}
	if d := lane.all("done")[0]; d.attr["data-status"] != "ROLLED_BACK" {
		t.Errorf("done marker %q, want ROLLED_BACK", d.attr["data-status"])
	}
	// Requests and errors per second, per environment.
	rates := map[string][]float64{}
	for _, class := range []string{"requests", "errors"} {
		for _, p := range lane.all(class) {
			y0, ymax, max := p.float(t, "data-y0"), p.float(t, "data-ymax"), p.float(t, "data-max")
			var rs []float64
			for _, pt := range p.points(t) {
				rs = append(rs, math.Round((y0-pt[1])/(y0-ymax)*max))
			}
			rates[class+" "+p.attr["data-role"]+" "+p.attr["data-slot"]] = rs
		}
	}
	wantRates := map[string][]float64{
		"requests blue A":  {100, 100, 100, 100, 100},
		"errors blue A":    {0, 0, 0, 0, 0},
		"requests green B": {0, 0, 0, 50, 50},
		"errors green B":   {0, 0, 0, 15, 15},
	}
	// Samples at 1s..5s fall within the log (0s to 5.8s); 6s does not.
	if diff := cmp.Diff(wantRates, rates); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
}

func TestGroupRollsBackBoth(t *testing.T) {
	root, doc := render(t, groupRollback(), timeline.Options{Title: "release group g-1"})
	var order []string
	for _, l := range root.all("lane") {
		order = append(order, l.attr["data-member"])
	}
	if diff := cmp.Diff([]string{"api", "worker"}, order); diff != "" {
		t.Fatalf("lanes (-want +got):\n%s", diff)
	}
	ls := lanes(root)
	want := []string{"RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT"}
	for _, m := range []string{"api", "worker"} {
		if diff := cmp.Diff(want, stageNames(t, ls[m])); diff != "" {
			t.Errorf("%s: stage bars (-want +got):\n%s", m, diff)
		}
		if diff := cmp.Diff([]float64{0}, ls[m].all("production-weight")[0].levels(t)); diff != "" {
			t.Errorf("%s: production share (-want +got):\n%s", m, diff)
		}
		if diff := cmp.Diff([]float64{100, 0}, ls[m].all("test-route")[0].levels(t)); diff != "" {
			t.Errorf("%s: test route (-want +got):\n%s", m, diff)
		}
		rbs := ls[m].all("rollback")
		if len(rbs) != 1 {
			t.Fatalf("%s: %d rollbacks, want 1", m, len(rbs))
		}
		if text := rbs[0].allText(); !strings.Contains(text, "HOOK smoke") || !strings.Contains(text, `500 & "<boom>"`) {
			t.Errorf("%s: rollback text %q: want the trigger and the reason, unescaped when parsed", m, text)
		}
	}
	checkMarkers(t, ls["api"], map[string]int{"adopted": 1, "paused": 1, "continued": 1, "rollback-started": 1, "done": 1})
	checkMarkers(t, ls["worker"], map[string]int{"hook-called": 1, "hook-answered": 1, "rollback-started": 1, "done": 1})
	if a := ls["worker"].all("hook-answered")[0]; a.attr["data-status"] != "FAILED" {
		t.Errorf("worker's hook answered %q, want FAILED", a.attr["data-status"])
	}
	if !strings.Contains(string(doc), "&lt;boom&gt;") {
		t.Error("the reason's < and > are not escaped in the document")
	}
	if title := root.all("title"); len(title) != 1 || title[0].allText() != "release group g-1" {
		t.Errorf("title %v", title)
	}
}

func TestWidthOption(t *testing.T) {
	for _, tc := range []struct {
		width int
		ok    bool
	}{{0, true}, {480, true}, {20000, true}, {479, false}, {-1, false}, {20001, false}} {
		err := timeline.Write(&strings.Builder{}, successLinear(), timeline.Options{Width: tc.width})
		if (err == nil) != tc.ok {
			t.Errorf("Width %d: error %v, want ok=%v", tc.width, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "Options.Width") {
			t.Errorf("Width %d: error %q does not name the field", tc.width, err)
		}
	}
	root, _ := render(t, successLinear(), timeline.Options{Width: 800})
	if root.attr["width"] != "800" {
		t.Errorf("width %q, want 800", root.attr["width"])
	}
}

func TestEmptyLog(t *testing.T) {
	root, _ := render(t, nil, timeline.Options{})
	if n := len(root.all("lane")); n != 0 {
		t.Errorf("%d lanes for no events", n)
	}
	if !strings.Contains(root.allText(), "no events") {
		t.Error("an empty picture does not say so")
	}
}

func checkMarkers(t *testing.T, lane *node, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, m := range lane.all("marker") {
		got[m.attr["data-kind"]]++
		if m.title() == "" {
			t.Errorf("marker %s has no title", m.attr["data-kind"])
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lane %q markers (-want +got):\n%s", lane.attr["data-member"], diff)
	}
}

// firstX returns the x of a marker's shape: its circle's cx, or the start
// of its path.
func firstX(t *testing.T, m *node) float64 {
	t.Helper()
	for _, ch := range m.children {
		switch ch.name {
		case "circle":
			return ch.float(t, "cx")
		case "path":
			var x, y float64
			if _, err := fmtSscanf(ch.attr["d"], &x, &y); err != nil {
				t.Fatalf("path %q: %v", ch.attr["d"], err)
			}
			return x
		}
	}
	t.Fatalf("marker %s has no shape", m.attr["data-kind"])
	return 0
}

func hasPoint(pts [][2]float64, x float64) bool {
	for _, p := range pts {
		if math.Abs(p[0]-x) < 0.2 {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
