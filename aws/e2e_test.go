// Package aws_test runs whole deployments through every AWS adapter —
// ecscompute, elbrouter, lambdahook, cwmonitor and dynamostore — with the
// real SDK clients talking to the in-process fakes of aws/awsfake, and
// checks the IAM policy in iam-policy.json against the calls they make.
package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/google/go-cmp/cmp"
)

// deploy runs one deployment to its end and returns its result, its error
// and its events.
func deploy(t testing.TB, d *bluegreen.Deployer, service string, rev bluegreen.Revision) (bluegreen.Result, error, []bluegreen.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dep, err := d.Start(ctx, service, rev)
	if err != nil {
		t.Fatalf("Start %s %s: %v", service, rev.Name, err)
	}
	var evs []bluegreen.Event
	for ev, err := range dep.Events(ctx) {
		if err != nil {
			t.Fatalf("events of %s %s: %v", service, rev.Name, err)
		}
		evs = append(evs, ev)
	}
	res, err := dep.Wait(ctx)
	return res, err, evs
}

// firstDeployment deploys revision 1 of s, which becomes live in slot B
// (the routes forwarded to slot A's empty target group before).
func firstDeployment(t *testing.T, w *world, d *bluegreen.Deployer, s service) bluegreen.Environment {
	t.Helper()
	res, err, evs := deploy(t, d, s.name, revision(s.name, 1))
	if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
		t.Fatalf("first deployment: %s, %v (stages %s)", res.Outcome, err, stages(evs))
	}
	if res.Green.Slot != bluegreen.SlotB || res.Blue != nil {
		t.Fatalf("first deployment went to slot %s with blue %v; want slot B and no blue", res.Green.Slot, res.Blue)
	}
	w.checkLive(t, s, res.Green, bluegreen.OutcomeSucceeded)
	return res.Green
}

// same reports whether e is env: the same deployment's revision in the same slot.
func same(e *bluegreen.Environment, env bluegreen.Environment) bool {
	return e != nil && e.Slot == env.Slot && e.DeploymentID == env.DeploymentID && e.Revision.Name == env.Revision.Name
}

// productionShifts returns green's production weight at each verified
// traffic change of a deployment, and whether any was during a rollback.
func productionShifts(evs []bluegreen.Event, green bluegreen.Slot) (weights []bluegreen.Weight, rollback []bluegreen.Weight) {
	for _, ev := range evs {
		if ev.Kind != bluegreen.EventTrafficVerified {
			continue
		}
		if ev.DuringRollback {
			rollback = append(rollback, ev.Routes.Production.Of(green))
		} else {
			weights = append(weights, ev.Routes.Production.Of(green))
		}
	}
	return weights, rollback
}

// hookCalls returns the lifecycle stages at which the Lambda hook was
// invoked for revision rev, read from the payloads the function received.
func hookCalls(t *testing.T, w *world, rev string) []string {
	t.Helper()
	var out []string
	for _, inv := range w.lambda.Invocations() {
		var p lambdahook.Payload
		if err := json.Unmarshal(inv.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.ExecutionDetails.TargetServiceRevisionARN == rev {
			out = append(out, p.LifecycleStage)
		}
	}
	return out
}

const allStages = "RECONCILE_SERVICE PRE_SCALE_UP SCALE_UP POST_SCALE_UP TEST_TRAFFIC_SHIFT POST_TEST_TRAFFIC_SHIFT " +
	"PRE_PRODUCTION_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT PRE_PRODUCTION_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT " +
	"PRE_PRODUCTION_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT PRE_PRODUCTION_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT " +
	"PRE_PRODUCTION_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT POST_PRODUCTION_TRAFFIC_SHIFT BAKE_TIME CLEAN_UP"

// TestDeploySucceeds deploys a second revision of a service with a linear
// shift of 20% every 50ms, the Lambda hook at POST_TEST_TRAFFIC_SHIFT, the
// service's alarm watched (and an alarm already in ALARM before the
// deployment, ignored) and a bake time; green becomes live everywhere.
func TestDeploySucceeds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.addService(t, "web", false)
	d := w.deployer(t, []service{s}, fast)
	blue := firstDeployment(t, w, d, s)

	res, err, evs := deploy(t, d, s.name, revision(s.name, 2))
	if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
		t.Fatalf("Deploy = %s, %v; want SUCCEEDED (stages %s)", res.Outcome, err, stages(evs))
	}
	if res.Green.Slot != bluegreen.SlotA || !same(res.Blue, blue) || !same(res.Live, res.Green) {
		t.Errorf("result: blue %v, green %v, live %v; want blue %v, green in slot A and live", res.Blue, res.Green, res.Live, blue)
	}
	if got := stages(evs); got != allStages {
		t.Errorf("stages:\n got %s\nwant %s", got, allStages)
	}
	weights, rollback := productionShifts(evs, res.Green.Slot)
	if diff := cmp.Diff([]bluegreen.Weight{0, 200, 400, 600, 800, 1000}, weights); diff != "" || rollback != nil {
		t.Errorf("green's production weight at each verified shift (-want +got):\n%s; during rollback %v", diff, rollback)
	}
	if diff := cmp.Diff([]string{"POST_TEST_TRAFFIC_SHIFT"}, hookCalls(t, w, "web:2")); diff != "" {
		t.Errorf("Lambda hook invocations for web:2 (-want +got):\n%s", diff)
	}
	var bakeStart, bakeEnd time.Time
	for _, ev := range evs {
		switch {
		case ev.Kind == bluegreen.EventMonitorFired:
			t.Errorf("monitor fired: %+v (the alarm in ALARM since yesterday must be ignored)", ev.Alarms)
		case ev.Stage == bluegreen.StageBakeTime && ev.Kind == bluegreen.EventStageStarted:
			bakeStart = ev.Time
		case ev.Stage == bluegreen.StageBakeTime && ev.Kind == bluegreen.EventStageFinished:
			bakeEnd = ev.Time
		}
	}
	if baked := bakeEnd.Sub(bakeStart); baked < fast.bake {
		t.Errorf("baked %v, want at least %v", baked, fast.bake)
	}
	w.checkLive(t, s, res.Green, bluegreen.OutcomeSucceeded)
}

