package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the main job, faster: three deployments of real processes
// behind the proxy under load. It shows that no request fails across a full
// deployment, and that the error-rate monitor rolls the bad release back.
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
		t.Logf("%s: %s: %+v", tc.d.Revision, tc.d.Timeline, c)
		if c.lanes != 1 || c.bars < len(tc.d.Stages) || c.rollbacks != tc.rollbacks || c.hookMarkers != tc.hooks ||
			c.lastShare != tc.lastShare || c.rateCurves < tc.rates {
			t.Errorf("%s: timeline %+v: want 1 lane, %d bars or more, last share %s%%, %d rollbacks, %d hook markers, %d rate curves or more",
				tc.d.Revision, c, len(tc.d.Stages), tc.lastShare, tc.rollbacks, tc.hooks, tc.rates)
		}
	}
}

// timelineCounts are what a timeline SVG shows.
type timelineCounts struct {
	lanes, bars, weightSteps, markers, hookMarkers, monitorMarkers, rollbacks, rateCurves int
	lastShare                                                                             string
	rollbackText                                                                          string
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
	var c timelineCounts
	inRollback := 0
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
			switch {
			case has("lane"):
				c.lanes++
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
			case has("rollback"):
				c.rollbacks++
				inRollback = depth
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
		case xml.EndElement:
			if depth == inRollback {
				inRollback = 0
			}
			depth--
		case xml.CharData:
			if inRollback > 0 && c.rollbackText == "" {
				c.rollbackText = strings.TrimSpace(string(tok))
			}
		}
	}
	return c
}
