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

func TestCancelRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(50, time.Hour) }))
		ctx, cancel := context.WithCancel(t.Context())
		dep, err := d.Start(ctx, "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // mid-shift: 50% on green
		if got := w.router.Current("web").Production.B; got != 500 {
			t.Fatalf("green has %v before the cancel, want 50%%", got)
		}
		cancel()
		res, err := dep.Wait(t.Context())
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerCanceled {
			t.Fatalf("err %v, rollback %+v: want a rollback triggered by the cancel", err, res.Rollback)
		}
		checkInvariants(t, w, "web", events(t, dep), 0)
	})
}

func TestCancelDetachesThenReconcile(t *testing.T) {
	tests := []struct {
		name     string
		cancelAt time.Duration // after the start; the shift ends at 1m, the bake at 61m
		policy   bluegreen.ReconcilePolicy
		live     string
		took     time.Duration // how long Reconcile drives the deployment
	}{
		// Resumed at 1m30s: step 1's wait (from 0s to 1m) is over, so the
		// second step at once, then the full hour of bake.
		{"mid-shift: resumed", 30 * time.Second, bluegreen.ReconcileDefault, "web:2", time.Hour},
		{"mid-shift, rollback policy: rolled back", 30 * time.Second, bluegreen.ReconcileRollback, "web:1", 0},
		// Resumed: what is left of the bake (it began at 1m, the crash came at
		// 10m, the successor starts at 11m): 50 minutes.
		{"during bake: resumed", 10 * time.Minute, bluegreen.ReconcileDefault, "web:2", 50 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				w.deployFirst(t, "web")
				cfg := w.config(func(c *bluegreen.Config) {
					c.Shift, c.BakeTime, c.OnCancel = bluegreen.Linear(50, time.Minute), time.Hour, bluegreen.CancelDetach
				})
				d, _ := bluegreen.New(cfg)
				ctx, cancel := context.WithCancel(t.Context())
				dep, err := d.Start(ctx, "web", rev("web:2"))
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.cancelAt)
				split := w.router.Current("web")
				cancel()
				res, err := dep.Wait(t.Context())
				if !errors.Is(err, bluegreen.ErrCanceled) || res.Outcome != bluegreen.OutcomeFailed {
					t.Fatalf("%v %v: want a detached (failed, canceled) deployment", res.Outcome, err)
				}
				if got := w.router.Current("web"); got != split {
					t.Errorf("detaching changed traffic from %v to %v", split, got)
				}
				// Another owner is refused until the lease expires.
				other := w.config(func(c *bluegreen.Config) {
					c.Owner, c.NewID, c.Reconcile = "other", func() string { return "d2" }, tt.policy
					c.BakeTime = time.Hour
				})
				d2, _ := bluegreen.New(other)
				_, err = d2.Start(t.Context(), "web", rev("web:3"))
				var ip *bluegreen.InProgressError
				if !errors.As(err, &ip) || ip.Holder != "test-owner" || ip.DeploymentID != "d1" {
					t.Fatalf("Start during the lease: %v, want an InProgressError naming test-owner and d1", err)
				}
				time.Sleep(time.Minute) // the lease lapses
				start := time.Now()
				rec, err := d2.Reconcile(t.Context(), "web")
				if wantErr := tt.live == "web:1"; errors.Is(err, bluegreen.ErrRolledBack) != wantErr || (!wantErr && err != nil) {
					t.Fatalf("Reconcile: %v, want rolled back: %v", err, wantErr)
				}
				if rec.DeploymentID != "d1" || rec.Live == nil || rec.Live.Revision.Name != tt.live {
					t.Errorf("reconciled %+v, want %s live", rec, tt.live)
				}
				if took := time.Since(start); took != tt.took {
					t.Errorf("Reconcile took %v, want %v", took, tt.took)
				}
				checkInvariants(t, w, "web", nil, 0)
			})
		})
	}
}

