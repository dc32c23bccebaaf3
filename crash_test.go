package bluegreen_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// crashScenario is a deployment the crash harness kills at every save.
type crashScenario struct {
	name string
	// world builds the world the deployment starts from.
	world func(t *testing.T) *world
	// configure sets the deployment up (shift, bake, hooks, monitors).
	configure func(c *bluegreen.Config, mon *bluegreentest.Monitor)
	// fails says the deployment, left alone, rolls back.
	fails bool
}

const crashBake = 5 * time.Minute

// crashScenarios: a deployment that succeeds, a first deployment, one over
// an adopted live service, and rollbacks started at every stage that can
// start one (a hook failing at each hookable stage, green failing its
// health checks, a monitor firing in the bake time).
func crashScenarios() []crashScenario {
	withBlue := func(t *testing.T) *world { w := newWorld(nil); w.deployFirst(t, "web"); return w }
	base := func(c *bluegreen.Config, mon *bluegreentest.Monitor) {
		c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), crashBake
		c.Monitors = []bluegreen.Monitor{mon}
		c.Hooks = []bluegreen.LifecycleHook{{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{
			bluegreen.StagePostScaleUp, bluegreen.StageProductionTrafficShift}}}
	}
	ss := []crashScenario{
		{name: "succeeding", world: withBlue, configure: base},
		{name: "first deployment", world: func(*testing.T) *world { return newWorld(nil) }, configure: base},
		{name: "adopted live service", world: func(t *testing.T) *world { w, _ := brownfield(t); return w }, configure: base},
		{name: "green unhealthy", world: func(t *testing.T) *world {
			w := newWorld(map[string]bluegreentest.Health{"web:2": {StatusCalls: 1, Fail: "exit status 1"}})
			w.deployFirst(t, "web")
			return w
		}, configure: base, fails: true},
		{name: "alarm in bake time", world: withBlue, configure: func(c *bluegreen.Config, mon *bluegreentest.Monitor) {
			base(c, mon)
			mon.SetFunc(func(in bluegreen.MonitorInput) []bluegreen.Alarm {
				if in.Stage == bluegreen.StageBakeTime {
					return []bluegreen.Alarm{{Name: "5xx"}}
				}
				return nil
			})
		}, fails: true},
	}
	for _, s := range bluegreen.Stages() {
		if !s.TakesHooks() {
			continue
		}
		ss = append(ss, crashScenario{name: "hook fails at " + s.String(), world: withBlue, fails: true,
			configure: func(c *bluegreen.Config, mon *bluegreentest.Monitor) {
				base(c, mon)
				c.Hooks = append(c.Hooks, bluegreen.LifecycleHook{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("bad")),
					Stages: []bluegreen.Stage{s}})
			}})
	}
	return ss
}

// crashStates counts the distinct persisted states the harness left behind
// at its crashes, per window.
type crashStates struct {
	mu     sync.Mutex
	states map[string]bool
	points int
}

func (c *crashStates) add(window string, st bluegreen.ServiceState) {
	key := window + " " + stateKey(st)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states == nil {
		c.states = map[string]bool{}
	}
	c.states[key] = true
	c.points++
}

// stateKey names a persisted state by what a successor acts on: where the
// deployment stood, which way it was going, and what was live.
func stateKey(st bluegreen.ServiceState) string {
	live := "-"
	if st.Live != nil {
		live = st.Live.Revision.Name
	}
	d := st.Deployment
	if d == nil {
		return "no deployment, live " + live
	}
	way := "running"
	switch {
	case d.Finished:
		way = string(d.Outcome)
	case d.RollingBack:
		way = "rolling back"
	}
	return fmt.Sprintf("%s %s#%d %s routes %v, live %s", d.ID, d.Stage, d.Step, way, d.Routes, live)
}

