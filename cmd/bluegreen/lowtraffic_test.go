//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// TestLowTrafficBadGreen is the trial of the issue "evidence before every
// step": at about 30 requests per second, a green answering half its
// requests with 500 gets too few requests in a one-second 50% step for the
// error-rate monitor to judge (it needs 40). The step does not count as
// passed while the monitor is inconclusive, so the deployment waits at 50%
// for the evidence and rolls back there: green never gets all production
// traffic.
func TestLowTrafficBadGreen(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 5*time.Second)
	w.mustRun(exitOK, w.deployArgs("v1")...)
	ld := newLoad(w.prodURL)
	ld.start(30, 2)
	t.Cleanup(ld.stop)
	s0 := ld.snapshot()

	bad := w.mustRun(exitRolledBack, w.deployArgs("v2", "-env", "FAIL_RATE=0.5", "-shift", "linear:50:1s", "-bake", "1s", "-error-rate", "0.05")...)
	res := bad.result(t)
	if r := res.Rollback; r == nil || r.Trigger != bluegreen.TriggerMonitor || r.Stage != bluegreen.StageProductionTrafficShift.String() || r.Step != 1 {
		t.Fatalf("result %+v (rollback %+v), want a rollback by the monitor at the first production step", res, res.Rollback)
	}
	if got := bad.stderr(); strings.Contains(got, "PRODUCTION_TRAFFIC_SHIFT step 2") {
		t.Errorf("the deployment reached step 2 (100%%):\n%s", got)
	}
	ld.stop()
	s := ld.snapshot()
	t.Logf("low-traffic trial: %d requests during the deployment, %d answered 500 by green (%d failed otherwise), rolled back at %s step %d: %s",
		s.total-s0.total, s.appErrors-s0.appErrors, s.failed-s0.failed, res.Rollback.Stage, res.Rollback.Step, res.Rollback.Reason)
	if s.failed != s0.failed {
		t.Errorf("%d requests failed other than by green's own 500s", s.failed-s0.failed)
	}
	w.mustBeSettled("v1")

	// The deploy saved its events as they happened, and the daemon's
	// counters: bluegreen timeline draws the rollback, with request rates.
	out := filepath.Join(t.TempDir(), "bad.svg")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"timeline", "-service", w.service, "-state", w.state, "-o", out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("timeline exited %d: %s", code, stderr.String())
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	els := parseTimelineSVG(t, doc)
	var stages []string
	for _, s := range withClass(els, "stage") {
		stages = append(stages, s.attr["data-stage"]+" "+s.attr["data-step"])
	}
	rbs := withClass(els, "rollback")
	switch {
	case len(withClass(els, "lane")) != 1:
		t.Errorf("%d lanes, want 1", len(withClass(els, "lane")))
	case !slices.Contains(stages, "PRODUCTION_TRAFFIC_SHIFT 1") || slices.Contains(stages, "PRODUCTION_TRAFFIC_SHIFT 2"):
		t.Errorf("stage bars %q: want the first production step and not the second", stages)
	case len(rbs) != 1 || !strings.Contains(rbs[0].text, "MONITOR"):
		t.Errorf("%d rollbacks drawn, want one by the monitor", len(rbs))
	case len(withClass(els, "requests")) == 0 || len(withClass(els, "monitor-fired")) == 0:
		t.Errorf("%d request-rate curves, %d monitor markers: want both", len(withClass(els, "requests")), len(withClass(els, "monitor-fired")))
	}
}
