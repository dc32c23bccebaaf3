package bluegreentest_test

import (
	"context"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// The fakes must pass the suites every real backend runs: that is what
// makes them stand-ins a Deployer test can trust.

func TestComputeConformance(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failing bluegreentest.Health
	}{
		{"FailingReportsFailed", bluegreentest.Health{StatusCalls: 1, Fail: "exit status 1"}},
		{"FailingStaysUnhealthy", bluegreentest.Health{Never: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
				c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{
					Health: bluegreentest.HealthByRevision(map[string]bluegreentest.Health{
						"web:2": {StatusCalls: 2}, // makes the suite poll
						"web:3": tc.failing,
					}),
				})
				return bluegreentest.ComputeHarness{
					Compute:         c,
					Service:         "web",
					Revision:        func() bluegreen.Revision { return bluegreen.Revision{Name: "web:2"} },
					FailingRevision: func() bluegreen.Revision { return bluegreen.Revision{Name: "web:3"} },
					HealthTimeout:   5 * time.Second,
					FailingWait:     20 * time.Millisecond,
					PollInterval:    time.Millisecond,
				}
			})
		})
	}
}

func TestComputeWithoutPreparerConformance(t *testing.T) {
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{Instances: 1}).WithoutPreparer()
		if _, ok := c.(bluegreen.Preparer); ok {
			t.Fatal("WithoutPreparer returned a bluegreen.Preparer")
		}
		return bluegreentest.ComputeHarness{
			Compute:      c,
			Service:      "api",
			Revision:     func() bluegreen.Revision { return bluegreen.Revision{Name: "api:1"} },
			PollInterval: time.Millisecond,
		}
	})
}

func TestRouterConformance(t *testing.T) {
	initial := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}
	for _, tc := range []struct {
		name string
		opts bluegreentest.RouterOptions
		want bluegreen.Routes
	}{
		{"Empty", bluegreentest.RouterOptions{}, bluegreen.Routes{}},
		{"InitialAndLag", bluegreentest.RouterOptions{VerifyLag: 2, Initial: map[string]bluegreen.Routes{"web": initial, "api": initial}}, initial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
				return bluegreentest.RouterHarness{
					Router:       bluegreentest.NewRouter(tc.opts),
					Services:     []string{"web", "api"},
					Initial:      tc.want,
					PollInterval: time.Millisecond,
				}
			})
		})
	}
}

func TestStoreConformance(t *testing.T) {
	t.Run("MemoryStore", func(t *testing.T) {
		bluegreentest.TestStore(t, func(*testing.T) bluegreen.Store { return bluegreen.NewMemoryStore() })
	})
	t.Run("Store", func(t *testing.T) {
		bluegreentest.TestStore(t, func(*testing.T) bluegreen.Store { return bluegreentest.NewStore(nil) })
	})
}

func TestHookConformance(t *testing.T) {
	bluegreentest.TestHook(t, func(_ *testing.T, answer bluegreen.HookFunc) bluegreen.Hook {
		return bluegreentest.NewHookFunc(answer)
	})
}

func TestMonitorConformance(t *testing.T) {
	bluegreentest.TestMonitor(t, func(*testing.T) bluegreentest.MonitorHarness {
		m := bluegreentest.NewMonitor()
		return bluegreentest.MonitorHarness{
			Monitor: m,
			Alarm:   "green-5xx-rate",
			SetAlarm: func(_ context.Context, firing bool) error {
				if firing {
					m.Fire("green-5xx-rate", "5xx rate 7% over 5%")
				} else {
					m.Clear("green-5xx-rate")
				}
				return nil
			},
			PollInterval: time.Millisecond,
		}
	})
}

// TestBrownfieldConformance runs the brownfield suite over the fakes: an
// environment started by the test (not a Deployer), under a deployment id
// no store knows, with the router already sending it everything.
func TestBrownfieldConformance(t *testing.T) {
	bluegreentest.TestBrownfield(t, func(t *testing.T) bluegreentest.BrownfieldHarness {
		c := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
		r := bluegreentest.NewRouter(bluegreentest.RouterOptions{VerifyLag: 1})
		return bluegreentest.BrownfieldHarness{
			Compute: c, Router: r, Service: "web",
			Live: func(ctx context.Context) (bluegreen.Environment, error) {
				env := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:7"}, DeploymentID: "legacy"}
				if err := c.ScaleUp(ctx, env); err != nil {
					return env, err
				}
				return env, r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB})
			},
			Revision: func() bluegreen.Revision { return bluegreen.Revision{Name: "web:8"} },
			Configure: func(c *bluegreen.Config) {
				c.HealthInterval, c.VerifyInterval = 10*time.Millisecond, 10*time.Millisecond
			},
		}
	})
}