func (c *crashStates) report(t *testing.T) {
	keys := make([]string, 0, len(c.states))
	for k := range c.states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("crash harness: %d crash points, %d distinct persisted states (window + state):\n\t%s", c.points, len(keys), strings.Join(keys, "\n\t"))
}

// TestCrashAtEverySave stops a deployment at each of its saves, in both
// windows — right after the save (saved, not yet acted on) and instead of
// it (acted on what was saved before, not yet recorded) — as if its
// process died there, with the backends keeping their state. A successor
// (another owner, after the lease lapsed) settles the service with
// Reconcile, and a third deploys again. Whatever the crash point, the
// invariants hold after each, on state and on events.
func TestCrashAtEverySave(t *testing.T) {
	var seen crashStates
	for _, sc := range crashScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			total := countSaves(t, sc)
			for n := 1; n <= total; n++ {
				for _, window := range []string{"after", "before"} {
					t.Run(fmt.Sprintf("%s save %d of %d", window, n, total), func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) { crashAndSettle(t, sc, window, n, &seen) })
					})
				}
			}
		})
	}
	seen.report(t)
	if len(seen.states) < 70 { // 77 when written: fewer means the harness stopped reaching some states
		t.Errorf("only %d distinct persisted states covered", len(seen.states))
	}
}

// countSaves counts the saves of the scenario's deployment left alone,
// lease renewals included.
func countSaves(t *testing.T, sc crashScenario) int {
	var total int
	synctest.Test(t, func(t *testing.T) {
		w := sc.world(t)
		before := w.store.Count("Save")
		mon := bluegreentest.NewMonitor()
		d := mustNew(t, w.config(func(c *bluegreen.Config) { sc.configure(c, mon); c.NewID = func() string { return "d1" } }))
		if _, err := d.Deploy(t.Context(), "web", rev("web:2")); (err != nil) != sc.fails {
			t.Fatalf("left alone: %v, want failure %v", err, sc.fails)
		}
		total = w.store.Count("Save") - before
	})
	if total < 3 {
		t.Fatalf("only %d saves in a deployment", total)
	}
	return total
}

// crashAndSettle crashes the scenario's deployment at save n, in window,
// then settles and redeploys the service with other owners.
func crashAndSettle(t *testing.T, sc crashScenario, window string, n int, seen *crashStates) {
	w := sc.world(t)
	ctx, crash := context.WithCancel(t.Context())
	if window == "after" {
		w.store.CrashAfter(n, crash)
	} else {
		w.store.CrashBefore(n, crash)
	}
	mon := bluegreentest.NewMonitor()
	d := mustNew(t, w.config(func(c *bluegreen.Config) {
		sc.configure(c, mon)
		c.OnCancel, c.NewID = bluegreen.CancelDetach, func() string { return "d1" }
	}))
	// A crash before the first save is a process that died before it took
	// the lease: Start fails, and nothing was done.
	if dep, err := d.Start(ctx, "web", rev("web:2")); err == nil {
		<-dep.Done()
	} else if !errors.Is(err, bluegreentest.ErrCrashed) && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	w.store.Recover()
	seen.add(window, state(t, w, "web"))
	time.Sleep(2 * time.Minute) // the dead owner's lease lapses
	settle(t, w, sc, "successor")
	redeploy(t, w)
}

// settle runs Reconcile as owner and checks the invariants after it.
func settle(t *testing.T, w *world, sc crashScenario, owner string) {
	t.Helper()
	mon := bluegreentest.NewMonitor()
	s := mustNew(t, w.config(func(c *bluegreen.Config) {
		sc.configure(c, mon)
		c.Owner = owner
	}))
	rdep, err := s.StartReconcile(t.Context(), "web")
	if errors.Is(err, bluegreen.ErrNotFound) {
		// Nothing unfinished: the crash came before the deployment was
		// recorded or after it finished. The next deployment shows whether
		// the service is settled.
		return
	}
	if err != nil {
		t.Fatalf("%s's Reconcile: %v", owner, err)
	}
	evs := events(t, rdep)
	if _, err := rdep.Wait(t.Context()); err != nil && !errors.Is(err, bluegreen.ErrRolledBack) {
		t.Fatalf("%s's Reconcile: %v\n%s", owner, err, strings.Join(summary(evs), "\n"))
	}
	checkInvariants(t, w, "web", evs, crashBake)
}

