//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// startLoad starts 100 requests per second through the world's proxy until
// the test ends.
func (w *world) startLoad() *load {
	ld := newLoad(w.prodURL)
	ld.start(100, 4)
	w.t.Cleanup(ld.stop)
	return ld
}

// checkNoFailures fails the test if any request of ld failed.
func checkNoFailures(t *testing.T, ld *load) loadStats {
	t.Helper()
	s := ld.snapshot()
	if s.failed > 0 {
		t.Errorf("%d of %d requests failed; first ones:\n%s", s.failed, s.total, strings.Join(ld.failureSamples(), "\n"))
	}
	return s
}

// TestDaemonKeepsServingWhenDeployIsKilled kills the deploy command with
// SIGKILL in the middle of a linear shift: the daemon keeps splitting
// traffic between v1 and v2 with nobody driving it, and the next deploy,
// once the dead command's lease has expired, rolls v2 back in
// RECONCILE_SERVICE and deploys v3. No request fails throughout, and only
// v3's instances are left running.
func TestDaemonKeepsServingWhenDeployIsKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2*time.Second)
	w.mustRun(exitOK, w.deployArgs("v1")...)
	ld := w.startLoad()

	c := w.start(w.deployArgs("v2", "-shift", "linear:20:2s")...)
	header := c.waitLine(t, "DEPLOY v2", 30*time.Second)
	c.waitLine(t, "TRAFFIC PRODUCTION_TRAFFIC_SHIFT step 1", 30*time.Second)
	c.kill()
	if code := c.wait(t, 10*time.Second); code != -1 {
		t.Fatalf("the killed command exited %d, want -1 (killed)", code)
	}

	// Nobody drives the deployment now: the daemon keeps the 80/20 split.
	s0 := ld.snapshot()
	s, ok := ld.waitRequests(s0, 150, 20*time.Second)
	if !ok {
		t.Fatalf("the load made %d requests in 20s after the kill, want 150", s.total-s0.total)
	}
	during := s.since(s0)
	if during.failed > 0 || during.byVersion["v1"] == 0 || during.byVersion["v2"] == 0 {
		t.Errorf("after the kill: %d failed, served %v; want no failure, and both v1 and v2 serving", during.failed, during.byVersion)
	}

	w.waitLeaseExpired()
	next := w.mustRun(exitOK, w.deployArgs("v3")...)
	id := regexp.MustCompile(`deployment (\w+),`).FindStringSubmatch(header)[1]
	next.waitLine(t, "ROLLBACK RECONCILE_SERVICE: RECONCILE "+id, time.Second)
	next.waitLine(t, "RECONCILED rolled back deployment "+id, time.Second)
	res := next.result(t)
	want := result{Command: "deploy", Service: "web", Outcome: bluegreen.OutcomeSucceeded,
		Green: &envSummary{Revision: "v3", Slot: bluegreen.SlotB}, Blue: &envSummary{Revision: "v1", Slot: bluegreen.SlotA},
		Live: &envSummary{Revision: "v3", Slot: bluegreen.SlotB}, Stage: "CLEAN_UP"}
	if diff := cmp.Diff(want, res, cmpResult); diff != "" {
		t.Errorf("result of the deploy after the kill (-want +got):\n%s", diff)
	}

	ld.stop()
	s = checkNoFailures(t, ld)
	t.Logf("load: %d requests, %d failed, by version %v", s.total, s.failed, s.byVersion)
	w.mustBeSettled("v3")
}

// cmpResult compares results without their ids and timings.
var cmpResult = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool {
		switch p.Last().String() {
		case ".DeploymentID", ".Seconds":
			return true
		}
		return false
	}, cmp.Ignore()),
}

