package bluegreen_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// TestInconclusiveIsNotHealthy: a production step, the canary's wait and
// the bake time do not count as passed while a monitor has not seen enough
// to tell; the deployment waits for evidence up to InconclusiveTimeout and
// then takes OnInconclusive. Promote skips the wait.
func TestInconclusiveIsNotHealthy(t *testing.T) {
	tests := []struct {
		name string
		// evidenceAt is when the monitor turns healthy, after the start (0: never).
		evidenceAt time.Duration
		action     bluegreen.InconclusiveAction
		promote    bool
		wantErr    error
		// took is how long the deployment runs.
		took time.Duration
	}{
		// The canary waits 1m; the evidence comes at 2m45s, seen by the
		// check at 3m, so its step ends then; the bake (5m) runs its course.
		{"evidence comes late", 2*time.Minute + 45*time.Second, bluegreen.InconclusiveRollback, false, nil, 8 * time.Minute},
		// Never healthy: 10m after the first inconclusive answer (at 0s, the
		// canary's first check) the deployment rolls back.
		{"never conclusive: rolled back", 0, bluegreen.InconclusiveRollback, false, bluegreen.ErrRolledBack, 10 * time.Minute},
		// Never healthy, CONTINUE: each position waits for evidence up to
		// the bound, then goes on: the canary step, the 100% step and the
		// bake take 10m each.
		{"never conclusive: continued", 0, bluegreen.InconclusiveContinue, false, nil, 30 * time.Minute},
		// Promote skips the wait for evidence deliberately.
		{"promoted", 0, bluegreen.InconclusiveRollback, true, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				w.deployFirst(t, "web")
				mon := bluegreentest.NewNamedMonitor("error-rate")
				mon.SetInconclusive("12 of 40 requests")
				if tt.evidenceAt > 0 {
					go func() {
						time.Sleep(tt.evidenceAt)
						mon.SetInconclusive("")
					}()
				}
				d := mustNew(t, w.config(func(c *bluegreen.Config) {
					c.Shift, c.BakeTime, c.MonitorInterval = bluegreen.Canary(10, time.Minute), 5*time.Minute, 30*time.Second
					c.Monitors = []bluegreen.Monitor{mon}
					c.OnInconclusive = tt.action
				}))
				start := time.Now()
				dep, err := d.Start(t.Context(), "web", rev("web:2"))
				if err != nil {
					t.Fatal(err)
				}
				if tt.promote {
					go func() {
						for ev := range dep.Events(t.Context()) {
							if ev.Kind == bluegreen.EventMonitorInconclusive || (ev.Kind == bluegreen.EventStageStarted && ev.Stage == bluegreen.StageBakeTime) {
								_ = dep.Promote(t.Context())
							}
						}
					}()
				}
				evs := events(t, dep)
				res, err := dep.Wait(t.Context())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("Deploy: %v, want %v\n%s", err, tt.wantErr, strings.Join(summary(evs), "\n"))
				}
				if took := time.Since(start); took != tt.took {
					t.Errorf("took %v, want %v\n%s", took, tt.took, strings.Join(summary(evs), "\n"))
				}
				inconclusive := false
				for _, ev := range evs {
					if ev.Kind == bluegreen.EventMonitorInconclusive && ev.Monitor == "error-rate" && strings.Contains(ev.Reason, "12 of 40 requests") {
						inconclusive = true
					}
					// Never 100% before the evidence or the bound.
					if ev.Kind == bluegreen.EventTrafficShifted && ev.Routes.Production.B == bluegreen.Full && !tt.promote &&
						ev.Time.Sub(start) < max(tt.evidenceAt, time.Minute) {
						t.Errorf("green had all traffic at %v, before the evidence", ev.Time.Sub(start))
					}
				}
				if !inconclusive {
					t.Error("no MONITOR_INCONCLUSIVE event naming the monitor and what it lacks")
				}
				if errors.Is(err, bluegreen.ErrRolledBack) {
					if r := res.Rollback; r.Trigger != bluegreen.TriggerMonitor || r.By != "error-rate" || r.Stage != bluegreen.StageProductionTrafficShift || r.Step != 1 {
						t.Errorf("rollback %+v, want the monitor at the canary step", r)
					}
				}
			})
		})
	}
}