func TestStartSettlesUnfinishedDeployment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
			c.Shift, c.OnCancel, c.LeaseTTL = bluegreen.Linear(50, time.Minute), bluegreen.CancelDetach, 30*time.Second
		}))
		ctx, cancel := context.WithCancel(t.Context())
		dep, _ := d.Start(ctx, "web", rev("web:2"))
		time.Sleep(10 * time.Second)
		cancel()
		dep.Wait(t.Context())
		time.Sleep(time.Minute)
		d3, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.Owner = "other"; c.NewID = func() string { return "d3" } }))
		dep3, err := d3.Start(t.Context(), "web", rev("web:3"))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep3)
		got := summary(evs)
		diffLines(t, []string{
			"STAGE_STARTED RECONCILE_SERVICE",
			"ROLLBACK_STARTED RECONCILE_SERVICE RECONCILE d1",
			"TRAFFIC_SHIFTED RECONCILE_SERVICE A=100% B=0% test=A (rollback) @0s",
			"TRAFFIC_VERIFIED RECONCILE_SERVICE A=100% B=0% test=A (rollback)",
			"ROLLBACK_FINISHED RECONCILE_SERVICE",
			"RECONCILED RECONCILE_SERVICE rolled back deployment d1, left at PRODUCTION_TRAFFIC_SHIFT",
			"STAGE_FINISHED RECONCILE_SERVICE",
		}, got[:7])
		if _, err := dep3.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, w, "web", evs, 0)
		if live := w.compute.Running("web"); len(live) != 1 || live[0].Revision.Name != "web:3" {
			t.Errorf("running %v, want web:3 alone", live)
		}
	})
}

func TestOneDeploymentPerService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.BakeTime = time.Hour }))
		dep, err := d.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Start(t.Context(), "web", rev("web:3"))
		if !errors.Is(err, bluegreen.ErrInProgress) {
			t.Errorf("second Start in one process: %v, want ErrInProgress", err)
		}
		other, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.Owner = "host-2" }))
		_, err = other.Start(t.Context(), "web", rev("web:3"))
		var ip *bluegreen.InProgressError
		if !errors.As(err, &ip) || ip.Holder != "test-owner" {
			t.Errorf("Start from another owner: %v, want an InProgressError naming test-owner", err)
		}
		// Another service deploys at the same time.
		w.deployFirst(t, "api")
		if _, err := other.Deploy(t.Context(), "api", rev("api:2")); err != nil {
			t.Errorf("deploying another service: %v", err)
		}
		// The long deployment renews its lease all along and finishes.
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, w, "web", events(t, dep), time.Hour)
	})
}

