package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDemo runs the main job, faster: three deployments of real processes
// behind the proxy under load, then a release group of two services
// deployed twice. It shows that no request fails across a full deployment,
// that the error-rate monitor rolls the bad release back, and that a bad
// member of a group rolls back the whole group.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and builds the sample app")
	}
	var out bytes.Buffer
	sum, err := run(t.Context(), &out, false, options{rate: 100, step: 500 * time.Millisecond, bake: 500 * time.Millisecond, svgDir: t.TempDir()})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(sum.Deployments) != 3 {
		t.Fatalf("%d deployments:\n%s", len(sum.Deployments), out.String())
	}
	v1, v2, v3 := sum.Deployments[0], sum.Deployments[1], sum.Deployments[2]
	if v1.Outcome != "SUCCEEDED" || v2.Outcome != "SUCCEEDED" || v3.Outcome != "ROLLED_BACK" {
		t.Errorf("outcomes %s %s %s, want SUCCEEDED SUCCEEDED ROLLED_BACK", v1.Outcome, v2.Outcome, v3.Outcome)
	}
	if sum.Failed != 0 {
		t.Errorf("%d requests failed across the deployments", sum.Failed)
	}
	if v2.ServedBlue == 0 || v2.ServedGreen == 0 || v2.AppErrors != 0 {
		t.Errorf("v2 served %d by blue, %d by green, %d app errors: want both, and no errors", v2.ServedBlue, v2.ServedGreen, v2.AppErrors)
	}
	if !strings.Contains(v3.Rollback, "5xx") || v3.RollbackMillis <= 0 || v3.AppErrors == 0 {
		t.Errorf("v3 rollback %q after %vms with %d app errors: want the error-rate monitor", v3.Rollback, v3.RollbackMillis, v3.AppErrors)
	}
	if v3.Stages[len(v3.Stages)-1] != "PRODUCTION_TRAFFIC_SHIFT" {
		t.Errorf("v3 stages %v: want the rollback during the production shift", v3.Stages)
	}
	// Each deployment's timeline: one lane, its stages as bars, green's
	// share reaching 100% (or back to 0% for v3), the hook and the rollback.
	for _, tc := range []struct {
		d                       deploymentSummary
		lastShare               string
		rollbacks, hooks, rates int
	}{
		{v1, "100", 0, 0, 0}, {v2, "100", 0, 2, 2}, {v3, "0", 1, 0, 2},
	} {
		c := countTimeline(t, tc.d.Timeline)
		c.byLane = nil
		t.Logf("%s: %s: %+v", tc.d.Revision, tc.d.Timeline, c)
		if c.lanes != 1 || c.bars < len(tc.d.Stages) || c.rollbacks != tc.rollbacks || c.hookMarkers != tc.hooks ||
			c.lastShare != tc.lastShare || c.rateCurves < tc.rates {
			t.Errorf("%s: timeline %+v: want 1 lane, %d bars or more, last share %s%%, %d rollbacks, %d hook markers, %d rate curves or more",
				tc.d.Revision, c, len(tc.d.Stages), tc.lastShare, tc.rollbacks, tc.hooks, tc.rates)
		}
	}
	checkGroup(t, sum)
}

