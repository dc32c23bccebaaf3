package bluegreen_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// engineWorld is a Deployer configuration over the fake platform engine.
func engineConfig(e *bluegreentest.Engine, store bluegreen.Store, mod func(*bluegreen.Config)) bluegreen.Config {
	cfg := bluegreen.Config{Engine: e, Store: store, Owner: "test-owner", NewID: sequentialIDs(),
		Shift: bluegreen.Linear(50, time.Minute), BakeTime: 5 * time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// TestEngineLifecycle: over an Engine, the caller sees the surface it sees
// over the Deployer's own engine: stage events in order with the steps,
// traffic events, in-process hooks run at the platform's pauses, the same
// result and errors.
func TestEngineLifecycle(t *testing.T) {
	smoke := bluegreentest.NewHook()
	tests := []struct {
		name    string
		hooks   []bluegreen.LifecycleHook
		act     func(dep *bluegreen.Deployment, ev bluegreen.Event)
		wantErr error
		want    []string
	}{
		{name: "succeeds", hooks: []bluegreen.LifecycleHook{{Name: "smoke", Hook: smoke, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
			want: []string{
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
			}},
		{name: "hook fails", wantErr: bluegreen.ErrRolledBack,
			hooks: []bluegreen.LifecycleHook{{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("bad")), Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}}},
			want: []string{
				"HOOK_ANSWERED POST_PRODUCTION_TRAFFIC_SHIFT verdict FAILED", "ROLLBACK_STARTED POST_PRODUCTION_TRAFFIC_SHIFT HOOK verdict",
				"TRAFFIC_SHIFTED POST_PRODUCTION_TRAFFIC_SHIFT A=100% B=0% test=A (rollback)", "ROLLBACK_FINISHED POST_PRODUCTION_TRAFFIC_SHIFT",
				"DONE POST_PRODUCTION_TRAFFIC_SHIFT ROLLED_BACK",
			}},
		{name: "pause then continue", hooks: []bluegreen.LifecycleHook{{Name: "approve", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}},
			act: func(dep *bluegreen.Deployment, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventPaused {
					go func() { _ = dep.Continue(context.Background()) }()
				}
			},
			want: []string{"CONTINUED POST_SCALE_UP approve", "STAGE_FINISHED POST_SCALE_UP"}},
		{name: "caller rolls back in the bake", wantErr: bluegreen.ErrRolledBack,
			act: func(dep *bluegreen.Deployment, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime {
					go func() { _ = dep.Rollback(context.Background(), "saw errors") }()
				}
			},
			want: []string{"ROLLBACK_STARTED BAKE_TIME CALLER caller", "TRAFFIC_SHIFTED BAKE_TIME A=100% B=0% test=A (rollback)",
				"ROLLBACK_FINISHED BAKE_TIME", "DONE BAKE_TIME ROLLED_BACK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := bluegreentest.NewEngine()
				store := bluegreen.NewMemoryStore()
				var dep *bluegreen.Deployment
				started := make(chan struct{})
				d := mustNew(t, engineConfig(e, store, func(c *bluegreen.Config) {
					c.Hooks = tt.hooks
					if tt.act != nil {
						c.Callbacks.OnEvent = func(ev bluegreen.Event) { <-started; tt.act(dep, ev) }
					}
				}))
				var err error
				dep, err = d.Start(t.Context(), "web", rev("web:2"))
				close(started)
				if err != nil {
					t.Fatal(err)
				}
				evs := events(t, dep)
				res, err := dep.Wait(t.Context())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("Wait: %v, want %v\n%s", err, tt.wantErr, strings.Join(summary(evs), "\n"))
				}
				got := trimTimes(summary(evs))
				if tt.name != "succeeds" {
					// The events that matter, in a row, somewhere in the log.
					for i := range got {
						if i+len(tt.want) <= len(got) && got[i] == tt.want[0] {
							got = got[i : i+len(tt.want)]
							break
						}
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s\ngot:\n%s", diff, strings.Join(summary(evs), "\n"))
				}
				st, _ := bluegreen.ReadState(t.Context(), store, "web")
				if st.LeaseOwner != "" || !st.Deployment.Finished || st.Deployment.Outcome != res.Outcome {
					t.Errorf("store: lease %q, deployment %+v; result %v", st.LeaseOwner, st.Deployment, res.Outcome)
				}
			})
		})
	}
}

// TestEngineReattach: the deploying process dies mid-shift; a new
// Deployer's Reconcile re-attaches to the platform's deployment (it does
// not start another) and follows it to its end.
func TestEngineReattach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bluegreentest.NewEngine()
		store := bluegreen.NewMemoryStore()
		d := mustNew(t, engineConfig(e, store, func(c *bluegreen.Config) { c.OnCancel = bluegreen.CancelDetach }))
		ctx, die := context.WithCancel(t.Context())
		dep, err := d.Start(ctx, "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		die()
		if _, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrCanceled) {
			t.Fatalf("detached: %v", err)
		}
		// A new Deploy is refused while the platform's deployment is unfinished.
		other := mustNew(t, engineConfig(e, store, func(c *bluegreen.Config) { c.Owner = "successor" }))
		time.Sleep(2 * time.Minute)
		if _, err := other.Start(t.Context(), "web", rev("web:3")); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
			t.Fatalf("Start over an unfinished engine deployment: %v", err)
		}
		rdep, err := other.StartReconcile(t.Context(), "web")
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, rdep)
		res, err := rdep.Wait(t.Context())
		if err != nil || res.Outcome != bluegreen.OutcomeSucceeded || res.Live == nil || res.Live.Revision.Name != "web:2" {
			t.Fatalf("re-attached: %v %+v\n%s", err, res, strings.Join(summary(evs), "\n"))
		}
		if n := e.Count("Start"); n != 1 {
			t.Errorf("the platform started %d deployments, want 1 (re-attached, not started again)", n)
		}
		if diff := cmp.Diff(map[string]bluegreen.Outcome{"pd-d1": bluegreen.OutcomeSucceeded}, e.Deployments()); diff != "" {
			t.Errorf("platform deployments (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(trimTimes(summary(evs))[0], "STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#1") {
			t.Errorf("first event of the re-attached deployment %q, want the stage it stood at", summary(evs)[0])
		}
	})
}

// TestEngineCancelRollsBack: canceling the caller's context rolls the
// platform's deployment back (CancelRollback, the default).
func TestEngineCancelRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := bluegreentest.NewEngine()
		d := mustNew(t, engineConfig(e, bluegreen.NewMemoryStore(), nil))
		ctx, cancel := context.WithCancel(t.Context())
		dep, err := d.Start(ctx, "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(90 * time.Second)
		cancel()
		res, err := dep.Wait(t.Context())
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerCanceled || e.Count("Stop") != 1 {
			t.Fatalf("canceled: %v %+v, platform stops %d", err, res.Rollback, e.Count("Stop"))
		}
	})
}