func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(nil)
	okHook := bluegreentest.NewHook()
	tests := []struct {
		name  string
		mod   func(*bluegreen.Config)
		field string
	}{
		{"no compute", func(c *bluegreen.Config) { c.Compute = nil }, "Config.Compute"},
		{"no router", func(c *bluegreen.Config) { c.Router = nil }, "Config.Router"},
		{"no store", func(c *bluegreen.Config) { c.Store = nil }, "Config.Store"},
		{"linear step 0", func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(0, time.Minute) }, "Config.Shift.Percent"},
		{"linear step over 100", func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(120, time.Minute) }, "Config.Shift.Percent"},
		{"linear step too small", func(c *bluegreen.Config) { c.Shift = bluegreen.Linear(0.5, time.Minute) }, "Config.Shift.Percent"},
		{"canary negative wait", func(c *bluegreen.Config) { c.Shift = bluegreen.Canary(5, -time.Minute) }, "Config.Shift.Wait"},
		{"steps never reach 100", func(c *bluegreen.Config) {
			c.Shift = bluegreen.Steps(bluegreen.Step{Green: 100, Wait: time.Minute}, bluegreen.Step{Green: 900})
		}, "Config.Shift.Schedule"},
		{"steps going down", func(c *bluegreen.Config) {
			c.Shift = bluegreen.Steps(bluegreen.Step{Green: 500}, bluegreen.Step{Green: 100}, bluegreen.Step{Green: 1000})
		}, "Config.Shift.Schedule[1].Green"},
		{"steps over 100", func(c *bluegreen.Config) { c.Shift = bluegreen.Steps(bluegreen.Step{Green: 1001}) }, "Config.Shift.Schedule[0].Green"},
		{"unknown strategy", func(c *bluegreen.Config) { c.Shift = bluegreen.Shift{Type: "BLUE_ONLY"} }, "Config.Shift.Type"},
		{"negative bake", func(c *bluegreen.Config) { c.BakeTime = -time.Second }, "Config.BakeTime"},
		{"hook on SCALE_UP", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: okHook, Stages: []bluegreen.Stage{bluegreen.StageScaleUp}}}
		}, "Config.Hooks[0].Stages[0]"},
		{"pause on PRODUCTION_TRAFFIC_SHIFT", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "p", Pause: true, Stages: []bluegreen.Stage{bluegreen.StageProductionTrafficShift}}}
		}, "Config.Hooks[0].Stages[0]"},
		{"hook without a name", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Hook: okHook, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}}}
		}, "Config.Hooks[0].Name"},
		{"two hooks with one name", func(c *bluegreen.Config) {
			h := bluegreen.LifecycleHook{Name: "h", Hook: okHook, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}}
			c.Hooks = []bluegreen.LifecycleHook{h, h}
		}, "Config.Hooks[1].Name"},
		{"hook with unknown stage", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: okHook, Stages: []bluegreen.Stage{42}}}
		}, "Config.Hooks[0].Stages[0]"},
		{"hook with negative timeout", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: okHook, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}, Timeout: -1}}
		}, "Config.Hooks[0].Timeout"},
		{"hook with bad details", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: okHook, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}, Details: []byte("{")}}
		}, "Config.Hooks[0].Details"},
		{"hook with unknown timeout action", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: okHook, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}, TimeoutAction: "RETRY"}}
		}, "Config.Hooks[0].TimeoutAction"},
		{"nil monitor", func(c *bluegreen.Config) { c.Monitors = []bluegreen.Monitor{nil} }, "Config.Monitors[0]"},
		{"negative retries", func(c *bluegreen.Config) { c.Retry.Attempts = -1 }, "Config.Retry.Attempts"},
		// Durations below their least useful value are typos: LeaseTTL: 1
		// is a nanosecond, which would save the record without pause.
		{"lease TTL of 1ns", func(c *bluegreen.Config) { c.LeaseTTL = 1 }, "Config.LeaseTTL"},
		{"lease TTL of 10ms", func(c *bluegreen.Config) { c.LeaseTTL = 10 * time.Millisecond }, "Config.LeaseTTL"},
		{"monitor interval of 1µs", func(c *bluegreen.Config) { c.MonitorInterval = time.Microsecond }, "Config.MonitorInterval"},
		{"health interval of 1ns", func(c *bluegreen.Config) { c.HealthInterval = 1 }, "Config.HealthInterval"},
		{"verify interval of 1ns", func(c *bluegreen.Config) { c.VerifyInterval = 1 }, "Config.VerifyInterval"},
		{"retry backoff of 1ns", func(c *bluegreen.Config) { c.Retry.Initial = 1 }, "Config.Retry.Initial"},
		{"retry max below initial", func(c *bluegreen.Config) { c.Retry.Initial, c.Retry.Max = time.Second, 10*time.Millisecond }, "Config.Retry.Max"},
		{"negative inconclusive timeout", func(c *bluegreen.Config) { c.InconclusiveTimeout = -1 }, "Config.InconclusiveTimeout"},
		{"unknown inconclusive action", func(c *bluegreen.Config) { c.OnInconclusive = 9 }, "Config.OnInconclusive"},
		{"unknown reconcile policy", func(c *bluegreen.Config) { c.Reconcile = 9 }, "Config.Reconcile"},
		{"hook with neither Hook nor Pause", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}}}
		}, "Config.Hooks[0].Hook"},
		{"hook with both Hook and Pause", func(c *bluegreen.Config) {
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: okHook, Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}}}
		}, "Config.Hooks[0].Pause"},
		{"monitor without a name", func(c *bluegreen.Config) {
			c.Monitors = []bluegreen.Monitor{bluegreentest.NewNamedMonitor(" ")}
		}, "Config.Monitors[0]"},
		{"two monitors with one name", func(c *bluegreen.Config) {
			c.Monitors = []bluegreen.Monitor{bluegreentest.NewNamedMonitor("m"), bluegreentest.NewNamedMonitor("m")}
		}, "Config.Monitors[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bluegreen.New(w.config(tt.mod))
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, bluegreen.ErrInvalid) {
				t.Fatalf("New: %v, want a *ConfigError", err)
			}
			if ce.Field != tt.field || ce.Fix == "" {
				t.Errorf("error names field %q with fix %q, want field %q and a fix", ce.Field, ce.Fix, tt.field)
			}
			// Wrapped as the Deployer wraps backend errors, it still says
			// "bluegreen" and "invalid" once.
			wrapped := &bluegreen.Error{Code: bluegreen.CodeInvalid, Service: "web", Op: "Compute.ScaleUp", Err: err}
			for _, msg := range []string{err.Error(), wrapped.Error()} {
				if strings.Count(msg, "bluegreen: ") != 1 || strings.Count(msg, "invalid") != 1 {
					t.Errorf("message stutters: %q", msg)
				}
			}
		})
	}
	d, err := bluegreen.New(w.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	starts := []struct {
		name    string
		service string
		rev     bluegreen.Revision
		field   string
	}{
		{"empty service", "", rev("web:1"), "service"},
		{"service with a slash", "../etc", rev("web:1"), "service"},
		{"revision without a name", "web", bluegreen.Revision{}, "Revision.Name"},
		{"revision name not UTF-8", "web", bluegreen.Revision{Name: "web:\xa6"}, "Revision.Name"},
		{"revision spec not JSON", "web", bluegreen.Revision{Name: "web:1", Spec: []byte("{oops")}, "Revision.Spec"},
	}
	for _, tt := range starts {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Start(t.Context(), tt.service, tt.rev)
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Errorf("Start: %v, want a *ConfigError for %s", err, tt.field)
			}
		})
	}
	if n := len(w.compute.Calls()) + len(w.router.Calls()) + len(w.store.Calls()); n != 0 {
		t.Errorf("bad input reached the backends: %d calls", n)
	}
}

