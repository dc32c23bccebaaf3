package ecsnative_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// TestConformance runs the lifecycle tests every bluegreen.Engine passes
// (bluegreentest.TestEngine, which the root package runs over the reference
// platform) over ECS's service deployments: the same configurations give
// the same events, in virtual time, through the real SDK client and the ECS
// fake, and ECS records each deployment's end.
func TestConformance(t *testing.T) {
	bluegreentest.TestEngine(t, func(t *testing.T) bluegreentest.EngineHarness {
		w := newWorld(t)
		return bluegreentest.EngineHarness{Engine: w.engine(t, nil), Service: "web", Revision: bluegreen.Revision{Name: "web:2"},
			Starts: func() int { return len(w.fake.ServiceDeployments("prod", "web")) },
			Check: func(t *testing.T, res bluegreen.Result) {
				want := map[bluegreen.Outcome]string{bluegreen.OutcomeSucceeded: "SUCCESSFUL", bluegreen.OutcomeRolledBack: "ROLLBACK_SUCCESSFUL"}[res.Outcome]
				sds := w.fake.ServiceDeployments("prod", "web")
				if len(sds) != 1 || sds[0].Status != want || sds[0].TaskDefinition != "web:2" || sds[0].Strategy != "LINEAR" {
					t.Errorf("ECS service deployments %+v, want one of web:2, LINEAR, %s", sds, want)
				}
			}}
	})
}

// TestPauseBeforeSecondStep: a pause at PRE_PRODUCTION_TRAFFIC_SHIFT holds
// every step; ECS reports the pause before step 2 at the first step's
// weights, and it is reported as PRE_PRODUCTION_TRAFFIC_SHIFT#2.
func TestPauseBeforeSecondStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		var dep *bluegreen.Deployment
		started := make(chan struct{})
		d := mustNew(t, w.config(w.engine(t, nil), func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "gate", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePreProductionTrafficShift}}}
			c.Callbacks.OnEvent = func(ev bluegreen.Event) {
				<-started
				if ev.Kind == bluegreen.EventPaused {
					go func() { _ = dep.Continue(context.Background()) }()
				}
			}
		}))
		var err error
		dep, err = d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
		close(started)
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatalf("Wait: %v\n%s", err, join(summary(evs)))
		}
		want := []string{"STAGE_STARTED PRE_PRODUCTION_TRAFFIC_SHIFT#2", "PAUSED PRE_PRODUCTION_TRAFFIC_SHIFT#2 gate", "CONTINUED PRE_PRODUCTION_TRAFFIC_SHIFT#2 gate",
			"STAGE_FINISHED PRE_PRODUCTION_TRAFFIC_SHIFT#2", "STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#2"}
		if diff := cmp.Diff(want, window(summary(evs), want)); diff != "" {
			t.Errorf("events (-want +got):\n%s\ngot:\n%s", diff, join(summary(evs)))
		}
	})
}
