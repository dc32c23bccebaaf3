package bluegreen_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// deployWith deploys web:2 over web:1 with the given config changes and
// returns the events, result and error.
func deployWith(t *testing.T, w *world, mod func(*bluegreen.Config), during func(dep *bluegreen.Deployment)) ([]bluegreen.Event, bluegreen.Result, error) {
	t.Helper()
	w.deployFirst(t, "web")
	d, err := bluegreen.New(w.config(mod))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := d.Start(t.Context(), "web", rev("web:2"))
	if err != nil {
		t.Fatal(err)
	}
	if during != nil {
		during(dep)
	}
	evs := events(t, dep)
	res, err := dep.Wait(t.Context())
	return evs, res, err
}

func only(lines []string, prefixes ...string) []string {
	var out []string
	for _, l := range lines {
		for _, p := range prefixes {
			if len(l) >= len(p) && l[:len(p)] == p {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

func TestHookInProgressKeepsDetails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		hook := bluegreentest.NewHook().On(bluegreen.StagePostTestTrafficShift,
			bluegreentest.InProgress(time.Minute, json.RawMessage(`{"run":1}`)),
			bluegreentest.InProgress(0, json.RawMessage(`{"run":2}`)),
			bluegreentest.Succeed())
		evs, _, err := deployWith(t, w, func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "tests", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}, Hook: hook,
				Details: json.RawMessage(`{"suite":"smoke"}`)}}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range hook.Inputs() {
			got = append(got, string(in.Details))
		}
		if diff := cmp.Diff([]string{`{"suite":"smoke"}`, `{"run":1,"suite":"smoke"}`, `{"run":2,"suite":"smoke"}`}, got); diff != "" {
			t.Errorf("details handed to the hook (-want +got):\n%s", diff)
		}
		in := hook.Inputs()[2]
		if in.Attempt != 3 || in.DeploymentID != "d1" || in.Stage != bluegreen.StagePostTestTrafficShift || in.Blue == nil ||
			in.Blue.Revision.Name != "web:1" || in.Green.Revision.Name != "web:2" || in.Routes.Test != bluegreen.SlotB || in.Rollback {
			t.Errorf("third input %+v", in)
		}
		// The first retry waits the hook's own delay (1m), the second the default 30s.
		var calls []time.Duration
		for _, ev := range evs {
			if ev.Kind == bluegreen.EventHookCalled {
				calls = append(calls, ev.Time.Sub(evs[0].Time))
			}
		}
		if diff := cmp.Diff([]time.Duration{0, time.Minute, 90 * time.Second}, calls); diff != "" {
			t.Errorf("call times (-want +got):\n%s", diff)
		}
	})
}

func TestHookTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		action  bluegreen.TimeoutAction
		answers []bluegreentest.Answer
		outcome bluegreen.Outcome
		lines   []string
	}{
		{"in progress for ever rolls back", "", []bluegreentest.Answer{bluegreentest.InProgress(2*time.Minute, nil)}, bluegreen.OutcomeRolledBack, []string{
			"HOOK_CALLED POST_SCALE_UP gate try 1", "HOOK_ANSWERED POST_SCALE_UP gate IN_PROGRESS",
			"HOOK_CALLED POST_SCALE_UP gate try 2", "HOOK_ANSWERED POST_SCALE_UP gate IN_PROGRESS",
			"HOOK_CALLED POST_SCALE_UP gate try 3", "HOOK_ANSWERED POST_SCALE_UP gate IN_PROGRESS",
			"HOOK_ANSWERED POST_SCALE_UP gate timed out after 5m0s",
			"ROLLBACK_STARTED POST_SCALE_UP HOOK gate",
		}},
		{"in progress for ever continues", bluegreen.TimeoutContinue, []bluegreentest.Answer{bluegreentest.InProgress(2*time.Minute, nil)}, bluegreen.OutcomeSucceeded, []string{
			"HOOK_CALLED POST_SCALE_UP gate try 1", "HOOK_ANSWERED POST_SCALE_UP gate IN_PROGRESS",
			"HOOK_CALLED POST_SCALE_UP gate try 2", "HOOK_ANSWERED POST_SCALE_UP gate IN_PROGRESS",
			"HOOK_CALLED POST_SCALE_UP gate try 3", "HOOK_ANSWERED POST_SCALE_UP gate IN_PROGRESS",
			"HOOK_ANSWERED POST_SCALE_UP gate timed out after 5m0s; continuing",
		}},
		{"transient errors are retried", "", []bluegreentest.Answer{
			bluegreentest.Error(bluegreen.NewError(bluegreen.CodeThrottled, errors.New("rate exceeded"))), bluegreentest.Succeed()}, bluegreen.OutcomeSucceeded, []string{
			"HOOK_CALLED POST_SCALE_UP gate try 1", "HOOK_ANSWERED POST_SCALE_UP gate retrying after error: bluegreen: throttled: rate exceeded",
			"HOOK_CALLED POST_SCALE_UP gate try 2", "HOOK_ANSWERED POST_SCALE_UP gate SUCCEEDED",
		}},
		{"other errors fail the hook", "", []bluegreentest.Answer{bluegreentest.Error(errors.New("no such function"))}, bluegreen.OutcomeRolledBack, []string{
			"HOOK_CALLED POST_SCALE_UP gate try 1", "HOOK_ANSWERED POST_SCALE_UP gate FAILED", "ROLLBACK_STARTED POST_SCALE_UP HOOK gate",
		}},
		{"an invalid status fails the hook", "", []bluegreentest.Answer{{Result: bluegreen.HookResult{Status: "MAYBE"}}}, bluegreen.OutcomeRolledBack, []string{
			"HOOK_CALLED POST_SCALE_UP gate try 1", "HOOK_ANSWERED POST_SCALE_UP gate FAILED", "ROLLBACK_STARTED POST_SCALE_UP HOOK gate",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				evs, res, _ := deployWith(t, w, func(c *bluegreen.Config) {
					c.Hooks = []bluegreen.LifecycleHook{{Name: "gate", Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp},
						Hook: bluegreentest.NewHook(tt.answers...), Timeout: 5 * time.Minute, TimeoutAction: tt.action}}
				}, nil)
				if res.Outcome != tt.outcome {
					t.Errorf("outcome %s, want %s", res.Outcome, tt.outcome)
				}
				diffLines(t, tt.lines, only(summary(evs), "HOOK_", "ROLLBACK_STARTED"))
				checkInvariants(t, w, "web", evs, 0)
			})
		})
	}
}

func TestHangingHookTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		release := make(chan struct{})
		defer close(release)
		hang := bluegreen.HookFunc(func(ctx context.Context, _ bluegreen.HookInput) (bluegreen.HookResult, error) {
			<-release // ignores ctx, as a broken hook would
			return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
		})
		evs, res, _ := deployWith(t, w, func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "stuck", Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}, Hook: hang, Timeout: time.Minute}}
		}, nil)
		if res.Outcome != bluegreen.OutcomeRolledBack || res.Rollback.Reason != "timed out after 1m0s" {
			t.Errorf("result %+v", res)
		}
		checkInvariants(t, w, "web", evs, 0)
	})
}

func TestHooksRunInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		slow := bluegreentest.NewHook(bluegreentest.InProgress(10*time.Minute, nil), bluegreentest.Succeed())
		fast := bluegreentest.NewHook(bluegreentest.InProgress(time.Minute, nil), bluegreentest.InProgress(time.Minute, nil), bluegreentest.Succeed())
		stages := []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}
		evs, _, err := deployWith(t, w, func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "slow", Stages: stages, Hook: slow}, {Name: "fast", Stages: stages, Hook: fast}}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Both are called at once; the stage ends when the slower one succeeds.
		start := timeOf(evs, bluegreen.StagePostTestTrafficShift, bluegreen.EventStageStarted)
		end := timeOf(evs, bluegreen.StagePostTestTrafficShift, bluegreen.EventStageFinished)
		if got := end.Sub(start); got != 10*time.Minute {
			t.Errorf("stage took %v, want 10m (the slower hook, not the sum)", got)
		}
	})
}

func TestHooksAtEveryStepAndDuringRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		mon := bluegreentest.NewMonitor()
		hook := bluegreentest.NewHook()
		evs, res, err := deployWith(t, w, func(c *bluegreen.Config) {
			c.Shift = bluegreen.Linear(40, time.Minute)
			c.Monitors = []bluegreen.Monitor{mon}
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: hook, Stages: []bluegreen.Stage{
				bluegreen.StageTestTrafficShift, bluegreen.StagePreProductionTrafficShift, bluegreen.StageProductionTrafficShift}}}
			c.Callbacks.OnTraffic = func(ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventTrafficVerified && ev.Step == 3 {
					mon.Fire("errors", "too many")
				}
			}
		}, nil)
		if !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("err %v, want a rollback", err)
		}
		type call struct {
			Stage    bluegreen.Stage
			Step     int
			Rollback bool
			Green    bluegreen.Weight
		}
		var got []call
		for _, in := range hook.Inputs() {
			got = append(got, call{in.Stage, in.Step, in.Rollback, in.Routes.Production.B})
		}
		want := []call{
			{bluegreen.StageTestTrafficShift, 0, false, 0},
			{bluegreen.StagePreProductionTrafficShift, 1, false, 0}, {bluegreen.StageProductionTrafficShift, 1, false, 400},
			{bluegreen.StagePreProductionTrafficShift, 2, false, 400}, {bluegreen.StageProductionTrafficShift, 2, false, 800},
			{bluegreen.StagePreProductionTrafficShift, 3, false, 800}, {bluegreen.StageProductionTrafficShift, 3, false, 1000},
			// The rollback: traffic is back on blue before the hooks hear of it.
			{bluegreen.StageTestTrafficShift, 0, true, 0}, {bluegreen.StageProductionTrafficShift, 0, true, 0},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hook calls (-want +got):\n%s", diff)
		}
		if res.Rollback.Stage != bluegreen.StageProductionTrafficShift || res.Rollback.Step != 3 {
			t.Errorf("rollback at %v step %d", res.Rollback.Stage, res.Rollback.Step)
		}
		checkInvariants(t, w, "web", evs, 0)
	})
}