func TestVerifyBarrier(t *testing.T) {
	t.Run("waits for the router", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(nil)
			w.router = bluegreentest.NewRouter(bluegreentest.RouterOptions{VerifyLag: 3})
			evs, _, err := deployWith(t, w, func(c *bluegreen.Config) { c.Shift = bluegreen.AllAtOnce() }, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Each change is verified after 3 refusals, 1s apart, before the stage ends.
			shifted := timeOf(evs, bluegreen.StageProductionTrafficShift, bluegreen.EventTrafficShifted)
			verified := timeOf(evs, bluegreen.StageProductionTrafficShift, bluegreen.EventTrafficVerified)
			if got := verified.Sub(shifted); got != 3*time.Second {
				t.Errorf("verified %v after the shift, want 3s", got)
			}
		})
	})
	t.Run("never in force rolls back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(nil)
			w.deployFirst(t, "web")
			d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
				c.Router, c.VerifyTimeout = staleRouter{w.router}, time.Minute
			}))
			dep, _ := d.Start(t.Context(), "web", rev("web:2"))
			evs := events(t, dep)
			_, err := dep.Wait(t.Context())
			var rb *bluegreen.RollbackError
			if !errors.As(err, &rb) || rb.Info.Trigger != bluegreen.TriggerTraffic || rb.Info.Stage != bluegreen.StageProductionTrafficShift {
				t.Fatalf("err %v, want a traffic rollback in the production shift", err)
			}
			// Polled every second (VerifyInterval) until the 1m VerifyTimeout.
			var shifted time.Time
			for _, ev := range evs {
				if ev.Kind == bluegreen.EventTrafficShifted && !ev.DuringRollback && ev.Routes.Production.B == bluegreen.Full {
					shifted = ev.Time
				}
			}
			rolled := timeOf(evs, bluegreen.StageProductionTrafficShift, bluegreen.EventRollbackStarted)
			if got := rolled.Sub(shifted); got != time.Minute {
				t.Errorf("rolled back %v after the shift, want the 1m VerifyTimeout", got)
			}
			checkInvariants(t, w, "web", evs, 0)
		})
	})
}

// staleRouter is a router whose data plane never takes up a shift that
// gives green all production traffic: Verify keeps answering false.
type staleRouter struct{ *bluegreentest.Router }