// TestSecondDeployIsRefusedWhileOneIsInProgress runs a second deploy of the
// service while a first one waits between traffic steps: it exits 3 and
// names the first one's owner, and the first finishes normally. Then a
// revision that crashes at start is rolled back, with exit code 1.
func TestSecondDeployIsRefusedWhileOneIsInProgress(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 10*time.Second)
	w.mustRun(exitOK, w.deployArgs("v1")...)
	ld := w.startLoad()

	first := w.start(w.deployArgs("v2", "-shift", "linear:50:5s")...)
	header := first.waitLine(t, "DEPLOY v2", 30*time.Second)
	owner := regexp.MustCompile(`owner "([^"]+)"`).FindStringSubmatch(header)[1]
	first.waitLine(t, "TRAFFIC PRODUCTION_TRAFFIC_SHIFT step 1", 30*time.Second)

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), w.deployArgs("v3"), &stdout, &stderr)
	if code != exitInProgress || !strings.Contains(stderr.String(), "in progress") || !strings.Contains(stderr.String(), owner) {
		t.Errorf("second deploy exited %d with stderr %q; want %d, saying a deployment is in progress, held by %q",
			code, stderr.String(), exitInProgress, owner)
	}
	if stdout.Len() > 0 {
		t.Errorf("second deploy printed a result %q; want none: it never started", stdout.String())
	}

	// status shows the first deployment under way, and changes nothing.
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"status", "-service", "web", "-state", w.state, "-proxy-admin", w.admin}, &stdout, &stderr); code != exitOK {
		t.Fatalf("status exited %d: %s", code, stderr.String())
	}
	var st statusReport
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("status printed %q: %v", stdout.String(), err)
	}
	if st.Lease == nil || st.Lease.Owner != owner || !st.Lease.Held || st.Deployment == nil || st.Deployment.Phase != "RUNNING" ||
		st.Deployment.Green.Revision != "v2" || len(st.Instances[bluegreen.SlotA]) != 2 || len(st.Instances[bluegreen.SlotB]) != 2 ||
		st.Routes == nil || st.Routes.Production != bluegreen.Split(bluegreen.SlotB, 500) {
		t.Errorf("status during the deployment: %s", stdout.String())
	}

	if code := first.wait(t, 60*time.Second); code != exitOK {
		t.Fatalf("the first deploy exited %d after the second was refused:\n%s", code, first.stderr())
	}
	if res := first.result(t); res.Live == nil || res.Live.Revision != "v2" || res.Outcome != bluegreen.OutcomeSucceeded {
		t.Errorf("first deploy's result %+v, want v2 live", res)
	}
	w.mustBeSettled("v2")

	// A revision whose instances crash at start is rolled back: exit 1.
	bad := w.mustRun(exitRolledBack, w.deployArgs("v4", "-env", "CRASH_AFTER=0")...)
	if res := bad.result(t); res.Outcome != bluegreen.OutcomeRolledBack || res.Rollback == nil ||
		res.Rollback.Trigger != bluegreen.TriggerHealth || res.Live == nil || res.Live.Revision != "v2" {
		t.Errorf("bad revision's result %+v, want rolled back for health with v2 live", res)
	}
	w.mustBeSettled("v2")

	// A revision answering half its requests with 500 is rolled back by the
	// daemon's error-rate monitor once it gets production traffic.
	bad = w.mustRun(exitRolledBack, w.deployArgs("v5", "-env", "FAIL_RATE=0.5", "-error-rate", "0.05", "-error-window", "20",
		"-shift", "linear:50:3s")...)
	if res := bad.result(t); res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerMonitor || res.Rollback.By != "green-5xx-rate" {
		t.Errorf("failing revision's result %+v, want rolled back by the green-5xx-rate monitor", res)
	}
	ld.stop()
	checkNoFailures(t, ld)
	w.mustBeSettled("v2")
}

// TestInterrupt stops deploy commands with signals: SIGINT rolls the
// deployment back (exit 1); with -on-cancel detach, SIGTERM leaves it as it
// is (exit 4) for reconcile to settle.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2*time.Second)
	w.mustRun(exitOK, w.deployArgs("v1")...)
	ld := w.startLoad()

	c := w.start(w.deployArgs("v2", "-shift", "linear:50:5s")...)
	c.waitLine(t, "TRAFFIC PRODUCTION_TRAFFIC_SHIFT step 1", 30*time.Second)
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t, 30*time.Second); code != exitRolledBack {
		t.Fatalf("deploy interrupted with SIGINT exited %d, want %d:\n%s", code, exitRolledBack, c.stderr())
	}
	if res := c.result(t); res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerCanceled {
		t.Errorf("result %+v, want a rollback triggered by the cancellation", res)
	}
	w.mustBeSettled("v1")

	c = w.start(w.deployArgs("v3", "-shift", "linear:50:5s", "-on-cancel", "detach")...)
	c.waitLine(t, "TRAFFIC PRODUCTION_TRAFFIC_SHIFT step 1", 30*time.Second)
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(t, 30*time.Second); code != exitFailed {
		t.Fatalf("detached deploy exited %d, want %d:\n%s", code, exitFailed, c.stderr())
	}
	c.waitLine(t, "or bluegreen reconcile, settles it", time.Second)
	if routes, err := w.client.Routes(t.Context(), w.service); err != nil || routes.Production != bluegreen.Split(bluegreen.SlotB, 500) {
		t.Errorf("routes after the detach: %v, %v; want the 50/50 split left in place", routes, err)
	}
	w.waitLeaseExpired()
	r := w.mustRun(exitOK, append(w.reconcileArgs(), "-reconcile", "rollback")...)
	if res := r.result(t); res.Outcome != bluegreen.OutcomeRolledBack || res.Live == nil || res.Live.Revision != "v1" {
		t.Errorf("reconcile's result %+v, want v3 rolled back and v1 live", res)
	}
	ld.stop()
	checkNoFailures(t, ld)
	w.mustBeSettled("v1")
}
