package bluegreentest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	gocmp "github.com/google/go-cmp/cmp"
)

// EngineHarness is what TestEngine needs of an engine, built fresh inside
// each subtest's testing/synctest bubble (so the engine's fakes, reached in
// process, run in virtual time).
type EngineHarness struct {
	// Engine is the engine under test, over its platform's fake.
	Engine bluegreen.Engine
	// Service is a service the platform can deploy; Revision a revision of
	// it that deploys (and passes the platform's checks).
	Service  string
	Revision bluegreen.Revision
	// PauseStage is a stage at which the platform can pause for an
	// in-process pause hook; POST_SCALE_UP if zero.
	PauseStage bluegreen.Stage
	// Starts reports how many deployments the platform has started, so the
	// suite can tell a re-attach from a second start.
	Starts func() int
	// Check, if set, is called at the end of each subtest with the
	// deployment's result, to check the platform's own record of it.
	Check func(t *testing.T, res bluegreen.Result)
}

// TestEngine runs the lifecycle tests every bluegreen.Engine passes, as
// the library's own engine does, with a linear shift of two steps (50%
// each, a minute apart) and a bake time of five minutes. The contract:
//
//   - A deployment with a Go hook at POST_TEST_TRAFFIC_SHIFT reports every
//     stage in order (the shift stages once per step), the test route's
//     move, each step's weights, the hook's call and answer, and DONE
//     SUCCEEDED; the store records it finished, the lease free.
//   - A Go hook answering FAILED at POST_PRODUCTION_TRAFFIC_SHIFT rolls it
//     back: ROLLBACK_STARTED (trigger HOOK), traffic back to blue, DONE
//     ROLLED_BACK, and Wait returns ErrRolledBack.
//   - A pause hook at PauseStage holds the deployment until Continue.
//   - The caller's Rollback during the bake time rolls it back (CALLER).
//   - Canceling the caller's context rolls it back (CANCELED).
//   - A deploying process that dies mid-shift (CancelDetach) leaves the
//     deployment to another owner's Reconcile, which re-attaches to the
//     platform's deployment (no second start) and follows it to its end.
func TestEngine(t *testing.T, newHarness func(t *testing.T) EngineHarness) {
	t.Helper()
	for _, tc := range engineCases() {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t)
				if h.PauseStage == 0 {
					h.PauseStage = bluegreen.StagePostScaleUp
				}
				tc.run(t, h)
			})
		})
	}
}

type engineCase struct {
	name string
	run  func(t *testing.T, h EngineHarness)
}