func (r staleRouter) Verify(ctx context.Context, service string, want bluegreen.Routes) (bool, error) {
	if want.Production.B == bluegreen.Full {
		return false, nil
	}
	return r.Router.Verify(ctx, service, want)
}

func TestTransientErrorsAreRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		throttled := bluegreen.NewError(bluegreen.CodeThrottled, errors.New("rate exceeded"))
		w.compute.Inject("ScaleUp", throttled, 2)
		w.router.Inject("SetRoutes", bluegreen.NewError(bluegreen.CodeTransient, errors.New("503")), 1)
		w.store.Inject("Save", throttled, 1)
		d, _ := bluegreen.New(w.config(nil))
		dep, _ := d.Start(t.Context(), "web", rev("web:2"))
		evs := events(t, dep)
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := len(only(summary(evs), "RETRIED")); n != 4 {
			t.Errorf("%d retries, want 4", n)
		}
		checkInvariants(t, w, "web", evs, 0)
	})
}

func TestBackendErrorsAreWrappedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		denied := bluegreen.NewError(bluegreen.CodePermission, errors.New("not authorized to perform ecs:CreateTaskSet"))
		w.compute.Inject("ScaleUp", denied, 1)
		d, _ := bluegreen.New(w.config(nil))
		res, err := d.Deploy(t.Context(), "web", rev("web:2"))
		if !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("err %v", err)
		}
		want := "bluegreen: service web: SCALE_UP: Compute.ScaleUp: permission denied: not authorized to perform ecs:CreateTaskSet"
		if res.Rollback.Reason != want {
			t.Errorf("reason\n%q, want\n%q", res.Rollback.Reason, want)
		}
	})
}

func TestLostLeaseStopsWithoutTouchingTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.BakeTime = time.Hour }))
		dep, _ := d.Start(t.Context(), "web", rev("web:2"))
		time.Sleep(90 * time.Second) // between two lease renewals (every 20s)
		synctest.Wait()
		// Someone else writes the record behind the deployment's back.
		rec, _ := w.store.Inner().Load(context.Background(), "web")
		rec.Lease.Owner = "intruder"
		if _, err := w.store.Inner().Save(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		before := w.router.Current("web")
		res, err := dep.Wait(t.Context())
		if !errors.Is(err, bluegreen.ErrConflict) || res.Outcome != bluegreen.OutcomeFailed {
			t.Fatalf("%v %v, want a failed deployment with ErrConflict", res.Outcome, err)
		}
		if got := w.router.Current("web"); got != before {
			t.Errorf("routes changed from %v to %v after the lease was lost", before, got)
		}
	})
}

func TestMonitorErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		mon := bluegreentest.NewMonitor()
		mon.Inject("Check", errors.New("alarm service down"), 0)
		_, res, err := deployWith(t, w, func(c *bluegreen.Config) {
			c.Monitors, c.BakeTime = []bluegreen.Monitor{mon}, time.Hour
		}, nil)
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback.Trigger != bluegreen.TriggerMonitor || res.Rollback.Stage != bluegreen.StageBakeTime {
			t.Fatalf("err %v rollback %+v: want a monitor rollback in bake time", err, res.Rollback)
		}
		if n := mon.Count("Check"); n != 3 {
			t.Errorf("%d checks, want 3 (MonitorErrorLimit)", n)
		}
	})
}

func TestIteratorAndCallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		var stages, hooks, traffic, rollbacks, all []int
		d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
			c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), time.Minute
			c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostScaleUp}}}
			c.Callbacks = bluegreen.Callbacks{
				OnStage:    func(ev bluegreen.Event) { stages = append(stages, ev.Seq) },
				OnHook:     func(ev bluegreen.Event) { hooks = append(hooks, ev.Seq) },
				OnTraffic:  func(ev bluegreen.Event) { traffic = append(traffic, ev.Seq) },
				OnRollback: func(ev bluegreen.Event) { rollbacks = append(rollbacks, ev.Seq) },
				OnEvent:    func(ev bluegreen.Event) { all = append(all, ev.Seq) },
			}
		}))
		dep, _ := d.Start(t.Context(), "web", rev("web:2"))
		// A watcher that stops early stops only its own watching.
		n := 0
		for range dep.Events(t.Context()) {
			if n++; n == 3 {
				break
			}
		}
		live := events(t, dep)
		replay := events(t, dep) // after the end: the same events again
		if diff := cmp.Diff(live, replay); diff != "" {
			t.Errorf("replay differs (-live +replay):\n%s", diff)
		}
		for i, ev := range live {
			if ev.Seq != i+1 || ev.DeploymentID != "d1" {
				t.Fatalf("event %d: seq %d deployment %q", i, ev.Seq, ev.DeploymentID)
			}
		}
		if len(all) != len(live) || live[len(live)-1].Kind != bluegreen.EventDone {
			t.Errorf("OnEvent saw %d events, the log has %d ending with %s", len(all), len(live), live[len(live)-1].Kind)
		}
		kinds := func(seqs []int) map[bluegreen.EventKind]bool {
			m := map[bluegreen.EventKind]bool{}
			for _, s := range seqs {
				m[live[s-1].Kind] = true
			}
			return m
		}
		for name, tc := range map[string]struct {
			seqs []int
			want []bluegreen.EventKind
		}{
			"OnStage":    {stages, []bluegreen.EventKind{bluegreen.EventStageStarted, bluegreen.EventStageFinished}},
			"OnHook":     {hooks, []bluegreen.EventKind{bluegreen.EventHookCalled, bluegreen.EventHookAnswered}},
			"OnTraffic":  {traffic, []bluegreen.EventKind{bluegreen.EventTrafficShifted, bluegreen.EventTrafficVerified}},
			"OnRollback": {rollbacks, nil},
		} {
			got := kinds(tc.seqs)
			want := map[bluegreen.EventKind]bool{}
			for _, k := range tc.want {
				want[k] = true
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s saw kinds (-want +got):\n%s", name, diff)
			}
		}
		// A watcher whose context ends gets the error once.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		d2, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.BakeTime = time.Hour; c.NewID = func() string { return "d2" } }))
		dep2, _ := d2.Start(t.Context(), "web", rev("web:3"))
		var gotErr error
		for _, err := range dep2.Events(ctx) {
			if err != nil {
				gotErr = err
			}
		}
		if !errors.Is(gotErr, context.Canceled) {
			t.Errorf("iterator error %v, want context.Canceled", gotErr)
		}
		if _, err := dep2.Wait(t.Context()); err != nil {
			t.Errorf("the deployment must go on when a watcher stops: %v", err)
		}
	})
}