// checkGroup checks the release group's two deployments: v1 of api and
// worker deployed together, then v2, whose bad worker rolls both back.
func checkGroup(t *testing.T, sum summary) {
	t.Helper()
	if len(sum.Groups) != 2 {
		t.Fatalf("%d group deployments, want 2", len(sum.Groups))
	}
	type member struct {
		Service, Outcome, Live string
		GreenServed, AppErrors bool
	}
	members := func(g groupSummary) []member {
		var ms []member
		for _, m := range g.Members {
			ms = append(ms, member{m.Service, m.Outcome, m.Live, m.ServedGreen > 0, m.AppErrors > 0})
		}
		return ms
	}
	g1, g2 := sum.Groups[0], sum.Groups[1]
	if g1.Outcome != "SUCCEEDED" {
		t.Errorf("group v1: outcome %s, want SUCCEEDED", g1.Outcome)
	}
	// No load before v1 is live, as for web's v1.
	want1 := []member{{"api", "SUCCEEDED", "v1", false, false}, {"worker", "SUCCEEDED", "v1", false, false}}
	if diff := cmp.Diff(want1, members(g1)); diff != "" {
		t.Errorf("group v1 members (-want +got):\n%s", diff)
	}
	// Both greens had production traffic; only the worker's answered 500.
	want2 := []member{{"api", "ROLLED_BACK", "v1", true, false}, {"worker", "ROLLED_BACK", "v1", true, true}}
	if diff := cmp.Diff(want2, members(g2)); diff != "" {
		t.Errorf("group v2 members (-want +got):\n%s", diff)
	}
	if g2.Outcome != "ROLLED_BACK" || g2.RollbackMember != "worker" || g2.RollbackBy != "green-5xx-rate" || !strings.Contains(g2.Rollback, "5xx") {
		t.Errorf("group v2: %s by member %q, cause %q (%s): want ROLLED_BACK by worker's green-5xx-rate monitor",
			g2.Outcome, g2.RollbackMember, g2.RollbackBy, g2.Rollback)
	}
	if g2.RollbackMillis <= 0 || g2.Stages[len(g2.Stages)-1] != "PRODUCTION_TRAFFIC_SHIFT" {
		t.Errorf("group v2: stages %v, rollback after %vms: want the rollback during the production shift", g2.Stages, g2.RollbackMillis)
	}
	for _, g := range sum.Groups {
		for _, m := range g.Members {
			if m.Failed != 0 {
				t.Errorf("group %s: %s: %d requests failed through the proxy (besides %d 500s of the app)", g.Revision, m.Service, m.Failed, m.AppErrors)
			}
		}
	}
	// The group's timeline: a lane per member and the group's own, a
	// rollback drawn in each; the worker's monitor fired in its lane.
	for _, tc := range []struct {
		g         groupSummary
		rollbacks int
	}{{g1, 0}, {g2, 1}} {
		c := countTimeline(t, tc.g.Timeline)
		t.Logf("group %s: %s: %d lanes", tc.g.Revision, tc.g.Timeline, c.lanes)
		for name, l := range c.byLane {
			t.Logf("  lane %q: %d bars, %d markers, %d monitors fired, %d rollbacks %q, %d rate curves", name, l.bars, l.markers, l.monitorFired, l.rollbacks, l.rollbackText, l.rateCurves)
		}
		if c.lanes != 3 {
			t.Errorf("group %s: %d lanes, want api, worker and the group's", tc.g.Revision, c.lanes)
		}
		for _, name := range []string{"api", "worker"} {
			l := c.byLane[name]
			if l == nil {
				t.Errorf("group %s: no lane for %s: lanes %v", tc.g.Revision, name, slices.Sorted(maps.Keys(c.byLane)))
				continue
			}
			if l.bars == 0 || l.rollbacks != tc.rollbacks || l.rateCurves < 2 && tc.rollbacks > 0 {
				t.Errorf("group %s: %s's lane %+v: want stage bars, %d rollbacks, request and error rates", tc.g.Revision, name, *l, tc.rollbacks)
			}
		}
		if tc.rollbacks == 0 {
			continue
		}
		if w := c.byLane["worker"]; w != nil && (w.monitorFired != 1 || !strings.Contains(w.rollbackText, "green-5xx-rate")) {
			t.Errorf("group v2: worker's lane shows %d monitors fired, rollback %q: want its monitor", w.monitorFired, w.rollbackText)
		}
		if a := c.byLane["api"]; a != nil && (a.monitorFired != 0 || !strings.Contains(a.rollbackText, "member worker")) {
			t.Errorf("group v2: api's lane shows %d monitors fired, rollback %q: want the group's rollback, caused by worker", a.monitorFired, a.rollbackText)
		}
	}
}

// timelineCounts are what a timeline SVG shows.
type timelineCounts struct {
	lanes, bars, weightSteps, markers, hookMarkers, monitorMarkers, monitorFired, rollbacks, rateCurves int
	lastShare                                                                                           string
	rollbackText                                                                                        string
	// byLane counts each lane's marks, by its data-member ("" for a
	// group's own lane).
	byLane map[string]*timelineCounts
}

// countTimeline parses the SVG at path and counts its marks by class.
func countTimeline(t *testing.T, path string) timelineCounts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	c := timelineCounts{byLane: map[string]*timelineCounts{}}
	lane := &timelineCounts{} // the current lane's counts
	inRollback, inLane := 0, 0
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			classes := strings.Fields(attr["class"])
			has := func(s string) bool { return slices.Contains(classes, s) }
			if has("lane") {
				c.lanes++
				lane = &timelineCounts{lanes: 1}
				c.byLane[attr["data-member"]] = lane
				inLane = depth
				continue
			}
			if has("rollback") {
				inRollback = depth
			}
			for _, c := range []*timelineCounts{&c, lane} {
				c.count(has, attr)
			}
		case xml.EndElement:
			if depth == inRollback {
				inRollback = 0
			}
			if depth == inLane {
				inLane, lane = 0, &timelineCounts{}
			}
			depth--
		case xml.CharData:
			for _, c := range []*timelineCounts{&c, lane} {
				if inRollback > 0 && c.rollbackText == "" {
					c.rollbackText = strings.TrimSpace(string(tok))
				}
			}
		}
	}
	return c
}

// count counts a mark of the classes has says, its attributes attr.
func (c *timelineCounts) count(has func(string) bool, attr map[string]string) {
	switch {
	case has("stage"):
		c.bars++
	case has("marker"):
		c.markers++
		if has("hook-called") || has("hook-answered") {
			c.hookMarkers++
		}
		if has("monitor-fired") || has("monitor-inconclusive") {
			c.monitorMarkers++
		}
		if has("monitor-fired") {
			c.monitorFired++
		}
	case has("rollback"):
		c.rollbacks++
	case has("requests") || has("errors"):
		c.rateCurves++
	case has("production-weight"):
		pts := strings.Fields(attr["points"])
		c.weightSteps = len(pts) / 2
		y0, _ := strconv.ParseFloat(attr["data-y0"], 64)
		y100, _ := strconv.ParseFloat(attr["data-y100"], 64)
		_, ys, _ := strings.Cut(pts[len(pts)-1], ",")
		y, _ := strconv.ParseFloat(ys, 64)
		c.lastShare = strconv.FormatFloat(math.Round((y0-y)/(y0-y100)*100), 'f', -1, 64)
	}
}