func TestPause(t *testing.T) {
	pause := []bluegreen.LifecycleHook{{Name: "approve", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}, Timeout: time.Hour}}
	t.Run("continue", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(nil)
			evs, res, err := deployWith(t, w, func(c *bluegreen.Config) { c.Hooks = pause }, func(dep *bluegreen.Deployment) {
				for ev := range dep.Events(t.Context()) {
					if ev.Kind == bluegreen.EventPaused {
						break
					}
				}
				if err := dep.Promote(t.Context()); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
					t.Errorf("Promote while paused: %v, want ErrFailedPrecondition", err)
				}
				time.Sleep(20 * time.Minute)
				if err := dep.Continue(t.Context()); err != nil {
					t.Errorf("Continue: %v", err)
				}
			})
			if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
				t.Fatalf("%v %v", res.Outcome, err)
			}
			diffLines(t, []string{
				"STAGE_STARTED POST_TEST_TRAFFIC_SHIFT", "PAUSED POST_TEST_TRAFFIC_SHIFT approve",
				"CONTINUED POST_TEST_TRAFFIC_SHIFT approve", "STAGE_FINISHED POST_TEST_TRAFFIC_SHIFT",
			}, only(summary(evs), "STAGE_STARTED POST_TEST", "STAGE_FINISHED POST_TEST", "PAUSED", "CONTINUED"))
			if got := evs[len(evs)-1].Time.Sub(evs[0].Time); got != 20*time.Minute {
				t.Errorf("deployment took %v, want the 20m pause", got)
			}
			checkInvariants(t, w, "web", evs, 0)
		})
	})
	t.Run("rollback while paused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(nil)
			evs, res, _ := deployWith(t, w, func(c *bluegreen.Config) { c.Hooks = pause }, func(dep *bluegreen.Deployment) {
				for ev := range dep.Events(t.Context()) {
					if ev.Kind == bluegreen.EventPaused {
						break
					}
				}
				if err := dep.Rollback(t.Context(), "tests failed by hand"); err != nil {
					t.Errorf("Rollback: %v", err)
				}
			})
			want := bluegreen.RollbackInfo{Trigger: bluegreen.TriggerCaller, By: "caller", Reason: "tests failed by hand", Stage: bluegreen.StagePostTestTrafficShift}
			if diff := cmp.Diff(want, *res.Rollback, cmpIgnoreAt); diff != "" {
				t.Errorf("rollback (-want +got):\n%s", diff)
			}
			checkInvariants(t, w, "web", evs, 0)
		})
	})
	t.Run("timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(nil)
			_, res, _ := deployWith(t, w, func(c *bluegreen.Config) { c.Hooks = pause }, nil)
			if res.Outcome != bluegreen.OutcomeRolledBack || res.Rollback.Reason != "timed out after 1h0m0s" {
				t.Errorf("result %+v", res)
			}
		})
	})
}

func TestPromoteSkipsWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		evs, _, err := deployWith(t, w, func(c *bluegreen.Config) {
			c.Shift, c.BakeTime = bluegreen.Canary(10, time.Hour), time.Hour
		}, func(dep *bluegreen.Deployment) {
			for range 2 { // the canary's wait, then the bake time
				time.Sleep(time.Minute)
				if err := dep.Promote(t.Context()); err != nil {
					t.Errorf("Promote: %v", err)
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := evs[len(evs)-1].Time.Sub(evs[0].Time); got != 2*time.Minute {
			t.Errorf("deployment took %v, want 2m", got)
		}
		if n := len(only(summary(evs), "PROMOTED")); n != 2 {
			t.Errorf("%d PROMOTED events, want 2", n)
		}
		checkInvariants(t, w, "web", evs, time.Hour)
	})
}

func TestCommandsAfterTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d, _ := bluegreen.New(w.config(nil))
		dep, err := d.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		<-dep.Done()
		for name, f := range map[string]func(context.Context) error{
			"Rollback": func(ctx context.Context) error { return dep.Rollback(ctx, "") },
			"Continue": dep.Continue, "Promote": dep.Promote,
		} {
			if err := f(t.Context()); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
				t.Errorf("%s after the end: %v, want ErrFailedPrecondition", name, err)
			}
		}
	})
}

var cmpIgnoreAt = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".At" }, cmp.Ignore())
