package bluegreen_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Expected event sequences are built from these pieces so each test states
// only what differs.

func stage(s bluegreen.Stage, inner ...string) []string {
	return slices.Concat([]string{"STAGE_STARTED " + s.String()}, inner, []string{"STAGE_FINISHED " + s.String()})
}

var healthy = "HEALTH_CHECKED POST_SCALE_UP 2/2"

// upToShift is a deployment over blue in slot A up to the production shift, without hooks.
func upToShift() []string {
	return slices.Concat(
		stage(bluegreen.StageReconcileService),
		stage(bluegreen.StagePreScaleUp),
		stage(bluegreen.StageScaleUp),
		stage(bluegreen.StagePostScaleUp, healthy),
		stage(bluegreen.StageTestTrafficShift,
			"TRAFFIC_SHIFTED TEST_TRAFFIC_SHIFT A=100% B=0% test=B @0s",
			"TRAFFIC_VERIFIED TEST_TRAFFIC_SHIFT A=100% B=0% test=B"),
		stage(bluegreen.StagePostTestTrafficShift),
	)
}

// shiftStep is production step n moving green (slot B) to the given share at the given time.
func shiftStep(n int, green bluegreen.Weight, at string) []string {
	routes := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, green), Test: bluegreen.SlotB}.String()
	pre := fmt.Sprintf("PRE_PRODUCTION_TRAFFIC_SHIFT#%d", n)
	prod := fmt.Sprintf("PRODUCTION_TRAFFIC_SHIFT#%d", n)
	return []string{
		"STAGE_STARTED " + pre, "STAGE_FINISHED " + pre,
		"STAGE_STARTED " + prod,
		"TRAFFIC_SHIFTED " + prod + " " + routes + " @" + at,
		"TRAFFIC_VERIFIED " + prod + " " + routes,
		"STAGE_FINISHED " + prod,
	}
}

func afterShift(doneAt string) []string {
	return slices.Concat(
		stage(bluegreen.StagePostProductionTrafficShift),
		stage(bluegreen.StageBakeTime),
		stage(bluegreen.StageCleanUp),
		[]string{"DONE CLEAN_UP SUCCEEDED @" + doneAt},
	)
}

func TestStrategies(t *testing.T) {
	tests := []struct {
		name  string
		shift bluegreen.Shift
		bake  time.Duration
		steps []string
		done  string
	}{
		{"all at once", bluegreen.AllAtOnce(), 0, shiftStep(1, 1000, "0s"), "0s"},
		{"all at once with bake", bluegreen.AllAtOnce(), 10 * time.Minute, shiftStep(1, 1000, "0s"), "10m0s"},
		{"linear 25% every minute", bluegreen.Linear(25, time.Minute), 5 * time.Minute,
			slices.Concat(shiftStep(1, 250, "0s"), shiftStep(2, 500, "1m0s"), shiftStep(3, 750, "2m0s"), shiftStep(4, 1000, "3m0s")), "8m0s"},
		{"linear 40% (last step smaller)", bluegreen.Linear(40, 30*time.Second), 0,
			slices.Concat(shiftStep(1, 400, "0s"), shiftStep(2, 800, "30s"), shiftStep(3, 1000, "1m0s")), "1m0s"},
		{"canary 0.1% for 15 minutes", bluegreen.Canary(0.1, 15*time.Minute), 30 * time.Minute,
			slices.Concat(shiftStep(1, 1, "0s"), shiftStep(2, 1000, "15m0s")), "45m0s"},
		{"explicit steps", bluegreen.Steps(bluegreen.Step{Green: 5, Wait: time.Minute}, bluegreen.Step{Green: 500, Wait: 2 * time.Minute}, bluegreen.Step{Green: 1000}), time.Minute,
			slices.Concat(shiftStep(1, 5, "0s"), shiftStep(2, 500, "1m0s"), shiftStep(3, 1000, "3m0s")), "4m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				w.deployFirst(t, "web")
				d, err := bluegreen.New(w.config(func(c *bluegreen.Config) { c.Shift, c.BakeTime = tt.shift, tt.bake }))
				if err != nil {
					t.Fatal(err)
				}
				dep, err := d.Start(t.Context(), "web", rev("web:2"))
				if err != nil {
					t.Fatal(err)
				}
				evs := events(t, dep)
				diffLines(t, slices.Concat(upToShift(), tt.steps, afterShift(tt.done)), summary(evs))
				res, err := dep.Wait(t.Context())
				if err != nil {
					t.Fatalf("Wait: %v", err)
				}
				if res.Outcome != bluegreen.OutcomeSucceeded || res.Live == nil || res.Live.Revision.Name != "web:2" || res.Live.Slot != bluegreen.SlotB {
					t.Errorf("result %+v: want web:2 live in slot B", res)
				}
				checkInvariants(t, w, "web", evs, tt.bake)
			})
		})
	}
}

