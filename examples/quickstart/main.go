// Command quickstart runs three blue/green deployments of a service over the
// in-memory fakes of package bluegreentest, in virtual time, and prints each
// stage, hook call and traffic step as it passes: a first deployment, a
// linear deployment with a test hook and a bake time, and a canary that a
// monitor rolls back. Real backends replace the fakes without other changes.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	clock := newVirtualClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	compute := bluegreentest.NewCompute(bluegreentest.ComputeOptions{Now: clock.Now})
	router := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
	store := bluegreen.NewMemoryStore()
	monitor := bluegreentest.NewMonitor()

	// An integration-test hook that needs two calls: IN_PROGRESS, then SUCCEEDED.
	tests := bluegreentest.NewHook(
		bluegreentest.InProgress(45*time.Second, json.RawMessage(`{"suite":"checkout","passed":12}`)),
		bluegreentest.Succeed())

	var start time.Time
	print := func(ev bluegreen.Event) {
		if ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageReconcileService {
			start = ev.Time
		}
		at := ev.Time.Sub(start).Round(time.Second)
		stage := ev.Stage.String()
		if ev.Step > 0 {
			stage += fmt.Sprintf("#%d", ev.Step)
		}
		line := ""
		switch ev.Kind {
		case bluegreen.EventStageStarted:
			line = "stage started"
		case bluegreen.EventStageSkipped:
			line = "stage skipped: " + ev.Reason
		case bluegreen.EventHookCalled:
			line = fmt.Sprintf("hook %s called (try %d)", ev.Hook, ev.Attempt)
		case bluegreen.EventHookAnswered:
			line = fmt.Sprintf("hook %s answered %s%s", ev.Hook, ev.HookStatus, ev.Reason)
		case bluegreen.EventTrafficVerified:
			line = "traffic " + bar(ev.Routes.Production) + " " + ev.Routes.String()
		case bluegreen.EventMonitorFired:
			line = fmt.Sprintf("monitor fired: %s (%s)", ev.Alarms[0].Name, ev.Alarms[0].Reason)
		case bluegreen.EventRollbackStarted:
			line = "ROLLBACK: " + ev.Reason
		case bluegreen.EventRollbackFinished:
			line = "rollback finished: all traffic on blue, green removed"
		case bluegreen.EventDone:
			line = "done: " + string(ev.Outcome)
		default:
			return
		}
		fmt.Fprintf(out, "  +%-7s %-32s %s\n", at, stage, line)
	}

	deploy := func(title string, rev string, cfg bluegreen.Config) error {
		fmt.Fprintf(out, "\n%s\n", title)
		cfg.Compute, cfg.Router, cfg.Store, cfg.Clock = compute, router, store, clock
		cfg.Callbacks.OnEvent = print
		d, err := bluegreen.New(cfg)
		if err != nil {
			return err
		}
		res, err := d.Deploy(ctx, "web", bluegreen.Revision{Name: rev})
		var rb *bluegreen.RollbackError
		switch {
		case errors.As(err, &rb):
			fmt.Fprintf(out, "  => %s rolled back (%s); %s is live\n", rev, rb.Info.Trigger, res.Live.Revision.Name)
		case err != nil:
			return err
		default:
			fmt.Fprintf(out, "  => %s is live in slot %s after %v\n", rev, res.Live.Slot, res.Finished.Sub(res.Started).Round(time.Second))
		}
		return nil
	}

	if err := deploy("1. First deployment of web:1 (no blue yet)", "web:1", bluegreen.Config{}); err != nil {
		return err
	}
	if err := deploy("2. web:2: test hook, linear 25% every 2m, 10m bake", "web:2", bluegreen.Config{
		Shift: bluegreen.Linear(25, 2*time.Minute), BakeTime: 10 * time.Minute,
		Hooks: []bluegreen.LifecycleHook{{Name: "integration-tests", Hook: tests, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
	}); err != nil {
		return err
	}
	// The bad release: its error rate alarm fires a minute into the canary.
	monitor.SetFunc(func(in bluegreen.MonitorInput) []bluegreen.Alarm {
		if in.Green.Revision.Name == "web:3" && clock.Now().Sub(start) >= 50*time.Second {
			return []bluegreen.Alarm{{Name: "web-5xx-rate", Reason: "green 5xx rate 7.5% > 1% over 400 requests"}}
		}
		return nil
	})
	return deploy("3. web:3: canary 10% for 5m, watched by an error-rate monitor", "web:3", bluegreen.Config{
		Shift: bluegreen.Canary(10, 5*time.Minute), BakeTime: 10 * time.Minute,
		Monitors: []bluegreen.Monitor{monitor}, MonitorInterval: 30 * time.Second,
	})
}

// bar draws production weights as a 20-character bar: '#' for slot A, '=' for slot B.
func bar(w bluegreen.Weights) string {
	a := int(w.A) * 20 / int(bluegreen.Full)
	b := make([]byte, 20)
	for i := range b {
		b[i] = '='
		if i < a {
			b[i] = '#'
		}
	}
	if w.Empty() {
		return "A [       (none)       ] B"
	}
	return "A [" + string(b) + "] B"
}

// virtualClock is a bluegreen.Clock that runs a thousand times faster than
// real time: a 17-minute deployment takes a second, with its timing intact.
// (Tests use testing/synctest instead, where time is virtual and exact.)
type virtualClock struct {
	base  time.Time
	start time.Time
}

const speedup = 1000

func newVirtualClock(t time.Time) *virtualClock { return &virtualClock{base: t, start: time.Now()} }

func (c *virtualClock) Now() time.Time { return c.base.Add(time.Since(c.start) * speedup) }

func (c *virtualClock) After(d time.Duration) <-chan time.Time {
	real := time.After(d / speedup)
	out := make(chan time.Time, 1)
	go func() { <-real; out <- c.Now() }()
	return out
}
