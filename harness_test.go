package bluegreen_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// world is a set of fakes a Deployer runs against.
type world struct {
	compute *bluegreentest.Compute
	router  *bluegreentest.Router
	store   *bluegreentest.Store
}

func newWorld(health map[string]bluegreentest.Health) *world {
	return &world{
		compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{Health: bluegreentest.HealthByRevision(health)}),
		router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
		store:   bluegreentest.NewStore(bluegreen.NewMemoryStore()),
	}
}

func (w *world) config(mod func(*bluegreen.Config)) bluegreen.Config {
	cfg := bluegreen.Config{
		Compute: w.compute, Router: w.router, Store: w.store,
		Owner: "test-owner",
		NewID: sequentialIDs(),
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func sequentialIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("d%d", n) }
}

func rev(name string) bluegreen.Revision { return bluegreen.Revision{Name: name} }

// deployFirst puts v1 live with a plain Deployer so a scenario starts with a blue.
func (w *world) deployFirst(t *testing.T, service string) {
	t.Helper()
	d, err := bluegreen.New(w.config(func(c *bluegreen.Config) { c.NewID = func() string { return "d0" } }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deploy(t.Context(), service, rev("web:1")); err != nil {
		t.Fatalf("first deployment: %v", err)
	}
}

// summary prints events compactly: kind, stage and step, and the detail that matters.
// Traffic events and waits show their time since the first event, as "@2m0s".
func summary(evs []bluegreen.Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		at := ev.Time.Sub(evs[0].Time)
		s := string(ev.Kind)
		if ev.Stage != 0 {
			s += " " + ev.Stage.String()
		}
		if ev.Step > 0 {
			s += fmt.Sprintf("#%d", ev.Step)
		}
		switch ev.Kind {
		case bluegreen.EventHookCalled:
			s += fmt.Sprintf(" %s try %d", ev.Hook, ev.Attempt)
		case bluegreen.EventHookAnswered:
			s += fmt.Sprintf(" %s %s", ev.Hook, ev.HookStatus)
			if ev.HookStatus == "" {
				s += ev.Reason
			}
		case bluegreen.EventPaused, bluegreen.EventContinued:
			s += " " + ev.Hook
		case bluegreen.EventTrafficShifted:
			s += " " + ev.Routes.String()
		case bluegreen.EventTrafficVerified:
			s += " " + ev.Routes.String()
		case bluegreen.EventHealthChecked:
			s += fmt.Sprintf(" %d/%d", ev.Status.Healthy, ev.Status.Desired)
			if ev.Status.Failed {
				s += " failed"
			}
		case bluegreen.EventReconciled, bluegreen.EventAdopted:
			s += " " + ev.Reason
		case bluegreen.EventMonitorFired:
			s += " " + ev.Alarms[0].Name
		case bluegreen.EventRollbackStarted:
			if ev.Rollback != nil {
				s += fmt.Sprintf(" %s %s", ev.Rollback.Trigger, ev.Rollback.By)
			}
		case bluegreen.EventDone:
			s += " " + string(ev.Outcome)
		}
		if ev.DuringRollback {
			s += " (rollback)"
		}
		if ev.Kind == bluegreen.EventTrafficShifted || ev.Kind == bluegreen.EventDone {
			s += " @" + at.String()
		}
		out = append(out, s)
	}
	return out
}

// state returns what the store behind w holds about service.
func state(t testing.TB, w *world, service string) bluegreen.ServiceState {
	t.Helper()
	st, err := bluegreen.ReadState(context.Background(), w.store.Inner(), service)
	if err != nil {
		t.Fatalf("ReadState(%s): %v", service, err)
	}
	return st
}

func events(t *testing.T, dep *bluegreen.Deployment) []bluegreen.Event {
	t.Helper()
	var evs []bluegreen.Event
	for ev, err := range dep.Events(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func diffLines(t *testing.T, want, got []string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s\ngot:\n\t%s", diff, strings.Join(got, "\n\t"))
	}
}

// checkInvariants asserts DESIGN.md's invariants after a deployment ended.
func checkInvariants(t *testing.T, w *world, service string, evs []bluegreen.Event, bake time.Duration) {
	t.Helper()
	rec := state(t, w, service)
	// 3: the deployment is finished, its lease released, nothing orphaned.
	if rec.Deployment != nil && !rec.Deployment.Finished {
		t.Errorf("invariant 3: deployment %s left unfinished at %s", rec.Deployment.ID, rec.Deployment.Stage)
	}
	if rec.LeaseOwner != "" {
		t.Errorf("invariant 4: lease still held by %s", rec.LeaseOwner)
	}
	running := w.compute.Running(service)
	var want []bluegreen.Environment
	if rec.Live != nil {
		want = []bluegreen.Environment{*rec.Live}
	}
	if diff := cmp.Diff(want, running); diff != "" {
		t.Errorf("invariant 3: running environments are not exactly the live one (-live +running):\n%s", diff)
	}
	if w.compute.Suspended(service) {
		t.Errorf("prepared state not restored")
	}
	// 1: every routes ever applied are valid, and production goes only to the live slot now.
	for i, r := range w.router.History(service) {
		if err := r.Validate(); err != nil {
			t.Errorf("invariant 1: routes #%d %v: %v", i, r, err)
		}
	}
	cur := w.router.Current(service)
	if rec.Live != nil {
		if want := (bluegreen.Routes{Production: bluegreen.AllTo(rec.Live.Slot), Test: rec.Live.Slot}); cur != want {
			t.Errorf("invariant 1: routes %v, want %v", cur, want)
		}
	}
	// 2: blue removed only after green had all traffic for the bake time;
	// 5: a rollback is one router call.
	var fullAt time.Time
	rollingBack, rollbackShifts := false, 0
	promoted := false
	noBake := map[string]bool{}
	for _, ev := range evs {
		switch ev.Kind {
		case bluegreen.EventTrafficVerified:
			if ev.Routes.Production.A == bluegreen.Full || ev.Routes.Production.B == bluegreen.Full {
				fullAt = ev.Time
			}
		case bluegreen.EventPromoted:
			promoted = true
		case bluegreen.EventRollbackStarted:
			rollingBack, rollbackShifts = true, 0
		case bluegreen.EventRollbackFinished:
			rollingBack = false
		case bluegreen.EventTrafficShifted:
			if rollingBack {
				if rollbackShifts++; rollbackShifts > 1 {
					t.Errorf("invariant 5: rollback made %d router calls", rollbackShifts)
				}
			}
		case bluegreen.EventStageSkipped:
			if ev.Stage == bluegreen.StageBakeTime {
				noBake[ev.DeploymentID] = true // a first deployment: there is no blue to bake against
			}
		case bluegreen.EventStageStarted:
			if ev.Stage == bluegreen.StageCleanUp && !promoted && !noBake[ev.DeploymentID] && ev.Time.Sub(fullAt) < bake {
				t.Errorf("invariant 2: clean-up %v after green had all traffic, bake time is %v", ev.Time.Sub(fullAt), bake)
			}
		}
	}
}

// trimTimes drops the "@time" suffixes of summary lines, for tests about order only.
func trimTimes(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if j := strings.LastIndex(l, " @"); j >= 0 {
			l = l[:j]
		}
		out[i] = l
	}
	return out
}

// timeOf returns the time of the last event of kind at stage.
func timeOf(evs []bluegreen.Event, stage bluegreen.Stage, kind bluegreen.EventKind) time.Time {
	var at time.Time
	for _, ev := range evs {
		if ev.Stage == stage && ev.Kind == kind {
			at = ev.Time
		}
	}
	return at
}