// redeploy deploys web:3 with a third owner: the service must be settled.
func redeploy(t *testing.T, w *world) {
	t.Helper()
	third := mustNew(t, w.config(func(c *bluegreen.Config) {
		c.Owner, c.NewID, c.Shift, c.BakeTime = "third", func() string { return "d3" }, bluegreen.Linear(50, time.Minute), crashBake
	}))
	dep, err := third.Start(t.Context(), "web", rev("web:3"))
	if err != nil {
		t.Fatalf("third owner's Start: %v", err)
	}
	evs := events(t, dep)
	if _, err := dep.Wait(t.Context()); err != nil {
		t.Fatalf("third owner's deployment: %v\n%s", err, strings.Join(summary(evs), "\n"))
	}
	checkInvariants(t, w, "web", evs, crashBake)
}

// TestCrashWhileSettling crashes a deployment mid-shift and mid-rollback,
// then crashes its successor's Reconcile too at each of its saves, in both
// windows: a crash during RECONCILE_SERVICE's settling, during a resumed
// shift, and during a rollback. A third owner settles what is left.
func TestCrashWhileSettling(t *testing.T) {
	var seen crashStates
	scs := crashScenarios()
	for _, first := range []struct {
		name string
		sc   crashScenario
		save int // the first crash comes after this save
	}{
		{"mid-shift", scs[0], 5},
		{"mid-rollback", scs[len(scs)-1], 9},
	} {
		t.Run(first.name, func(t *testing.T) {
			for _, policy := range []bluegreen.ReconcilePolicy{bluegreen.ReconcileDefault, bluegreen.ReconcileRollback} {
				sc := first.sc
				inner := sc.configure
				sc.configure = func(c *bluegreen.Config, mon *bluegreentest.Monitor) { inner(c, mon); c.Reconcile = policy }
				for n := 1; n <= 12; n++ {
					for _, window := range []string{"after", "before"} {
						t.Run(fmt.Sprintf("policy %d %s save %d", policy, window, n), func(t *testing.T) {
							synctest.Test(t, func(t *testing.T) {
								w := sc.world(t)
								ctx, crash := context.WithCancel(t.Context())
								w.store.CrashAfter(first.save, crash)
								mon := bluegreentest.NewMonitor()
								d := mustNew(t, w.config(func(c *bluegreen.Config) {
									sc.configure(c, mon)
									c.OnCancel, c.NewID = bluegreen.CancelDetach, func() string { return "d1" }
								}))
								dep, err := d.Start(ctx, "web", rev("web:2"))
								if err != nil {
									t.Fatal(err)
								}
								<-dep.Done()
								w.store.Recover()
								time.Sleep(2 * time.Minute)

								// The successor dies at its n-th save.
								sctx, scrash := context.WithCancel(t.Context())
								if window == "after" {
									w.store.CrashAfter(n, scrash)
								} else {
									w.store.CrashBefore(n, scrash)
								}
								s := mustNew(t, w.config(func(c *bluegreen.Config) {
									sc.configure(c, mon)
									c.Owner, c.OnCancel = "successor", bluegreen.CancelDetach
								}))
								if rdep, err := s.StartReconcile(sctx, "web"); err == nil {
									<-rdep.Done()
								}
								w.store.Recover()
								seen.add(window, state(t, w, "web"))
								time.Sleep(2 * time.Minute)
								settle(t, w, sc, "third")
								redeploy(t, w)
							})
						})
					}
				}
			}
		})
	}
	seen.report(t)
}
