package bluegreen_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// detachAt starts a deployment of web:2 with cfg and detaches it (its
// owner dies) after d, then waits out the lease.
func detachAt(t *testing.T, w *world, mod func(*bluegreen.Config), d time.Duration) {
	t.Helper()
	dep, err := mustNew(t, w.config(func(c *bluegreen.Config) {
		mod(c)
		c.OnCancel = bluegreen.CancelDetach
	})).startCancelable(t, "web", rev("web:2"), d)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrCanceled) {
		t.Fatalf("detached deployment ended %v, %v", res.Outcome, err)
	}
	time.Sleep(2 * time.Minute) // the dead owner's lease lapses
}

type deployer struct{ *bluegreen.Deployer }

func mustNew(t *testing.T, cfg bluegreen.Config) deployer {
	t.Helper()
	d, err := bluegreen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return deployer{d}
}

// startCancelable starts a deployment and cancels its context after d.
func (d deployer) startCancelable(t *testing.T, service string, r bluegreen.Revision, after time.Duration) (*bluegreen.Deployment, error) {
	ctx, cancel := context.WithCancel(t.Context())
	dep, err := d.Start(ctx, service, r)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() {
		time.Sleep(after)
		cancel()
	}()
	return dep, nil
}

// successor returns a Deployer of another owner over w.
func successor(t *testing.T, w *world, mod func(*bluegreen.Config)) deployer {
	return mustNew(t, w.config(func(c *bluegreen.Config) {
		mod(c)
		c.Owner = "successor"
	}))
}

// TestReconcileSurfaces: Deployer.Reconcile has Deploy's surfaces: a handle
// carrying the unfinished deployment's id, complete stage events ending in
// DONE, and Deploy's error convention (nil after a success, ErrRolledBack
// after a rollback, ErrNotFound when there is nothing to settle).
func TestReconcileSurfaces(t *testing.T) {
	tests := []struct {
		name   string
		policy bluegreen.ReconcilePolicy
		want   []string
		err    error
	}{
		{"resumed", bluegreen.ReconcileDefault, []string{
			"STAGE_STARTED RECONCILE_SERVICE", "STAGE_FINISHED RECONCILE_SERVICE",
			"STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#1", "TRAFFIC_SHIFTED PRODUCTION_TRAFFIC_SHIFT#1 A=50% B=50% test=B",
			"TRAFFIC_VERIFIED PRODUCTION_TRAFFIC_SHIFT#1 A=50% B=50% test=B", "STAGE_FINISHED PRODUCTION_TRAFFIC_SHIFT#1",
			"STAGE_STARTED PRE_PRODUCTION_TRAFFIC_SHIFT#2", "STAGE_FINISHED PRE_PRODUCTION_TRAFFIC_SHIFT#2",
			"STAGE_STARTED PRODUCTION_TRAFFIC_SHIFT#2", "TRAFFIC_SHIFTED PRODUCTION_TRAFFIC_SHIFT#2 A=0% B=100% test=B",
			"TRAFFIC_VERIFIED PRODUCTION_TRAFFIC_SHIFT#2 A=0% B=100% test=B", "STAGE_FINISHED PRODUCTION_TRAFFIC_SHIFT#2",
			"STAGE_STARTED POST_PRODUCTION_TRAFFIC_SHIFT", "STAGE_FINISHED POST_PRODUCTION_TRAFFIC_SHIFT",
			"STAGE_STARTED BAKE_TIME", "STAGE_FINISHED BAKE_TIME", "STAGE_STARTED CLEAN_UP", "STAGE_FINISHED CLEAN_UP",
			"DONE CLEAN_UP SUCCEEDED",
		}, nil},
		{"rolled back", bluegreen.ReconcileRollback, []string{
			"STAGE_STARTED RECONCILE_SERVICE", "STAGE_FINISHED RECONCILE_SERVICE",
			"ROLLBACK_STARTED RECONCILE_SERVICE RECONCILE d1",
			"TRAFFIC_SHIFTED RECONCILE_SERVICE A=100% B=0% test=A (rollback)", "TRAFFIC_VERIFIED RECONCILE_SERVICE A=100% B=0% test=A (rollback)",
			"ROLLBACK_FINISHED RECONCILE_SERVICE", "DONE RECONCILE_SERVICE ROLLED_BACK",
		}, bluegreen.ErrRolledBack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				w.deployFirst(t, "web")
				shift := func(c *bluegreen.Config) { c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), time.Minute }
				detachAt(t, w, shift, 30*time.Second)
				s := successor(t, w, func(c *bluegreen.Config) { shift(c); c.Reconcile = tt.policy })
				dep, err := s.StartReconcile(t.Context(), "web")
				if err != nil {
					t.Fatal(err)
				}
				if dep.ID() != "d1" {
					t.Errorf("handle id %q, want the unfinished deployment's, d1", dep.ID())
				}
				evs := events(t, dep)
				diffLines(t, tt.want, trimTimes(summary(evs)))
				res, err := dep.Wait(t.Context())
				if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
					t.Errorf("Wait error %v, want %v", err, tt.err)
				}
				if res.DeploymentID != "d1" {
					t.Errorf("result for %q, want d1", res.DeploymentID)
				}
				checkInvariants(t, w, "web", evs, 0)
				if _, err := s.Reconcile(t.Context(), "web"); !errors.Is(err, bluegreen.ErrNotFound) {
					t.Errorf("a second Reconcile: %v, want ErrNotFound (nothing to settle)", err)
				}
			})
		})
	}
}

