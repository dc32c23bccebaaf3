package bluegreentest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// MonitorHarness is what TestMonitor needs of a monitor, built fresh for
// every subtest.
type MonitorHarness struct {
	// Monitor is the monitor under test.
	Monitor bluegreen.Monitor
	// Alarm is the name of the alarm SetAlarm controls, as Check reports it.
	Alarm string
	// SetAlarm sets the alarm firing (true) or back to OK (false). The
	// monitor starts with nothing firing.
	SetAlarm func(ctx context.Context, firing bool) error
	// Input is what Check is called with; a sample deployment's if zero.
	Input bluegreen.MonitorInput
	// Timeout bounds the wait for Check to reflect SetAlarm (a monitor
	// may read a metric over a window); 30s if zero.
	Timeout time.Duration
	// PollInterval is the time between Check calls while waiting; 50ms if zero.
	PollInterval time.Duration
}

// TestMonitor runs the conformance tests of bluegreen.Monitor against the
// monitor newHarness builds; it calls newHarness once per subtest. The
// contract:
//
//   - With nothing firing, Check returns no alarm and no error.
//   - Once the alarm fires, Check (eventually) returns an alarm with its name.
//   - Once it is back to OK, Check (eventually) returns no alarm again.
func TestMonitor(t *testing.T, newHarness func(t *testing.T) MonitorHarness) {
	t.Helper()
	t.Run("FireAndClear", func(t *testing.T) {
		h := newHarness(t)
		in := h.Input
		if in.DeploymentID == "" {
			in = sampleMonitorInput()
		}
		ctx := t.Context()
		waitAlarm := func(firing bool) {
			t.Helper()
			var alarms []bluegreen.Alarm
			err := poll(ctx, h.Timeout, h.PollInterval, func(ctx context.Context) (bool, error) {
				var err error
				alarms, err = h.Monitor.Check(ctx, in)
				named := slices.ContainsFunc(alarms, func(a bluegreen.Alarm) bool { return a.Name == h.Alarm })
				if firing {
					return named, err
				}
				return len(alarms) == 0, err
			})
			if err != nil {
				t.Fatalf("alarm %q firing=%v: Check = %+v: %v", h.Alarm, firing, alarms, err)
			}
		}
		alarms, err := h.Monitor.Check(ctx, in)
		if err != nil || len(alarms) != 0 {
			t.Fatalf("with nothing firing, Check = %+v, %v; want no alarm, nil", alarms, err)
		}
		for _, firing := range []bool{true, false, true, false} {
			if err := h.SetAlarm(ctx, firing); err != nil {
				t.Fatalf("SetAlarm(%v): %v", firing, err)
			}
			waitAlarm(firing)
		}
	})
}

func sampleMonitorInput() bluegreen.MonitorInput {
	blue, green := sampleEnvs()
	return bluegreen.MonitorInput{
		DeploymentID: "d-1",
		Stage:        bluegreen.StageBakeTime,
		Blue:         blue,
		Green:        green,
		Routes:       bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)},
	}
}