// TestHookFailureRollsBack deploys a revision whose Lambda hook answers
// FAILED at POST_TEST_TRAFFIC_SHIFT: production traffic never moves, the
// test route returns to blue, and green is removed.
func TestHookFailureRollsBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.addService(t, "web", false)
	d := w.deployer(t, []service{s}, fast)
	blue := firstDeployment(t, w, d, s)
	w.failHook("web:2")

	res, err, evs := deploy(t, d, s.name, revision(s.name, 2))
	var rb *bluegreen.RollbackError
	if !errors.As(err, &rb) || res.Outcome != bluegreen.OutcomeRolledBack {
		t.Fatalf("Deploy = %s, %v; want ROLLED_BACK with a RollbackError (stages %s)", res.Outcome, err, stages(evs))
	}
	info := *res.Rollback
	info.At = time.Time{}
	want := bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "smoke-test", Stage: bluegreen.StagePostTestTrafficShift,
		Reason: info.Reason}
	if diff := cmp.Diff(want, info); diff != "" || !strings.Contains(info.Reason, "lambda function smoke-test answered FAILED") {
		t.Errorf("rollback (-want +got):\n%s\nreason %q", diff, info.Reason)
	}
	weights, rollback := productionShifts(evs, res.Green.Slot)
	if diff := cmp.Diff([]bluegreen.Weight{0}, weights); diff != "" || len(rollback) != 1 || rollback[0] != 0 {
		t.Errorf("green's production weights: %v, during rollback %v; want 0 throughout", weights, rollback)
	}
	if !same(res.Live, blue) {
		t.Errorf("live after rollback = %v, want blue %v", res.Live, blue)
	}
	w.checkLive(t, s, blue, bluegreen.OutcomeRolledBack)
}

// TestAlarmDuringBakeRollsBack deploys a revision whose alarm goes to
// ALARM 100ms into the 300ms bake time: the monitor, watched while the
// bake time waits, sees it; all production traffic returns to blue with one
// router call, and green is removed.
func TestAlarmDuringBakeRollsBack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.addService(t, "web", false)
	tune := fast
	raised := make(chan time.Time, 1)
	tune.callbacks.OnStage = func(ev bluegreen.Event) {
		if ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime {
			time.AfterFunc(100*time.Millisecond, func() {
				now := time.Now()
				if err := w.cw.SetAlarmState(s.alarm, awsfake.AlarmAlarm, "Threshold Crossed: 5xx rate 7.5% > 5%", now); err != nil {
					t.Error(err)
				}
				raised <- now
			})
		}
	}
	d := w.deployer(t, []service{s}, tune)
	blue := firstDeployment(t, w, d, s)

	res, err, evs := deploy(t, d, s.name, revision(s.name, 2))
	if !errors.Is(err, bluegreen.ErrRolledBack) || res.Outcome != bluegreen.OutcomeRolledBack {
		t.Fatalf("Deploy = %s, %v; want ROLLED_BACK (stages %s)", res.Outcome, err, stages(evs))
	}
	info := *res.Rollback
	want := bluegreen.RollbackInfo{Trigger: bluegreen.TriggerMonitor, By: "cloudwatch-alarms", Stage: bluegreen.StageBakeTime,
		Reason: "alarm " + s.alarm + ": Threshold Crossed: 5xx rate 7.5% > 5%", At: info.At}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("rollback (-want +got):\n%s", diff)
	}
	if at := <-raised; info.At.Before(at) {
		t.Errorf("rollback began at %v, before the alarm was raised at %v", info.At, at)
	}
	weights, rollback := productionShifts(evs, res.Green.Slot)
	if diff := cmp.Diff([]bluegreen.Weight{0, 200, 400, 600, 800, 1000}, weights); diff != "" {
		t.Errorf("green's production weight at each verified shift (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bluegreen.Weight{0}, rollback); diff != "" {
		t.Errorf("rollback shifts (-want +got):\n%s (one router call puts everything back on blue)", diff)
	}
	w.checkLive(t, s, blue, bluegreen.OutcomeRolledBack)
}
