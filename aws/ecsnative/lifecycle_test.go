package ecsnative_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestLifecycle ports the root package's TestEngineLifecycle (over the
// fake platform bluegreentest.Engine) to ECS's service deployments: the
// same configurations give the same events, in virtual time, through the
// real SDK client and the ECS fake.
func TestLifecycle(t *testing.T) {
	smoke := bluegreentest.NewHook()
	tests := []struct {
		name    string
		hooks   []bluegreen.LifecycleHook
		act     func(dep *bluegreen.Deployment, ev bluegreen.Event)
		wantErr error
		want    []string
		// ecs is the ECS service deployment's end.
		ecs string
	}{
		{name: "succeeds", ecs: "SUCCESSFUL", hooks: []bluegreen.LifecycleHook{{Name: "smoke", Hook: smoke, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
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
		{name: "hook fails", ecs: "ROLLBACK_SUCCESSFUL", wantErr: bluegreen.ErrRolledBack,
			hooks: []bluegreen.LifecycleHook{{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("bad")), Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}}},
			want: []string{
				"HOOK_ANSWERED POST_PRODUCTION_TRAFFIC_SHIFT verdict FAILED", "ROLLBACK_STARTED POST_PRODUCTION_TRAFFIC_SHIFT HOOK verdict",
				"TRAFFIC_SHIFTED POST_PRODUCTION_TRAFFIC_SHIFT A=100% B=0% test=A (rollback)", "ROLLBACK_FINISHED POST_PRODUCTION_TRAFFIC_SHIFT",
				"DONE POST_PRODUCTION_TRAFFIC_SHIFT ROLLED_BACK",
			}},
		{name: "pause then continue", ecs: "SUCCESSFUL", hooks: []bluegreen.LifecycleHook{{Name: "approve", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}},
			act: func(dep *bluegreen.Deployment, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventPaused {
					go func() { _ = dep.Continue(context.Background()) }()
				}
			},
			want: []string{"CONTINUED POST_SCALE_UP approve", "STAGE_FINISHED POST_SCALE_UP"}},
		{name: "pause before the second step", ecs: "SUCCESSFUL", hooks: []bluegreen.LifecycleHook{{Name: "gate", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePreProductionTrafficShift}}},
			act: func(dep *bluegreen.Deployment, ev bluegreen.Event) {
				if ev.Kind == bluegreen.EventPaused {
					go func() { _ = dep.Continue(context.Background()) }()
				}
			},
			want: []string{"STAGE_STARTED PRE_PRODUCTION_TRAFFIC_SHIFT#2", "PAUSED PRE_PRODUCTION_TRAFFIC_SHIFT#2 gate", "CONTINUED PRE_PRODUCTION_TRAFFIC_SHIFT#2 gate",
				"STAGE_FINISHED PRE_PRODUCTION_TRAFFIC_SHIFT#2", "STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#2"}},
		{name: "caller rolls back in the bake", ecs: "ROLLBACK_SUCCESSFUL", wantErr: bluegreen.ErrRolledBack,
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
				w := newWorld(t)
				var dep *bluegreen.Deployment
				started := make(chan struct{})
				d := mustNew(t, w.config(w.engine(t, nil), func(c *bluegreen.Config) {
					c.Hooks = tt.hooks
					if tt.act != nil {
						c.Callbacks.OnEvent = func(ev bluegreen.Event) { <-started; tt.act(dep, ev) }
					}
				}))
				var err error
				dep, err = d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
				close(started)
				if err != nil {
					t.Fatal(err)
				}
				evs := events(t, dep)
				res, err := dep.Wait(t.Context())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("Wait: %v, want %v\n%s", err, tt.wantErr, join(summary(evs)))
				}
				got := summary(evs)
				if tt.name != "succeeds" {
					got = window(got, tt.want)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s\ngot:\n%s", diff, join(summary(evs)))
				}
				st, _ := bluegreen.ReadState(t.Context(), w.store, "web")
				if st.LeaseOwner != "" || !st.Deployment.Finished || st.Deployment.Outcome != res.Outcome {
					t.Errorf("store: lease %q, deployment %+v; result %v", st.LeaseOwner, st.Deployment, res.Outcome)
				}
				sds := w.fake.ServiceDeployments("prod", "web")
				if len(sds) != 1 || sds[0].Status != tt.ecs || sds[0].TaskDefinition != "web:2" || sds[0].Strategy != "LINEAR" {
					t.Errorf("ECS service deployments %+v, want one of web:2, LINEAR, %s", sds, tt.ecs)
				}
			})
		})
	}
}