func engineConfig(h EngineHarness, store bluegreen.Store, mod func(*bluegreen.Config)) bluegreen.Config {
	n := 0
	cfg := bluegreen.Config{Engine: h.Engine, Store: store, Owner: "test-owner", NewID: func() string { n++; return fmt.Sprintf("d%d", n) },
		Shift: bluegreen.Linear(50, time.Minute), BakeTime: 5 * time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// deployWith starts a deployment with the hooks and callback act, and
// returns its events and result.
func deployWith(t *testing.T, h EngineHarness, store bluegreen.Store, hooks []bluegreen.LifecycleHook,
	act func(dep *bluegreen.Deployment, ev bluegreen.Event)) ([]bluegreen.Event, bluegreen.Result, error) {
	t.Helper()
	var dep *bluegreen.Deployment
	started := make(chan struct{})
	d, err := bluegreen.New(engineConfig(h, store, func(c *bluegreen.Config) {
		c.Hooks = hooks
		if act != nil {
			c.Callbacks.OnEvent = func(ev bluegreen.Event) { <-started; act(dep, ev) }
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	dep, err = d.Start(t.Context(), h.Service, h.Revision)
	close(started)
	if err != nil {
		t.Fatal(err)
	}
	var evs []bluegreen.Event
	for ev, err := range dep.Events(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	res, err := dep.Wait(t.Context())
	return evs, res, err
}

// EventLines prints events one line each, in the compact form lifecycle tests compare:
// kind, stage and step, then the detail that matters for that kind (hook and attempt,
// hook status, routes, rollback trigger, outcome), and "(rollback)" for rollback events.
func EventLines(evs []bluegreen.Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		s := string(ev.Kind)
		if ev.Stage != 0 {
			s += " " + ev.Stage.String()
		}
		if ev.Step > 0 {
			s += fmt.Sprintf("#%d", ev.Step)
		}
		switch ev.Kind {
		case bluegreen.EventHookCalled:
			s += fmt.Sprintf(" %s try %d", ev.Hook, ev.Attempt)
		case bluegreen.EventHookAnswered:
			s += fmt.Sprintf(" %s %s", ev.Hook, ev.HookStatus)
		case bluegreen.EventPaused, bluegreen.EventContinued:
			s += " " + ev.Hook
		case bluegreen.EventTrafficShifted:
			s += " " + ev.Routes.String()
		case bluegreen.EventRollbackStarted:
			s += fmt.Sprintf(" %s %s", ev.Rollback.Trigger, ev.Rollback.By)
		case bluegreen.EventDone:
			s += " " + string(ev.Outcome)
		}
		if ev.DuringRollback {
			s += " (rollback)"
		}
		out = append(out, s)
	}
	return out
}

// inARow reports whether want stands, in a row, somewhere in got.
func inARow(got, want []string) bool {
	for i := 0; i+len(want) <= len(got); i++ {
		if gocmp.Equal(got[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// checkEnded checks the store's record after a deployment ended.
func checkEnded(t *testing.T, h EngineHarness, store bluegreen.Store, res bluegreen.Result) {
	t.Helper()
	st, err := bluegreen.ReadState(t.Context(), store, h.Service)
	if err != nil {
		t.Fatal(err)
	}
	if st.LeaseOwner != "" || st.Deployment == nil || !st.Deployment.Finished || st.Deployment.Outcome != res.Outcome {
		t.Errorf("store: lease %q, deployment %+v; result %v", st.LeaseOwner, st.Deployment, res.Outcome)
	}
	if h.Check != nil {
		h.Check(t, res)
	}
}

func engineCases() []engineCase {
	continueOnPause := func(dep *bluegreen.Deployment, ev bluegreen.Event) {
		if ev.Kind == bluegreen.EventPaused {
			go func() { _ = dep.Continue(context.Background()) }()
		}
	}
	return []engineCase{
		{"Succeeds", func(t *testing.T, h EngineHarness) {
			store := bluegreen.NewMemoryStore()
			hooks := []bluegreen.LifecycleHook{{Name: "smoke", Hook: NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}
			evs, res, err := deployWith(t, h, store, hooks, nil)
			if err != nil {
				t.Fatalf("Wait: %v\n%s", err, strings.Join(EventLines(evs), "\n"))
			}
			want := []string{
				"STAGE_STARTED RECONCILE_SERVICE", "STAGE_FINISHED RECONCILE_SERVICE",
				"STAGE_STARTED PRE_SCALE_UP", "STAGE_FINISHED PRE_SCALE_UP", "STAGE_STARTED SCALE_UP", "STAGE_FINISHED SCALE_UP",
				"STAGE_STARTED POST_SCALE_UP", "STAGE_FINISHED POST_SCALE_UP",
				"STAGE_STARTED TEST_TRAFFIC_SHIFT", "TRAFFIC_SHIFTED TEST_TRAFFIC_SHIFT A=100% B=0% test=B", "STAGE_FINISHED TEST_TRAFFIC_SHIFT",
				"STAGE_STARTED POST_TEST_TRAFFIC_SHIFT", "HOOK_CALLED POST_TEST_TRAFFIC_SHIFT smoke try 1", "HOOK_ANSWERED POST_TEST_TRAFFIC_SHIFT smoke SUCCEEDED", "STAGE_FINISHED POST_TEST_TRAFFIC_SHIFT",
				"STAGE_STARTED PRE_PRODUCTION_TRAFFIC_SHIFT#1", "STAGE_FINISHED PRE_PRODUCTION_TRAFFIC_SHIFT#1",
				"STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#1", "TRAFFIC_SHIFTED PRODUCTION_TRAFFIC_SHIFT#1 A=50% B=50% test=B", "STAGE_FINISHED PRODUCTION_TRAFFIC_SHIFT#1",
				"STAGE_STARTED PRE_PRODUCTION_TRAFFIC_SHIFT#2", "STAGE_FINISHED PRE_PRODUCTION_TRAFFIC_SHIFT#2",
				"STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#2", "TRAFFIC_SHIFTED PRODUCTION_TRAFFIC_SHIFT#2 A=0% B=100% test=B", "STAGE_FINISHED PRODUCTION_TRAFFIC_SHIFT#2",
				"STAGE_STARTED POST_PRODUCTION_TRAFFIC_SHIFT", "STAGE_FINISHED POST_PRODUCTION_TRAFFIC_SHIFT",
				"STAGE_STARTED BAKE_TIME", "STAGE_FINISHED BAKE_TIME", "STAGE_STARTED CLEAN_UP", "STAGE_FINISHED CLEAN_UP",
				"DONE CLEAN_UP SUCCEEDED",
			}
			if diff := gocmp.Diff(want, EventLines(evs)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if res.Live == nil || res.Live.Revision.Name != h.Revision.Name {
				t.Errorf("live %v, want %s", res.Live, h.Revision.Name)
			}
			checkEnded(t, h, store, res)
		}},
		{"HookFailsRollsBack", func(t *testing.T, h EngineHarness) {
			store := bluegreen.NewMemoryStore()
			hooks := []bluegreen.LifecycleHook{{Name: "verdict", Hook: NewHook(Fail("bad")), Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}}}
			evs, res, err := deployWith(t, h, store, hooks, nil)
			if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerHook {
				t.Fatalf("Wait: %v (rollback %+v), want a rollback by the hook\n%s", err, res.Rollback, strings.Join(EventLines(evs), "\n"))
			}
			want := []string{
				"HOOK_ANSWERED POST_PRODUCTION_TRAFFIC_SHIFT verdict FAILED", "ROLLBACK_STARTED POST_PRODUCTION_TRAFFIC_SHIFT HOOK verdict",
				"TRAFFIC_SHIFTED POST_PRODUCTION_TRAFFIC_SHIFT A=100% B=0% test=A (rollback)", "ROLLBACK_FINISHED POST_PRODUCTION_TRAFFIC_SHIFT",
				"DONE POST_PRODUCTION_TRAFFIC_SHIFT ROLLED_BACK",
			}
			if got := EventLines(evs); !inARow(got, want) {
				t.Errorf("events lack, in a row:\n%s\ngot:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			checkEnded(t, h, store, res)
		}},
		{"PauseThenContinue", func(t *testing.T, h EngineHarness) {
			store := bluegreen.NewMemoryStore()
			hooks := []bluegreen.LifecycleHook{{Name: "approve", Pause: true, Stages: []bluegreen.Stage{h.PauseStage}}}
			evs, res, err := deployWith(t, h, store, hooks, continueOnPause)
			if err != nil {
				t.Fatalf("Wait: %v\n%s", err, strings.Join(EventLines(evs), "\n"))
			}
			name := h.PauseStage.String()
			if h.PauseStage == bluegreen.StagePreProductionTrafficShift {
				name += "#1"
			}
			want := []string{"PAUSED " + name + " approve", "CONTINUED " + name + " approve", "STAGE_FINISHED " + name}
			if got := EventLines(evs); !inARow(got, want) {
				t.Errorf("events lack, in a row:\n%s\ngot:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			checkEnded(t, h, store, res)
		}},
		{"CallerRollsBackInBake", func(t *testing.T, h EngineHarness) {
			store := bluegreen.NewMemoryStore()
			evs, res, err := deployWith(t, h, store, nil, func(dep *bluegreen.Deployment, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime {
					go func() { _ = dep.Rollback(context.Background(), "saw errors") }()
				}
			})
			if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerCaller {
				t.Fatalf("Wait: %v (rollback %+v), want the caller's rollback\n%s", err, res.Rollback, strings.Join(EventLines(evs), "\n"))
			}
			want := []string{"ROLLBACK_STARTED BAKE_TIME CALLER caller", "TRAFFIC_SHIFTED BAKE_TIME A=100% B=0% test=A (rollback)",
				"ROLLBACK_FINISHED BAKE_TIME", "DONE BAKE_TIME ROLLED_BACK"}
			if got := EventLines(evs); !inARow(got, want) {
				t.Errorf("events lack, in a row:\n%s\ngot:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
			}
			checkEnded(t, h, store, res)
		}},
		{"CancelRollsBack", func(t *testing.T, h EngineHarness) {
			store := bluegreen.NewMemoryStore()
			d, err := bluegreen.New(engineConfig(h, store, nil))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			dep, err := d.Start(ctx, h.Service, h.Revision)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(90 * time.Second) // mid-shift
			cancel()
			res, err := dep.Wait(t.Context())
			if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil || res.Rollback.Trigger != bluegreen.TriggerCanceled {
				t.Fatalf("canceled: %v (rollback %+v), want a rollback triggered by the cancellation", err, res.Rollback)
			}
			checkEnded(t, h, store, res)
		}},
		{"CrashThenReattach", func(t *testing.T, h EngineHarness) {
			store := bluegreen.NewMemoryStore()
			d, err := bluegreen.New(engineConfig(h, store, func(c *bluegreen.Config) { c.OnCancel = bluegreen.CancelDetach }))
			if err != nil {
				t.Fatal(err)
			}
			ctx, die := context.WithCancel(t.Context())
			dep, err := d.Start(ctx, h.Service, h.Revision)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(90 * time.Second) // mid-shift
			die()
			if _, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrCanceled) {
				t.Fatalf("the dying deployment ended %v, want a detached one", err)
			}
			time.Sleep(2 * time.Minute) // the dead owner's lease lapses
			other, err := bluegreen.New(engineConfig(h, store, func(c *bluegreen.Config) { c.Owner = "successor" }))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Start(t.Context(), h.Service, h.Revision); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
				t.Errorf("Start over an unfinished engine deployment: %v, want ErrFailedPrecondition (re-attach first)", err)
			}
			rdep, err := other.StartReconcile(t.Context(), h.Service)
			if err != nil {
				t.Fatal(err)
			}
			var evs []bluegreen.Event
			for ev, err := range rdep.Events(t.Context()) {
				if err != nil {
					t.Fatal(err)
				}
				evs = append(evs, ev)
			}
			res, err := rdep.Wait(t.Context())
			if err != nil || res.Outcome != bluegreen.OutcomeSucceeded || res.DeploymentID != dep.ID() {
				t.Fatalf("re-attached: %v %+v\n%s", err, res, strings.Join(EventLines(evs), "\n"))
			}
			if h.Starts != nil {
				if n := h.Starts(); n != 1 {
					t.Errorf("the platform started %d deployments, want 1: Reconcile re-attaches", n)
				}
			}
			checkEnded(t, h, store, res)
		}},
	}
}
