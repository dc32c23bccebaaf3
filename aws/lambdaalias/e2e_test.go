package lambdaalias_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/cwmonitor"
	"github.com/bluegreen-go/bluegreen/aws/lambdaalias"
	"github.com/bluegreen-go/bluegreen/aws/lambdahook"
	"github.com/google/go-cmp/cmp"
)

// world is a Lambda fake (the deployed function "orders" and the hook
// function "smoke"), a CloudWatch fake with the function's error alarm, and
// a Deployer over them: lambdaalias as Compute and Router, lambdahook at
// POST_TEST_TRAFFIC_SHIFT, cwmonitor, the memory store.
type world struct {
	lambda *awsfake.Lambda
	cw     *awsfake.CloudWatch
	b      *lambdaalias.Backend
	d      *bluegreen.Deployer

	mu      sync.Mutex
	shifts  []string               // the production alias after each traffic shift
	onShift func(bluegreen.Routes) // called after each shift, if set
}

const alarm = "orders-errors"

func newWorld(t *testing.T, shift bluegreen.Shift) *world {
	t.Helper()
	w := &world{lambda: awsfake.NewLambda(), cw: awsfake.NewCloudWatch()}
	w.lambda.SetUpdateDelay(4 * time.Second) // a zip update takes seconds
	addFunction(t, w.lambda, "orders")
	w.lambda.SetFunction("smoke", func(_ context.Context, payload []byte) ([]byte, error) {
		var p lambdahook.Payload
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, err
		}
		return json.Marshal(lambdahook.Response{HookStatus: "SUCCEEDED"})
	})
	w.cw.SetAlarm(awsfake.CloudWatchAlarm{Name: alarm, State: awsfake.AlarmOK, Reason: "fine"})
	client := lambda.NewFromConfig(awsfake.InProcessConfig(w.lambda))
	w.b = newBackend(t, client, lambdaalias.Options{PollInterval: time.Second})
	hook, err := lambdahook.New(lambdahook.Options{Client: client, Function: "smoke"})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := cwmonitor.New(cwmonitor.Options{Client: cloudwatch.NewFromConfig(awsfake.InProcessConfig(w.cw)), AlarmNames: []string{alarm}})
	if err != nil {
		t.Fatal(err)
	}
	w.d, err = bluegreen.New(bluegreen.Config{
		Compute: w.b, Router: w.b, Store: bluegreen.NewMemoryStore(),
		Hooks: []bluegreen.LifecycleHook{{Name: "smoke", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
			Hook: hook, Timeout: 5 * time.Minute}},
		Monitors:        []bluegreen.Monitor{mon},
		Shift:           shift,
		BakeTime:        5 * time.Minute,
		MonitorInterval: 30 * time.Second,
		HealthInterval:  2 * time.Second,
		Owner:           "e2e",
		Callbacks: bluegreen.Callbacks{OnTraffic: func(ev bluegreen.Event) {
			if ev.Kind != bluegreen.EventTrafficShifted {
				return
			}
			w.mu.Lock()
			w.shifts = append(w.shifts, w.alias("live"))
			f := w.onShift
			w.mu.Unlock()
			if f != nil && ev.Routes != nil {
				f(*ev.Routes)
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// alias prints an alias of orders as "v1 +v2@0.3", or "-" if missing.
func (w *world) alias(name string) string {
	a, ok := w.lambda.Aliases("orders")[name]
	if !ok {
		return "-"
	}
	s := "v" + a.FunctionVersion
	for _, v := range slices.Sorted(maps.Keys(a.AdditionalVersionWeights)) {
		s += fmt.Sprintf(" +v%s@%g", v, a.AdditionalVersionWeights[v])
	}
	return s
}

// aliases prints every alias of orders.
func (w *world) aliases() map[string]string {
	out := map[string]string{}
	for name := range w.lambda.Aliases("orders") {
		out[name] = w.alias(name)
	}
	return out
}

func (w *world) takeShifts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.shifts
	w.shifts = nil
	return s
}

// TestEndToEnd deploys a function five times in virtual time: a first
// deployment, a linear one (counting its calls), one rolled back by an
// alarm, one whose code update fails, and a good one deployed twice (the
// second time one version is in both slots).
func TestEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, bluegreen.Linear(10, time.Minute))
		ctx := t.Context()

		res, err := w.d.Deploy(ctx, "orders", s3Revision("orders", 1))
		if err != nil || res.Green.Slot != bluegreen.SlotA {
			t.Fatalf("first deployment: %+v, %v", res, err)
		}
		want := map[string]string{"live": "v1", "live-test": "v1", "live-slot-a": "v1"}
		if diff := cmp.Diff(want, w.aliases()); diff != "" {
			t.Errorf("aliases after the first deployment (-want +got):\n%s", diff)
		}
		w.takeShifts()

		// A linear deployment: ten steps of 10%, weights on version 2.
		before := w.lambda.Faults.Calls()
		start := time.Now()
		res, err = w.d.Deploy(ctx, "orders", s3Revision("orders", 2))
		if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("linear deployment: %+v, %v", res, err)
		}
		took := time.Since(start)
		calls := since(before, w.lambda.Faults.Calls())
		t.Logf("linear deployment of 10 steps (virtual time %v), Lambda calls: %v", took, calls)
		wantShifts := []string{"v1", // test route to green
			"v1 +v2@0.1", "v1 +v2@0.2", "v1 +v2@0.3", "v1 +v2@0.4", "v1 +v2@0.5", "v1 +v2@0.6", "v1 +v2@0.7", "v1 +v2@0.8", "v1 +v2@0.9", "v2"}
		if diff := cmp.Diff(wantShifts, w.takeShifts()); diff != "" {
			t.Errorf("production alias after each shift (-want +got):\n%s", diff)
		}
		want = map[string]string{"live": "v2", "live-test": "v2", "live-slot-b": "v2"}
		if diff := cmp.Diff(want, w.aliases()); diff != "" {
			t.Errorf("aliases after the linear deployment (-want +got):\n%s", diff)
		}
		wantCalls := map[string]int{
			"UpdateFunctionCode": 1, "PublishVersion": 1,
			"GetFunctionConfiguration": calls["GetFunctionConfiguration"], // polls: see below
			"ListAliases":              calls["ListAliases"],
			"CreateAlias":              1,  // live-slot-b
			"UpdateAlias":              11, // live-test once, live ten times
			"DeleteAlias":              1,  // live-slot-a at clean-up
			"Invoke":                   1,  // the smoke hook
		}
		if diff := cmp.Diff(wantCalls, calls); diff != "" {
			t.Errorf("calls of a linear deployment (-want +got):\n%s", diff)
		}
		if n := calls["GetFunctionConfiguration"]; n < 2 || n > 10 {
			t.Errorf("GetFunctionConfiguration calls = %d, want a few (update polls, health reads)", n)
		}

		// An alarm at 30%: rolled back to version 2 in one call.
		w.onShift = func(r bluegreen.Routes) {
			if r.Production.A == 300 {
				w.cw.SetAlarm(awsfake.CloudWatchAlarm{Name: alarm, State: awsfake.AlarmAlarm, Reason: "Errors > 5 for 1 datapoint"})
			}
		}
		res, err = w.d.Deploy(ctx, "orders", s3Revision("orders", 3))
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerMonitor {
			t.Fatalf("deployment with an alarm: %+v, %v; want a rollback by the monitor", res, err)
		}
		w.onShift = nil
		w.cw.SetAlarm(awsfake.CloudWatchAlarm{Name: alarm, State: awsfake.AlarmOK, Reason: "fine"})
		shifts := w.takeShifts()
		if diff := cmp.Diff([]string{"v2", "v2 +v3@0.1", "v2 +v3@0.2", "v2 +v3@0.3", "v2"}, shifts[:min(5, len(shifts))]); diff != "" {
			t.Errorf("production alias during the rolled-back deployment (-want +got):\n%s", diff)
		}
		want = map[string]string{"live": "v2", "live-test": "v2", "live-slot-b": "v2"}
		if diff := cmp.Diff(want, w.aliases()); diff != "" {
			t.Errorf("aliases after the rollback (-want +got):\n%s", diff)
		}
		if vs := w.lambda.Versions("orders"); len(vs) != 3 {
			t.Errorf("versions after the rollback = %+v, want 3 (kept by default)", vs)
		}

		// A code update that fails: never published, rolled back for health.
		w.lambda.FailUpdates("s3://code/orders-4.zip", "InvalidZipFileException", "Could not unzip uploaded file.")
		res, err = w.d.Deploy(ctx, "orders", s3Revision("orders", 4))
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerHealth ||
			!strings.Contains(res.Rollback.Reason, "Could not unzip uploaded file.") {
			t.Fatalf("deployment of broken code: %+v, %v; want a rollback for health with Lambda's reason", res, err)
		}
		if diff := cmp.Diff(want, w.aliases()); diff != "" {
			t.Errorf("aliases after the failed update (-want +got):\n%s", diff)
		}
		if vs := w.lambda.Versions("orders"); len(vs) != 3 {
			t.Errorf("versions after the failed update = %+v, want 3 (nothing published)", vs)
		}
		w.takeShifts()

		// A good revision, then the same again: Lambda publishes no new
		// version of unchanged code, so both slots hold version 4; the
		// deployment still shifts, reads its routes and cleans up.
		if res, err = w.d.Deploy(ctx, "orders", s3Revision("orders", 5)); err != nil || res.Green.Slot != bluegreen.SlotA {
			t.Fatalf("deployment of orders:5: %+v, %v", res, err)
		}
		if got := w.alias("live"); got != "v4" {
			t.Fatalf("live after orders:5 = %s, want v4", got)
		}
		w.takeShifts()
		res, err = w.d.Deploy(ctx, "orders", s3Revision("orders", 5))
		if err != nil || res.Green.Slot != bluegreen.SlotB {
			t.Fatalf("redeployment of unchanged code: %+v, %v", res, err)
		}
		for i, s := range w.takeShifts() {
			if s != "v4" {
				t.Errorf("shift %d of the redeployment: live is %s, want v4 throughout", i, s)
			}
		}
		want = map[string]string{"live": "v4", "live-test": "v4", "live-slot-b": "v4"}
		if diff := cmp.Diff(want, w.aliases()); diff != "" {
			t.Errorf("aliases after the redeployment (-want +got):\n%s", diff)
		}
		if r, err := w.b.Routes(ctx, "orders"); err != nil || r != (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}) {
			t.Errorf("Routes after the redeployment = %v, %v; want B=100%% test=B", r, err)
		}
	})
}

// since returns the calls made after before was taken.
func since(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