// TestResumeHookInProgress: a hook answering IN_PROGRESS is resumed by the
// successor where it stood: its next call is the next attempt, with the
// details it returned, and its deadline is the one the dead owner set.
func TestResumeHookInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		started := time.Now()
		attempt := 0
		hook := bluegreen.HookFunc(func(_ context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
			attempt++
			if in.Attempt != attempt {
				t.Errorf("call %d says attempt %d", attempt, in.Attempt)
			}
			details, _ := json.Marshal(map[string]int{"checked": in.Attempt * 10})
			return bluegreen.HookResult{Status: bluegreen.HookInProgress, CallbackDelay: time.Minute, Details: details}, nil
		})
		hooks := func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "soak", Hook: hook, Timeout: 10 * time.Minute,
				Details: json.RawMessage(`{"suite":"smoke"}`), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}
		}
		detachAt(t, w, hooks, 150*time.Second) // after the third call, at 2m
		if attempt != 3 {
			t.Fatalf("%d calls before the crash, want 3", attempt)
		}
		var inputs []bluegreen.HookInput
		resumed := bluegreen.HookFunc(func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
			inputs = append(inputs, in)
			return hook(ctx, in)
		})
		s := successor(t, w, func(c *bluegreen.Config) {
			hooks(c)
			c.Hooks[0].Hook = resumed
		})
		res, err := s.Reconcile(t.Context(), "web")
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerHook {
			t.Fatalf("Reconcile: %v %+v, want the hook to time out", err, res.Rollback)
		}
		if len(inputs) == 0 || inputs[0].Attempt != 4 {
			t.Fatalf("the successor's first call %+v, want attempt 4", inputs)
		}
		if diff := cmp.Diff(`{"checked":30,"suite":"smoke"}`, string(inputs[0].Details)); diff != "" {
			t.Errorf("details of the resumed call (-want +got):\n%s", diff)
		}
		// The hook's deadline is 10m after its first call (at 0s), as the
		// dead owner set it, not 10m after the successor started (at 4m30s).
		if at := res.Rollback.At.Sub(started); at != 10*time.Minute {
			t.Errorf("the hook timed out %v after the start, want 10m0s", at)
		}
		checkInvariants(t, w, "web", nil, 0)
	})
}

// TestResumedBakeWatchesMonitors: a deployment killed during its bake time
// is completed by the next Deploy only after the rest of its bake, with its
// monitors watched: an alarm then rolls it back before the new deployment
// goes on.
func TestResumedBakeWatchesMonitors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		mon := bluegreentest.NewNamedMonitor("errors")
		cfg := func(c *bluegreen.Config) {
			c.Shift, c.BakeTime, c.MonitorInterval = bluegreen.AllAtOnce(), 30*time.Minute, time.Minute
			c.Monitors = []bluegreen.Monitor{mon}
		}
		detachAt(t, w, cfg, 10*time.Minute)
		// 12 minutes in: 18 minutes of bake are left. The alarm fires 4m30s
		// later, and the check each minute sees it at 5m.
		go func() {
			time.Sleep(4*time.Minute + 30*time.Second)
			mon.Fire("5xx", "green answers 5xx")
		}()
		s := successor(t, w, func(c *bluegreen.Config) { cfg(c); c.NewID = func() string { return "d3" } })
		dep, err := s.Start(t.Context(), "web", rev("web:3"))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		got := summary(evs)
		i := slices.IndexFunc(got, func(s string) bool { return strings.HasPrefix(s, "ROLLBACK_STARTED") })
		if i < 0 || !strings.Contains(got[i], "MONITOR errors") || evs[i].DeploymentID != "d1" {
			t.Fatalf("no rollback of d1 by the monitor:\n%s", strings.Join(got, "\n"))
		}
		if at := evs[i].Time.Sub(evs[0].Time); at != 5*time.Minute {
			t.Errorf("d1 rolled back %v into its resumed bake, want 5m0s", at)
		}
		// The alarm still fires: the new deployment is rolled back too, at
		// its first production step, and web:1 (d1's blue) stays live.
		res, err := dep.Wait(t.Context())
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Stage != bluegreen.StageProductionTrafficShift || res.Live.Revision.Name != "web:1" {
			t.Errorf("the new deployment: %v, %+v, live %v", err, res.Rollback, res.Live)
		}
		checkInvariants(t, w, "web", evs, 0)
	})
}

