package ecsnative_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/ecsnative"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestReattach: the deploying process dies mid-shift; a new Deployer's
// Reconcile re-attaches to the ECS service deployment (it starts no
// other) and follows it to its end, answering a pause still ahead.
func TestReattach(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t)
		gate := bluegreentest.NewHook()
		hooks := []bluegreen.LifecycleHook{{Name: "gate", Hook: gate, Stages: []bluegreen.Stage{bluegreen.StagePostProductionTrafficShift}}}
		d := mustNew(t, w.config(w.engine(t, nil), func(c *bluegreen.Config) { c.OnCancel = bluegreen.CancelDetach; c.Hooks = hooks }))
		ctx, die := context.WithCancel(t.Context())
		dep, err := d.Start(ctx, "web", bluegreen.Revision{Name: "web:2"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(90 * time.Second)
		die()
		if _, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrCanceled) {
			t.Fatalf("detached: %v", err)
		}
		other := mustNew(t, w.config(w.engine(t, nil), func(c *bluegreen.Config) { c.Owner = "successor"; c.Hooks = hooks }))
		time.Sleep(2 * time.Minute)
		if _, err := other.Start(t.Context(), "web", bluegreen.Revision{Name: "web:3"}); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
			t.Fatalf("Start over an unfinished engine deployment: %v", err)
		}
		rdep, err := other.StartReconcile(t.Context(), "web")
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, rdep)
		res, err := rdep.Wait(t.Context())
		if err != nil || res.Outcome != bluegreen.OutcomeSucceeded || res.Live == nil || res.Live.Revision.Name != "web:2" {
			t.Fatalf("re-attached: %v %+v\n%s", err, res, join(summary(evs)))
		}
		sds := w.fake.ServiceDeployments("prod", "web")
		if len(sds) != 1 || sds[0].Status != "SUCCESSFUL" {
			t.Errorf("ECS service deployments %+v, want one, SUCCESSFUL (re-attached, not started again)", sds)
		}
		got := summary(evs)
		if !strings.HasPrefix(got[0], "STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#1") {
			t.Errorf("first event of the re-attached deployment %q, want the stage it stood at\n%s", got[0], join(got))
		}
		if n := len(gate.Calls()); n != 1 {
			t.Errorf("the gate hook was called %d times, want once (by the re-attached engine)", n)
		}
	})
}

// TestDifferences tests where ECS-native deployments differ from the
// reference engine: Promote and Continue outside a pause are refused (ECS
// has no call for them), ECS's own rollbacks (an alarm, a Lambda hook) are
// reported with their cause, and Lambda hooks' calls appear as events.
func TestDifferences(t *testing.T) {
	t.Run("promote refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t)
			d := mustNew(t, w.config(w.engine(t, nil), nil))
			dep, err := d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Minute)
			if err := dep.Promote(t.Context()); !errors.Is(err, bluegreen.ErrFailedPrecondition) || !strings.Contains(err.Error(), "cannot cut") {
				t.Errorf("Promote: %v, want a refusal saying ECS cannot cut a wait short", err)
			}
			if err := dep.Continue(t.Context()); !errors.Is(err, bluegreen.ErrFailedPrecondition) || !strings.Contains(err.Error(), "not paused") {
				t.Errorf("Continue outside a pause: %v", err)
			}
			if _, err := dep.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("alarm rolls back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t)
			e := w.engine(t, func(o *ecsnative.Options) { o.Alarms = []string{"web-5xx"} })
			d := mustNew(t, w.config(e, nil))
			dep, err := d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
			if err != nil {
				t.Fatal(err)
			}
			evs := make(chan []bluegreen.Event, 1)
			go func() { evs <- events(t, dep) }()
			time.Sleep(100 * time.Second)
			w.fake.SetAlarm("web-5xx", true)
			res, err := dep.Wait(t.Context())
			if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerMonitor || res.Rollback.By != "web-5xx" {
				t.Fatalf("alarm: %v %+v\n%s", err, res.Rollback, join(summary(<-evs)))
			}
		})
	})
	t.Run("lambda hook fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t)
			fn := "arn:aws:lambda:us-east-1:123456789012:function:check"
			e := w.engine(t, func(o *ecsnative.Options) {
				o.LambdaHooks = []ecsnative.LambdaHook{{Name: "check", FunctionARN: fn, RoleARN: "role-hooks", Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}}
			})
			w.fake.SetLambdaHookResult(fn, "FAILED")
			d := mustNew(t, w.config(e, nil))
			dep, err := d.Start(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
			if err != nil {
				t.Fatal(err)
			}
			evs := events(t, dep)
			res, err := dep.Wait(t.Context())
			if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerHook || res.Rollback.By != "check" {
				t.Fatalf("lambda: %v %+v\n%s", err, res.Rollback, join(summary(evs)))
			}
			want := []string{"HOOK_CALLED POST_SCALE_UP check try 1", "HOOK_ANSWERED POST_SCALE_UP check FAILED", "ROLLBACK_STARTED POST_SCALE_UP HOOK check"}
			got := window(summary(evs), want)
			if join(got) != join(want) {
				t.Errorf("events:\n%s\nwant a run of:\n%s", join(summary(evs)), join(want))
			}
		})
	})
}
