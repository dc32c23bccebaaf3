//go:build unix

package local

import (
	"context"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

func TestComputeConformance(t *testing.T) {
	bluegreentest.TestCompute(t, func(t *testing.T) bluegreentest.ComputeHarness {
		c := newCompute(t, Options{})
		return bluegreentest.ComputeHarness{
			Compute: c,
			Service: "web",
			Revision: func() bluegreen.Revision {
				return revision(t, "web:1", appSpec(nil))
			},
			// The app told to exit at once, with status 1.
			FailingRevision: func() bluegreen.Revision {
				return revision(t, "web:bad", appSpec(map[string]string{"CRASH_AFTER": "0s"}))
			},
			HealthTimeout: 20 * time.Second,
			PollInterval:  20 * time.Millisecond,
		}
	})
}

// TestBrownfieldConformance runs the brownfield suite on what a previous
// detached Compute (the user's own tooling, or a deploy command that died)
// left running in the state directory: a Deployer with a fresh Compute and
// an empty store adopts it, rolls back to it, or replaces it.
func TestBrownfieldConformance(t *testing.T) {
	bluegreentest.TestBrownfield(t, func(t *testing.T) bluegreentest.BrownfieldHarness {
		stateDir := t.TempDir()
		r := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
		return bluegreentest.BrownfieldHarness{
			Compute: newCompute(t, Options{StateDir: stateDir}),
			Router:  r,
			Service: "web",
			Live: func(ctx context.Context) (bluegreen.Environment, error) {
				previous := newCompute(t, Options{StateDir: stateDir})
				env := appEnv(t, bluegreen.SlotB, "by-hand", nil)
				if err := previous.ScaleUp(ctx, env); err != nil {
					return env, err
				}
				waitStatus(t, previous, env, "ready", ready)
				if err := previous.Close(); err != nil { // detached: leaves it running
					return env, err
				}
				return env, r.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB})
			},
			Revision: func() bluegreen.Revision { return revision(t, "web:2", appSpec(nil)) },
			Configure: func(c *bluegreen.Config) {
				c.HealthInterval, c.VerifyInterval = 20*time.Millisecond, 10*time.Millisecond
			},
			Timeout: 30 * time.Second,
		}
	})
}