func TestFirstDeployment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		d, err := bluegreen.New(w.config(func(c *bluegreen.Config) {
			c.Shift, c.BakeTime = bluegreen.Linear(10, time.Minute), time.Hour
		}))
		if err != nil {
			t.Fatal(err)
		}
		dep, err := d.Start(t.Context(), "web", rev("web:1"))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		want := slices.Concat(
			stage(bluegreen.StageReconcileService),
			stage(bluegreen.StagePreScaleUp),
			stage(bluegreen.StageScaleUp),
			stage(bluegreen.StagePostScaleUp, healthy),
			stage(bluegreen.StageTestTrafficShift,
				"TRAFFIC_SHIFTED TEST_TRAFFIC_SHIFT A=0% B=0% test=A @0s",
				"TRAFFIC_VERIFIED TEST_TRAFFIC_SHIFT A=0% B=0% test=A"),
			stage(bluegreen.StagePostTestTrafficShift),
			[]string{
				"STAGE_STARTED PRE_PRODUCTION_TRAFFIC_SHIFT#1", "STAGE_FINISHED PRE_PRODUCTION_TRAFFIC_SHIFT#1",
				"STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#1",
				"TRAFFIC_SHIFTED PRODUCTION_TRAFFIC_SHIFT#1 A=100% B=0% test=A @0s",
				"TRAFFIC_VERIFIED PRODUCTION_TRAFFIC_SHIFT#1 A=100% B=0% test=A",
				"STAGE_FINISHED PRODUCTION_TRAFFIC_SHIFT#1",
			},
			stage(bluegreen.StagePostProductionTrafficShift),
			[]string{"STAGE_SKIPPED BAKE_TIME"},
			stage(bluegreen.StageCleanUp),
			[]string{"DONE CLEAN_UP SUCCEEDED @0s"},
		)
		diffLines(t, want, summary(evs))
		checkInvariants(t, w, "web", evs, 0)
	})
}

// A scenario sets up hooks, monitors and faults on a world and tells when to act.
type scenario struct {
	name   string
	hooks  func(w *world) []bluegreen.LifecycleHook
	setup  func(w *world, mon *bluegreentest.Monitor)
	act    func(t *testing.T, dep func() *bluegreen.Deployment, mon *bluegreentest.Monitor, ev bluegreen.Event)
	health map[string]bluegreentest.Health
	// tail is the expected events from ROLLBACK_STARTED on.
	tail []string
	// why is the expected rollback information (At is ignored).
	why bluegreen.RollbackInfo
}

func failingHook(stage bluegreen.Stage) func(*world) []bluegreen.LifecycleHook {
	return func(*world) []bluegreen.LifecycleHook {
		return []bluegreen.LifecycleHook{{Name: "check", Stages: []bluegreen.Stage{stage},
			Hook: bluegreentest.NewHook(bluegreentest.Fail("smoke test failed"))}}
	}
}

// rollbackTail is what follows a rollback that moved traffic back.
func rollbackTail(trigger, by string, at string) []string {
	return []string{
		"ROLLBACK_STARTED " + at + " " + trigger + " " + by,
		"TRAFFIC_SHIFTED " + at + " A=100% B=0% test=A (rollback)",
		"TRAFFIC_VERIFIED " + at + " A=100% B=0% test=A (rollback)",
		"ROLLBACK_FINISHED " + at,
	}
}