// TestDesiredZeroFailsAtOnce: an environment whose desired count is 0 can
// never become healthy; the deployment rolls back at once, saying why,
// instead of waiting out the health timeout.
func TestDesiredZeroFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d := mustNew(t, w.config(func(c *bluegreen.Config) { c.Compute = zeroDesired{w.compute} }))
		start := time.Now()
		res, err := d.Deploy(t.Context(), "web", rev("web:2"))
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerHealth ||
			!strings.Contains(res.Rollback.Reason, "desired count is 0") || !strings.Contains(res.Rollback.Reason, "service scaled to zero") {
			t.Fatalf("Deploy: %v, rollback %+v", err, res.Rollback)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("the rollback came after %v, want at once", took)
		}
	})
}

// zeroDesired reports green with a desired count of 0.
type zeroDesired struct{ *bluegreentest.Compute }

func (z zeroDesired) Status(ctx context.Context, env bluegreen.Environment) (bluegreen.Status, error) {
	s, err := z.Compute.Status(ctx, env)
	if env.Revision.Name == "web:2" {
		s = bluegreen.Status{Reason: "service scaled to zero"}
	}
	return s, err
}

// TestLeaseHeldDuringLongCall: a backend call that outlives the lease's TTL
// (blue draining for 5 minutes with a 1-minute lease) keeps the lease
// renewed, so another owner is refused all along.
func TestLeaseHeldDuringLongCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		w.compute.React(func(ctx context.Context, c bluegreentest.Call) error {
			if c.Op == "ScaleDown" && c.Service == "web" {
				select {
				case <-time.After(5 * time.Minute):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
		d := mustNew(t, w.config(func(c *bluegreen.Config) { c.LeaseTTL = time.Minute }))
		dep, err := d.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		other := successor(t, w, func(*bluegreen.Config) {})
		for range 4 {
			time.Sleep(time.Minute + time.Second)
			_, err := other.Start(t.Context(), "web", rev("web:9"))
			var ip *bluegreen.InProgressError
			if !errors.As(err, &ip) || ip.Holder != "test-owner" {
				t.Fatalf("another owner during the drain: %v, want refused with the holder named", err)
			}
		}
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := w.store.Count("Save"); n < 8 {
			t.Errorf("%d saves, want the renewals of a 5-minute drain among them", n)
		}
	})
}

// TestSnapshotSavedBeforePrepare: the compute backend's snapshot is saved
// before Prepare acts, so a store that fails right then leaves nothing
// prepared; and whatever was prepared is restored.
func TestSnapshotSavedBeforePrepare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		w.compute.Reset()
		snapped := false
		w.compute.React(func(_ context.Context, c bluegreentest.Call) error {
			snapped = snapped || c.Op == "Snapshot"
			return nil
		})
		w.store.React(func(_ context.Context, c bluegreentest.Call) error {
			if c.Op == "Save" && snapped {
				return bluegreen.NewError(bluegreen.CodePermission, errors.New("store refused the write"))
			}
			return nil
		})
		d := mustNew(t, w.config(nil))
		res, err := d.Deploy(t.Context(), "web", rev("web:2"))
		if res.Outcome != bluegreen.OutcomeFailed || !errors.Is(err, bluegreen.ErrPermission) {
			t.Fatalf("Deploy: %v %v, want a failure to save", res.Outcome, err)
		}
		if n := w.compute.Count("Prepare"); n != 0 || w.compute.Suspended("web") {
			t.Errorf("Prepare called %d times, suspended %v: it acted before its snapshot was saved", n, w.compute.Suspended("web"))
		}
	})
}