func TestPlan(t *testing.T) {
	w := newWorld(nil)
	d, err := bluegreen.New(w.config(func(c *bluegreen.Config) {
		c.Shift, c.BakeTime = bluegreen.Canary(10, 5*time.Minute), 15*time.Minute
		c.Hooks = []bluegreen.LifecycleHook{
			{Name: "smoke", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift, bluegreen.StageProductionTrafficShift}},
			{Name: "approve", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}},
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := `      0s  STAGE   RECONCILE_SERVICE               
      0s  STAGE   PRE_SCALE_UP                    
      0s  STAGE   SCALE_UP                        
      0s  STAGE   POST_SCALE_UP                   
      0s  STAGE   TEST_TRAFFIC_SHIFT              
      0s  TRAFFIC TEST_TRAFFIC_SHIFT               A=100% B=0% test=B
      0s  STAGE   POST_TEST_TRAFFIC_SHIFT         
      0s  HOOK    POST_TEST_TRAFFIC_SHIFT          smoke
      0s  PAUSE   POST_TEST_TRAFFIC_SHIFT          approve (waits for Continue or Rollback, up to 1h0m0s (then ROLLBACK))
      0s  STAGE   PRE_PRODUCTION_TRAFFIC_SHIFT#1  
      0s  STAGE   PRODUCTION_TRAFFIC_SHIFT#1      
      0s  TRAFFIC PRODUCTION_TRAFFIC_SHIFT#1       A=90% B=10% test=B
      0s  HOOK    PRODUCTION_TRAFFIC_SHIFT#1       smoke
      0s  WAIT    PRODUCTION_TRAFFIC_SHIFT#1       5m0s, monitors watched
    5m0s  STAGE   PRE_PRODUCTION_TRAFFIC_SHIFT#2  
    5m0s  STAGE   PRODUCTION_TRAFFIC_SHIFT#2      
    5m0s  TRAFFIC PRODUCTION_TRAFFIC_SHIFT#2       A=0% B=100% test=B
    5m0s  HOOK    PRODUCTION_TRAFFIC_SHIFT#2       smoke
    5m0s  STAGE   POST_PRODUCTION_TRAFFIC_SHIFT   
    5m0s  STAGE   BAKE_TIME                       
    5m0s  WAIT    BAKE_TIME                        15m0s, monitors watched
   20m0s  STAGE   CLEAN_UP                        
   20m0s  done at the earliest
`
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(d.Plan(bluegreen.PlanOptions{}).String(), "\n")); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	first := d.Plan(bluegreen.PlanOptions{FirstDeployment: true})
	if first.Duration != 0 || !strings.Contains(first.String(), "SKIP    BAKE_TIME") {
		t.Errorf("first deployment plan:\n%s", first)
	}
	if len(w.compute.Calls())+len(w.router.Calls())+len(w.store.Calls()) != 0 {
		t.Error("Plan touched a backend")
	}
}

// TestReconcileLooksAtTheBackends: the side RECONCILE_SERVICE would keep must
// be healthy now, or it keeps the other; with neither, it refuses.
func TestReconcileLooksAtTheBackends(t *testing.T) {
	tests := []struct {
		name     string
		detachAt time.Duration // the shift ends at 1m, the bake at 61m
		kill     []bluegreen.Slot
		live     string // "" when Reconcile must refuse
	}{
		{"mid-shift, blue died: completed", 30 * time.Second, []bluegreen.Slot{bluegreen.SlotA}, "web:2"},
		{"during bake, green died: rolled back", 10 * time.Minute, []bluegreen.Slot{bluegreen.SlotB}, "web:1"},
		{"mid-shift, both alive: resumed", 30 * time.Second, nil, "web:2"},
		{"both died: refused", 10 * time.Minute, []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				w.deployFirst(t, "web")
				d, _ := bluegreen.New(w.config(func(c *bluegreen.Config) {
					c.Shift, c.BakeTime, c.OnCancel = bluegreen.Linear(50, time.Minute), time.Hour, bluegreen.CancelDetach
				}))
				ctx, cancel := context.WithCancel(t.Context())
				dep, _ := d.Start(ctx, "web", rev("web:2"))
				time.Sleep(tt.detachAt)
				cancel()
				dep.Wait(t.Context())
				for _, s := range tt.kill {
					w.compute.Crash("web", s, "host rebooted")
				}
				before := w.router.Current("web")
				time.Sleep(2 * time.Minute)
				other, _ := bluegreen.New(w.config(func(c *bluegreen.Config) { c.Owner = "successor" }))
				res, err := other.Reconcile(t.Context(), "web")
				if tt.live == "" {
					if !errors.Is(err, bluegreen.ErrFailedPrecondition) {
						t.Fatalf("Reconcile with nothing healthy: %v, want ErrFailedPrecondition", err)
					}
					if got := w.router.Current("web"); got != before {
						t.Errorf("a refused reconcile changed routes from %v to %v", before, got)
					}
					if st := state(t, w, "web"); st.LeaseOwner != "" || st.Deployment.Finished {
						t.Errorf("after a refused reconcile: lease %q, state %+v; want released and unfinished", st.LeaseOwner, st.Deployment)
					}
					return
				}
				if err != nil && !errors.Is(err, bluegreen.ErrRolledBack) {
					t.Fatal(err)
				}
				if res.Live == nil || res.Live.Revision.Name != tt.live {
					t.Errorf("live %v, want %s", res.Live, tt.live)
				}
				cur := w.router.Current("web")
				if cur.Production.Of(res.Live.Slot) != bluegreen.Full || cur.Test != res.Live.Slot {
					t.Errorf("routes %v, want everything on %s", cur, res.Live.Slot)
				}
			})
		})
	}
}