func TestRollbackTriggers(t *testing.T) {
	boom := errors.New("boom")
	tests := []scenario{
		{name: "hook fails at RECONCILE_SERVICE", hooks: failingHook(bluegreen.StageReconcileService),
			tail: []string{"ROLLBACK_STARTED RECONCILE_SERVICE HOOK check", "ROLLBACK_FINISHED RECONCILE_SERVICE"},
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StageReconcileService}},
		{name: "hook fails at PRE_SCALE_UP", hooks: failingHook(bluegreen.StagePreScaleUp),
			tail: []string{"ROLLBACK_STARTED PRE_SCALE_UP HOOK check", "ROLLBACK_FINISHED PRE_SCALE_UP"},
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StagePreScaleUp}},
		{name: "scale up fails", setup: func(w *world, _ *bluegreentest.Monitor) { w.compute.Inject("ScaleUp", boom, 1) },
			tail: []string{"ROLLBACK_STARTED SCALE_UP BACKEND Compute.ScaleUp", "ROLLBACK_FINISHED SCALE_UP"},
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerBackend, By: "Compute.ScaleUp", Stage: bluegreen.StageScaleUp,
				Reason: "bluegreen: service web: SCALE_UP: Compute.ScaleUp: unknown: boom"}},
		{name: "green fails its health checks", health: map[string]bluegreentest.Health{"web:2": {StatusCalls: 1, Fail: "exit status 1"}},
			tail: []string{"ROLLBACK_STARTED POST_SCALE_UP HEALTH web:2", "ROLLBACK_FINISHED POST_SCALE_UP"},
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHealth, By: "web:2", Stage: bluegreen.StagePostScaleUp,
				Reason: "green failed its health checks: exit status 1"}},
		{name: "green never healthy", health: map[string]bluegreentest.Health{"web:2": {Never: true}},
			tail: []string{"ROLLBACK_STARTED POST_SCALE_UP HEALTH web:2", "ROLLBACK_FINISHED POST_SCALE_UP"},
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHealth, By: "web:2", Stage: bluegreen.StagePostScaleUp,
				Reason: "green not healthy after 10m0s (0 of 2 healthy): starting"}},
		{name: "hook fails at POST_SCALE_UP", hooks: failingHook(bluegreen.StagePostScaleUp),
			tail: []string{"ROLLBACK_STARTED POST_SCALE_UP HOOK check", "ROLLBACK_FINISHED POST_SCALE_UP"},
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StagePostScaleUp}},
		{name: "test route cannot be set", setup: func(w *world, _ *bluegreentest.Monitor) { w.router.Inject("SetRoutes", boom, 1) },
			tail: rollbackTail("TRAFFIC", "Router.SetRoutes", "TEST_TRAFFIC_SHIFT"),
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerTraffic, By: "Router.SetRoutes", Stage: bluegreen.StageTestTrafficShift,
				Reason: "bluegreen: service web: TEST_TRAFFIC_SHIFT: Router.SetRoutes: unknown: boom"}},
		{name: "hook fails at TEST_TRAFFIC_SHIFT", hooks: failingHook(bluegreen.StageTestTrafficShift),
			tail: slices.Insert(rollbackTail("HOOK", "check", "TEST_TRAFFIC_SHIFT"), 3,
				"HOOK_CALLED TEST_TRAFFIC_SHIFT check try 1 (rollback)", "HOOK_ANSWERED TEST_TRAFFIC_SHIFT check FAILED (rollback)"),
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StageTestTrafficShift}},
		{name: "hook fails at POST_TEST_TRAFFIC_SHIFT", hooks: failingHook(bluegreen.StagePostTestTrafficShift),
			tail: rollbackTail("HOOK", "check", "POST_TEST_TRAFFIC_SHIFT"),
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StagePostTestTrafficShift}},
		{name: "hook fails at PRE_PRODUCTION_TRAFFIC_SHIFT", hooks: failingHook(bluegreen.StagePreProductionTrafficShift),
			tail: rollbackTail("HOOK", "check", "PRE_PRODUCTION_TRAFFIC_SHIFT#1"),
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StagePreProductionTrafficShift, Step: 1}},
		{name: "second production step cannot be set", setup: func(w *world, _ *bluegreentest.Monitor) {
			n := 0
			w.router.React(func(_ context.Context, c bluegreentest.Call) error {
				if c.Op == "SetRoutes" && c.Service == "web" {
					if n++; n == 3 { // test route, step 1, step 2
						return boom
					}
				}
				return nil
			})
		},
			tail: rollbackTail("TRAFFIC", "Router.SetRoutes", "PRODUCTION_TRAFFIC_SHIFT#2"),
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerTraffic, By: "Router.SetRoutes", Stage: bluegreen.StageProductionTrafficShift, Step: 2,
				Reason: "bluegreen: service web: PRODUCTION_TRAFFIC_SHIFT: Router.SetRoutes: unknown: boom"}},
		{name: "monitor fires during a step's wait",
			act: func(t *testing.T, _ func() *bluegreen.Deployment, mon *bluegreentest.Monitor, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventTrafficVerified && ev.Step == 2 {
					mon.Fire("5xx-rate", "green 5xx rate 4% over 1% for 200 requests")
				}
			},
			tail: slices.Concat([]string{"MONITOR_FIRED PRODUCTION_TRAFFIC_SHIFT#2 5xx-rate"},
				slices.Concat([]string{"ROLLBACK_STARTED PRODUCTION_TRAFFIC_SHIFT#2 MONITOR monitor"},
					rollbackTail("", "", "PRODUCTION_TRAFFIC_SHIFT#2")[1:])),
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerMonitor, By: "monitor", Stage: bluegreen.StageProductionTrafficShift, Step: 2,
				Reason: "alarm 5xx-rate: green 5xx rate 4% over 1% for 200 requests"}},
		{name: "hook fails at PRODUCTION_TRAFFIC_SHIFT", hooks: failingHook(bluegreen.StageProductionTrafficShift),
			tail: slices.Insert(rollbackTail("HOOK", "check", "PRODUCTION_TRAFFIC_SHIFT#1"), 3,
				"HOOK_CALLED PRODUCTION_TRAFFIC_SHIFT check try 1 (rollback)", "HOOK_ANSWERED PRODUCTION_TRAFFIC_SHIFT check FAILED (rollback)"),
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StageProductionTrafficShift, Step: 1}},
		{name: "hook fails at POST_PRODUCTION_TRAFFIC_SHIFT", hooks: failingHook(bluegreen.StagePostProductionTrafficShift),
			tail: rollbackTail("HOOK", "check", "POST_PRODUCTION_TRAFFIC_SHIFT"),
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerHook, By: "check", Reason: "smoke test failed", Stage: bluegreen.StagePostProductionTrafficShift}},
		{name: "monitor fires during bake time",
			act: func(t *testing.T, _ func() *bluegreen.Deployment, mon *bluegreentest.Monitor, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime {
					mon.Fire("latency-p99", "")
				}
			},
			tail: slices.Concat([]string{"MONITOR_FIRED BAKE_TIME latency-p99", "ROLLBACK_STARTED BAKE_TIME MONITOR monitor"},
				rollbackTail("", "", "BAKE_TIME")[1:]),
			why: bluegreen.RollbackInfo{Trigger: bluegreen.TriggerMonitor, By: "monitor", Stage: bluegreen.StageBakeTime, Reason: "alarm latency-p99 fired"}},
		{name: "manual rollback during bake time",
			act: func(t *testing.T, dep func() *bluegreen.Deployment, _ *bluegreentest.Monitor, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime {
					go func() {
						if err := dep().Rollback(context.Background(), "error budget burning"); err != nil {
							t.Errorf("Rollback: %v", err)
						}
					}()
				}
			},
			tail: slices.Concat([]string{"ROLLBACK_STARTED BAKE_TIME CALLER caller"}, rollbackTail("", "", "BAKE_TIME")[1:]),
			why:  bluegreen.RollbackInfo{Trigger: bluegreen.TriggerCaller, By: "caller", Stage: bluegreen.StageBakeTime, Reason: "error budget burning"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(tt.health)
				w.deployFirst(t, "web")
				mon := bluegreentest.NewMonitor()
				if tt.setup != nil {
					tt.setup(w, mon)
				}
				var dep *bluegreen.Deployment
				started := make(chan struct{})
				getDep := func() *bluegreen.Deployment { <-started; return dep }
				d, err := bluegreen.New(w.config(func(c *bluegreen.Config) {
					c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), 10*time.Minute
					c.Monitors = []bluegreen.Monitor{mon}
					if tt.hooks != nil {
						c.Hooks = tt.hooks(w)
					}
					if tt.act != nil {
						c.Callbacks.OnEvent = func(ev bluegreen.Event) { tt.act(t, getDep, mon, ev) }
					}
				}))
				if err != nil {
					t.Fatal(err)
				}
				dep, err = d.Start(t.Context(), "web", rev("web:2"))
				close(started)
				if err != nil {
					t.Fatal(err)
				}
				evs := events(t, dep)
				got := summary(evs)
				i := slices.IndexFunc(got, func(s string) bool {
					return strings.HasPrefix(s, "ROLLBACK_STARTED") || strings.HasPrefix(s, "MONITOR_FIRED")
				})
				if i < 0 {
					t.Fatalf("no rollback:\n%s", strings.Join(got, "\n"))
				}
				diffLines(t, append(tt.tail, "DONE "+strings.Fields(tt.tail[len(tt.tail)-1])[1]+" ROLLED_BACK"), trimTimes(got[i:]))
				res, err := dep.Wait(t.Context())
				var rb *bluegreen.RollbackError
				if !errors.Is(err, bluegreen.ErrRolledBack) || !errors.As(err, &rb) {
					t.Fatalf("Wait error %v: want a *RollbackError", err)
				}
				if diff := cmp.Diff(tt.why, *res.Rollback, cmpopts.IgnoreFields(bluegreen.RollbackInfo{}, "At")); diff != "" {
					t.Errorf("rollback info (-want +got):\n%s", diff)
				}
				if res.Outcome != bluegreen.OutcomeRolledBack || res.Live == nil || res.Live.Revision.Name != "web:1" {
					t.Errorf("result %+v: want rolled back to web:1", res)
				}
				checkInvariants(t, w, "web", evs, 0)
			})
		})
	}
}
