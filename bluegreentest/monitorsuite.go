package bluegreentest

import (
	"context"
	"slices"
	"strings"
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
//   - The monitor has a name.
//   - With nothing firing, Check answers HEALTHY or INCONCLUSIVE, never
//     ALARM, and no error; a verdict is always one of the three states.
//   - Once the alarm fires, Check (eventually) answers ALARM with an alarm
//     of that name.
//   - Once it is back to OK, Check (eventually) answers no ALARM again.
func TestMonitor(t *testing.T, newHarness func(t *testing.T) MonitorHarness) {
	t.Helper()
	t.Run("FireAndClear", func(t *testing.T) {
		h := newHarness(t)
		in := h.Input
		if in.DeploymentID == "" {
			in = sampleMonitorInput()
		}
		ctx := t.Context()
		if strings.TrimSpace(h.Monitor.Name()) == "" {
			t.Error("the monitor has no name")
		}
		valid := func(v bluegreen.Verdict) bool {
			return v.State == bluegreen.MonitorHealthy || v.State == bluegreen.MonitorAlarm || v.State == bluegreen.MonitorInconclusive
		}
		waitAlarm := func(firing bool) {
			t.Helper()
			var v bluegreen.Verdict
			err := poll(ctx, h.Timeout, h.PollInterval, func(ctx context.Context) (bool, error) {
				var err error
				v, err = h.Monitor.Check(ctx, in)
				if err == nil && !valid(v) {
					t.Fatalf("Check answered state %q", v.State)
				}
				named := v.State == bluegreen.MonitorAlarm && slices.ContainsFunc(v.Alarms, func(a bluegreen.Alarm) bool { return a.Name == h.Alarm })
				if firing {
					return named, err
				}
				return v.State != bluegreen.MonitorAlarm, err
			})
			if err != nil {
				t.Fatalf("alarm %q firing=%v: Check = %+v: %v", h.Alarm, firing, v, err)
			}
		}
		v, err := h.Monitor.Check(ctx, in)
		if err != nil || !valid(v) || v.State == bluegreen.MonitorAlarm {
			t.Fatalf("with nothing firing, Check = %+v, %v; want HEALTHY or INCONCLUSIVE, nil", v, err)
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
