package bluegreen_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/google/go-cmp/cmp"
)

// groupWorld is two members on different backends sharing one store: web
// on the Deployer's Config backends, api on its own compute and router.
type groupWorld struct {
	web, api *world
	// log is the order of backend calls across both members' fakes.
	mu  sync.Mutex
	log []string
}

const groupBake = time.Minute

func newGroupWorld(t *testing.T, withBlue bool, health map[string]bluegreentest.Health) *groupWorld {
	gw := &groupWorld{web: newWorld(health), api: newWorld(health)}
	gw.api.store = gw.web.store
	if withBlue {
		gw.web.deployFirst(t, "web")
		d := mustNew(t, gw.api.config(func(c *bluegreen.Config) { c.NewID = func() string { return "a0" } }))
		if _, err := d.Deploy(t.Context(), "api", rev("api:1")); err != nil {
			t.Fatalf("first deployment of api: %v", err)
		}
	}
	note := func(ctx context.Context, c bluegreentest.Call) error {
		gw.mu.Lock()
		gw.log = append(gw.log, c.String())
		gw.mu.Unlock()
		return nil
	}
	for _, w := range []*world{gw.web, gw.api} {
		w.compute.React(note)
		w.router.React(note)
	}
	return gw
}

// calls returns the logged calls of the given ops.
func (gw *groupWorld) calls(ops ...string) []string {
	gw.mu.Lock()
	defer gw.mu.Unlock()
	var out []string
	for _, c := range gw.log {
		if slices.Contains(ops, strings.Fields(c)[0]) {
			out = append(out, c)
		}
	}
	return out
}

func (gw *groupWorld) deployer(t *testing.T, owner string, mod func(*bluegreen.Config)) deployer {
	return mustNew(t, gw.web.config(func(c *bluegreen.Config) {
		c.Owner = owner
		if mod != nil {
			mod(c)
		}
	}))
}

// group is web:2 and api:2 (api on its own backends), linear 50% a minute,
// with the bake time groupBake.
func (gw *groupWorld) group(mod func(g *bluegreen.Group)) bluegreen.Group {
	g := bluegreen.Group{Name: "shop", Shift: bluegreen.Linear(50, time.Minute), BakeTime: groupBake,
		Members: []bluegreen.Member{
			{Service: "web", Revision: rev("web:2")},
			{Service: "api", Revision: rev("api:2"), Compute: gw.api.compute, Router: gw.api.router},
		}}
	if mod != nil {
		mod(&g)
	}
	return g
}

// memberEvents returns the events of one member.
func memberEvents(evs []bluegreen.Event, member string) []bluegreen.Event {
	var out []bluegreen.Event
	for _, ev := range evs {
		if ev.Member == member {
			out = append(out, ev)
		}
	}
	return out
}

// checkGroup asserts the invariants for every member and that the group's
// record is finished, its lease free.
func (gw *groupWorld) checkGroup(t *testing.T, evs []bluegreen.Event) {
	t.Helper()
	checkInvariants(t, gw.web, "web", memberEvents(evs, "web"), groupBake)
	checkInvariants(t, gw.api, "api", memberEvents(evs, "api"), groupBake)
	st := state(t, gw.web, bluegreen.GroupKey("shop"))
	if st.Deployment != nil && !st.Deployment.Finished {
		t.Errorf("group record left unfinished at %s", st.Deployment.Stage)
	}
	if st.LeaseOwner != "" {
		t.Errorf("group record's lease still held by %s", st.LeaseOwner)
	}
}

// TestGroupLockstep: every green is healthy before any test traffic moves;
// the group hook runs after every member's test traffic; each production
// step is applied to and verified for every member before the next.
func TestGroupLockstep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := newGroupWorld(t, true, nil)
		ghook := bluegreentest.NewHook()
		d := gw.deployer(t, "owner", nil)
		dep, err := d.StartGroup(t.Context(), gw.group(func(g *bluegreen.Group) {
			g.Hooks = []bluegreen.LifecycleHook{{Name: "integration", Hook: ghook, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}
		}))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatalf("group: %v\n%s", err, strings.Join(summary(evs), "\n"))
		}
		gw.checkGroup(t, evs)

		// Each router saw test, 50%, 100%.
		for _, w := range []struct {
			w       *world
			service string
		}{{gw.web, "web"}, {gw.api, "api"}} {
			want := []bluegreen.Routes{
				{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA},
				{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB},
				{Production: bluegreen.Split(bluegreen.SlotB, 500), Test: bluegreen.SlotB},
				{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB},
			}
			got := w.w.router.History(w.service)
			if diff := cmp.Diff(want, got[len(got)-4:]); diff != "" {
				t.Errorf("%s's routes (-want +got):\n%s", w.service, diff)
			}
		}
		// The router calls interleave per step: both members' test shifts,
		// then both members' 50%, then both members' 100%.
		var shifts []string
		for _, c := range gw.calls("SetRoutes") {
			shifts = append(shifts, c)
		}
		per := func(i int) []string {
			s := slices.Clone(shifts[2*i : 2*i+2])
			slices.Sort(s)
			return s
		}
		if len(shifts) != 6 {
			t.Fatalf("router calls: %q", shifts)
		}
		for i, want := range [][]string{
			{"SetRoutes api A=100% B=0% test=B", "SetRoutes web A=100% B=0% test=B"},
			{"SetRoutes api A=50% B=50% test=B", "SetRoutes web A=50% B=50% test=B"},
			{"SetRoutes api A=0% B=100% test=B", "SetRoutes web A=0% B=100% test=B"},
		} {
			if diff := cmp.Diff(want, per(i)); diff != "" {
				t.Errorf("router calls of position %d (-want +got):\n%s\nall: %q", i, diff, shifts)
			}
		}
		// Both greens are healthy before the first test shift; the group
		// hook runs after both test shifts are verified; step 2 starts a
		// minute after both members' step 1 was verified.
		firstShift, lastTestVerified, hookAt := 0, 0, 0
		var step1Verified, step2Shifted []time.Time
		healthy := map[string]int{}
		for _, ev := range evs {
			switch {
			case ev.Kind == bluegreen.EventHealthChecked && ev.Status.Ready() && healthy[ev.Member] == 0:
				healthy[ev.Member] = ev.Seq
			case ev.Kind == bluegreen.EventTrafficShifted && firstShift == 0:
				firstShift = ev.Seq
			case ev.Kind == bluegreen.EventTrafficVerified && ev.Stage == bluegreen.StageTestTrafficShift:
				lastTestVerified = ev.Seq
			case ev.Kind == bluegreen.EventHookCalled && ev.Hook == "integration":
				hookAt = ev.Seq
				if ev.Member != "" {
					t.Errorf("group hook event names member %q", ev.Member)
				}
			case ev.Kind == bluegreen.EventTrafficVerified && ev.Stage == bluegreen.StageProductionTrafficShift && ev.Step == 1:
				step1Verified = append(step1Verified, ev.Time)
			case ev.Kind == bluegreen.EventTrafficShifted && ev.Stage == bluegreen.StageProductionTrafficShift && ev.Step == 2:
				step2Shifted = append(step2Shifted, ev.Time)
			}
		}
		if healthy["web"] == 0 || healthy["api"] == 0 || healthy["web"] > firstShift || healthy["api"] > firstShift {
			t.Errorf("greens healthy at events %v, first shift at %d", healthy, firstShift)
		}
		if hookAt < lastTestVerified {
			t.Errorf("group hook called at event %d, before test traffic was verified (%d)", hookAt, lastTestVerified)
		}
		if len(step1Verified) != 2 || len(step2Shifted) != 2 {
			t.Fatalf("step events: %v %v", step1Verified, step2Shifted)
		}
		for _, at := range step2Shifted {
			if at.Sub(slices.MaxFunc(step1Verified, time.Time.Compare)) != time.Minute {
				t.Errorf("step 2 at %v, step 1 verified at %v: want a minute later", at, step1Verified)
			}
		}
		if in := ghook.Inputs(); len(in) != 1 || in[0].Service != bluegreen.GroupKey("shop") {
			t.Errorf("group hook inputs: %+v", in)
		}
		res, ok := dep.GroupResult()
		if !ok || res.Outcome != bluegreen.OutcomeSucceeded || len(res.Members) != 2 ||
			res.Members[0].Outcome != bluegreen.OutcomeSucceeded || res.Members[1].Live.Revision.Name != "api:2" {
			t.Errorf("group result: %+v", res)
		}
	})
}

// TestGroupRollbackAtEveryHookStage: a member's hook (or a group hook)
// failing at any stage that takes hooks rolls every member back, every
// member's traffic back before any green is removed.
func TestGroupRollbackAtEveryHookStage(t *testing.T) {
	type tc struct {
		name   string
		stage  bluegreen.Stage
		member string // "" for a group hook
	}
	var cases []tc
	for _, s := range bluegreen.Stages() {
		if s.TakesHooks() {
			cases = append(cases, tc{"api hook at " + s.String(), s, "api"})
		}
	}
	cases = append(cases, tc{"group hook at POST_TEST_TRAFFIC_SHIFT", bluegreen.StagePostTestTrafficShift, ""})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gw := newGroupWorld(t, true, nil)
				bad := []bluegreen.LifecycleHook{{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("bad")), Stages: []bluegreen.Stage{c.stage}}}
				d := gw.deployer(t, "owner", nil)
				res, err := d.DeployGroup(t.Context(), gw.group(func(g *bluegreen.Group) {
					if c.member == "" {
						g.Hooks = bad
					} else {
						g.Members[1].Hooks = bad
					}
				}))
				if !errors.Is(err, bluegreen.ErrRolledBack) {
					t.Fatalf("err %v, want a rollback", err)
				}
				if res.Outcome != bluegreen.OutcomeRolledBack || res.RollbackMember != c.member || res.Rollback == nil || res.Rollback.By != "verdict" {
					t.Errorf("result %+v", res)
				}
				for _, m := range res.Members {
					if m.Outcome != bluegreen.OutcomeRolledBack || m.Live == nil || !strings.HasSuffix(m.Live.Revision.Name, ":1") {
						t.Errorf("member %s: %+v", m.Service, m)
					}
				}
				// Every router call of the rollback comes before every removal of a green.
				calls := gw.calls("SetRoutes", "ScaleDown")
				lastRoute, firstDown := -1, len(calls)
				for i, call := range calls {
					if strings.HasPrefix(call, "SetRoutes") && strings.Contains(call, "A=100% B=0% test=A") {
						lastRoute = i
					}
					if strings.HasPrefix(call, "ScaleDown") && strings.Contains(call, ":2") && firstDown == len(calls) {
						firstDown = i
					}
				}
				if firstDown == len(calls) || lastRoute > firstDown {
					t.Errorf("rollback calls out of order: %q", calls)
				}
				wantRoutes := 0
				if c.stage >= bluegreen.StageTestTrafficShift {
					wantRoutes = 2
				}
				if got := strings.Count(strings.Join(calls, "\n"), "A=100% B=0% test=A"); got != wantRoutes {
					t.Errorf("%d rollback router calls, want %d: %q", got, wantRoutes, calls)
				}
			})
		})
	}
}

// TestGroupRollbackEvents checks the invariants on the events of a group
// rolled back by a monitor of one member in the bake time.
func TestGroupRollbackEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := newGroupWorld(t, true, nil)
		mon := bluegreentest.NewMonitor()
		mon.SetFunc(func(in bluegreen.MonitorInput) []bluegreen.Alarm {
			if in.Stage == bluegreen.StageBakeTime {
				return []bluegreen.Alarm{{Name: "5xx"}}
			}
			return nil
		})
		d := gw.deployer(t, "owner", nil)
		dep, err := d.StartGroup(t.Context(), gw.group(func(g *bluegreen.Group) { g.Members[0].Monitors = []bluegreen.Monitor{mon} }))
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		if _, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("err %v", err)
		}
		gw.checkGroup(t, evs)
		res, _ := dep.GroupResult()
		if res.RollbackMember != "web" || res.Rollback.Trigger != bluegreen.TriggerMonitor {
			t.Errorf("result %+v", res)
		}
		if last := evs[len(evs)-1]; last.Kind != bluegreen.EventDone || last.Member != "" {
			t.Errorf("last event %+v", last)
		}
	})
}

// TestGroupCrashAtEverySave crashes a group at each of its saves, in both
// windows, and a successor settles every member with ReconcileGroup; a
// third owner then deploys the group again.
func TestGroupCrashAtEverySave(t *testing.T) {
	scenarios := []struct {
		name  string
		mod   func(g *bluegreen.Group)
		fails bool
	}{
		{"succeeding", nil, false},
		{"api hook fails at step 2", func(g *bluegreen.Group) {
			g.Members[1].Hooks = []bluegreen.LifecycleHook{{Name: "verdict", Hook: bluegreentest.NewHook().On(bluegreen.StageProductionTrafficShift, bluegreentest.Succeed(), bluegreentest.Fail("bad")),
				Stages: []bluegreen.Stage{bluegreen.StageProductionTrafficShift}}}
		}, true},
	}
	states := map[string]bool{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var total int
			synctest.Test(t, func(t *testing.T) {
				gw := newGroupWorld(t, true, nil)
				before := gw.web.store.Count("Save")
				d := gw.deployer(t, "owner", nil)
				if _, err := d.DeployGroup(t.Context(), gw.group(sc.mod)); (err != nil) != sc.fails {
					t.Fatalf("left alone: %v", err)
				}
				total = gw.web.store.Count("Save") - before
			})
			for n := 1; n <= total; n++ {
				for _, window := range []string{"after", "before"} {
					t.Run(fmt.Sprintf("%s save %d of %d", window, n, total), func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							gw := newGroupWorld(t, true, nil)
							ctx, crash := context.WithCancel(t.Context())
							if window == "after" {
								gw.web.store.CrashAfter(n, crash)
							} else {
								gw.web.store.CrashBefore(n, crash)
							}
							d := gw.deployer(t, "owner", func(c *bluegreen.Config) { c.OnCancel = bluegreen.CancelDetach })
							if dep, err := d.StartGroup(ctx, gw.group(sc.mod)); err == nil {
								<-dep.Done()
							} else if !errors.Is(err, bluegreentest.ErrCrashed) && !errors.Is(err, context.Canceled) {
								t.Fatal(err)
							}
							gw.web.store.Recover()
							gst := state(t, gw.web, bluegreen.GroupKey("shop"))
							key := window + " " + stateKey(gst) + " | " + stateKey(state(t, gw.web, "web")) + " | " + stateKey(state(t, gw.web, "api"))
							states[key] = true
							time.Sleep(2 * time.Minute) // the dead owner's leases lapse

							// A member of an unfinished group is not deployed alone
							// once the group recorded its deployment of it (d2).
							if gst.Deployment != nil && !gst.Deployment.Finished && state(t, gw.web, "web").Deployment.ID == "d2" {
								s := gw.deployer(t, "intruder", nil)
								if dep, err := s.Start(t.Context(), "web", rev("web:9")); err == nil {
									<-dep.Done()
									if st := state(t, gw.web, "web"); st.Deployment != nil && st.Deployment.Green.Revision.Name == "web:9" {
										t.Fatalf("a single Start of a member of an unfinished group ran")
									}
								}
							}

							s := gw.deployer(t, "successor", nil)
							rdep, err := s.StartReconcileGroup(t.Context(), gw.group(sc.mod))
							if err == nil {
								evs := events(t, rdep)
								if _, err := rdep.Wait(t.Context()); err != nil && !errors.Is(err, bluegreen.ErrRolledBack) {
									t.Fatalf("successor: %v\n%s", err, strings.Join(summary(evs), "\n"))
								}
								gw.checkGroup(t, evs)
							} else if !errors.Is(err, bluegreen.ErrNotFound) {
								t.Fatalf("successor: %v", err)
							}
							// Both members are settled: a third owner deploys the group.
							third := gw.deployer(t, "third", nil)
							dep, err := third.StartGroup(t.Context(), gw.group(func(g *bluegreen.Group) {
								g.Members[0].Revision, g.Members[1].Revision = rev("web:3"), rev("api:3")
							}))
							if err != nil {
								t.Fatalf("third owner: %v", err)
							}
							evs := events(t, dep)
							if _, err := dep.Wait(t.Context()); err != nil {
								t.Fatalf("third owner: %v\n%s", err, strings.Join(summary(evs), "\n"))
							}
							gw.checkGroup(t, evs)
						})
					})
				}
			}
		})
	}
	t.Logf("%d distinct persisted states (group | web | api)", len(states))
}

// TestGroupHoldsMemberLeases: a single-service Start of a member is refused
// while the group runs, in this process and from another.
func TestGroupHoldsMemberLeases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := newGroupWorld(t, true, nil)
		d := gw.deployer(t, "owner", nil)
		dep, err := d.StartGroup(t.Context(), gw.group(func(g *bluegreen.Group) {
			g.Hooks = []bluegreen.LifecycleHook{{Name: "approve", Pause: true, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}}
		}))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		other := gw.deployer(t, "other", nil)
		for _, tc := range []struct {
			name string
			d    deployer
		}{{"same process", d}, {"other owner", other}} {
			for _, svc := range []string{"web", "api"} {
				if _, err := tc.d.Start(t.Context(), svc, rev(svc+":9")); !errors.Is(err, bluegreen.ErrInProgress) {
					t.Errorf("%s: Start(%s) = %v, want ErrInProgress", tc.name, svc, err)
				}
			}
		}
		if _, err := other.StartGroup(t.Context(), gw.group(nil)); !errors.Is(err, bluegreen.ErrInProgress) {
			t.Errorf("second group: %v, want ErrInProgress", err)
		}
		if _, err := d.Start(t.Context(), bluegreen.GroupKey("shop"), rev("x:1")); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("Start of the group's record name: %v, want ErrInvalid", err)
		}
		if err := dep.Continue(t.Context()); err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		if _, err := dep.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		gw.checkGroup(t, evs)
	})
}

// TestGroupCallerRollback: Rollback on the group's handle rolls every
// member back, from a wait in one step.
func TestGroupCallerRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := newGroupWorld(t, true, nil)
		d := gw.deployer(t, "owner", nil)
		dep, err := d.StartGroup(t.Context(), gw.group(nil))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second) // in step 1's wait
		if err := dep.Rollback(t.Context(), "changed my mind"); err != nil {
			t.Fatal(err)
		}
		evs := events(t, dep)
		if _, err := dep.Wait(t.Context()); !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("err %v", err)
		}
		gw.checkGroup(t, evs)
		res, _ := dep.GroupResult()
		if res.Rollback.Trigger != bluegreen.TriggerCaller || res.Rollback.Reason != "changed my mind" {
			t.Errorf("rollback %+v", res.Rollback)
		}
		if got := res.Finished.Sub(res.Started); got > time.Minute {
			t.Errorf("rolled back after %v: the wait was not cut short", got)
		}
	})
}

// TestGroupOrder: a lower Order is scaled up and healthy before a higher
// one scales up, and is cleaned up after it.
func TestGroupOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := newGroupWorld(t, true, map[string]bluegreentest.Health{"web:2": {StatusCalls: 2}})
		d := gw.deployer(t, "owner", nil)
		// web (Order 0) is the migration, api (Order 1) the service using it.
		if _, err := d.DeployGroup(t.Context(), gw.group(func(g *bluegreen.Group) { g.Members[1].Order = 1 })); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range gw.calls("ScaleUp", "ScaleDown") {
			f := strings.Fields(c)
			got = append(got, f[0]+" "+f[1]+" "+f[3])
		}
		want := []string{"ScaleUp web web:2", "ScaleUp api api:2", "ScaleDown api api:1", "ScaleDown web web:1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("scale calls (-want +got):\n%s", diff)
		}
		// web was healthy (its third Status) before api's ScaleUp.
		calls := gw.calls("ScaleUp", "Status")
		apiUp := slices.Index(calls, "ScaleUp api B api:2 deployment d3")
		if apiUp < 0 || strings.Count(strings.Join(calls[:apiUp], "\n"), "Status web B web:2") < 3 {
			t.Errorf("api scaled up before web was healthy: %q", calls)
		}
	})
}

// TestGroupForwardOnly: a rollback wanted after a forward-only member's
// point of no return drives every member forward instead; before it, the
// group rolls back as usual.
func TestGroupForwardOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failAt    bluegreen.Stage
		forwarded bool
	}{
		{"failure after the point of no return", bluegreen.StagePostTestTrafficShift, true},
		{"failure before it", bluegreen.StagePreScaleUp, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gw := newGroupWorld(t, true, nil)
				d := gw.deployer(t, "owner", nil)
				dep, err := d.StartGroup(t.Context(), gw.group(func(g *bluegreen.Group) {
					g.Members[0].ForwardOnlyAfter = bluegreen.StagePostScaleUp
					g.Members[1].Hooks = []bluegreen.LifecycleHook{{Name: "verdict", Hook: bluegreentest.NewHook(bluegreentest.Fail("bad")), Stages: []bluegreen.Stage{tc.failAt}}}
				}))
				if err != nil {
					t.Fatal(err)
				}
				evs := events(t, dep)
				_, err = dep.Wait(t.Context())
				gw.checkGroup(t, evs)
				res, _ := dep.GroupResult()
				if !tc.forwarded {
					if !errors.Is(err, bluegreen.ErrRolledBack) {
						t.Fatalf("err %v, want a rollback", err)
					}
					return
				}
				var fe *bluegreen.ForwardOnlyError
				if !errors.As(err, &fe) || fe.Member != "web" || fe.WantedBy != "api" || fe.Wanted.By != "verdict" || fe.After != bluegreen.StagePostScaleUp {
					t.Fatalf("err %v (%+v), want a ForwardOnlyError naming web and api", err, fe)
				}
				if res.Outcome != bluegreen.OutcomeSucceeded || res.ForcedForward == nil {
					t.Errorf("result %+v", res)
				}
				for _, m := range res.Members {
					if m.Outcome != bluegreen.OutcomeSucceeded {
						t.Errorf("member %s: %v", m.Service, m.Outcome)
					}
				}
				if err := dep.Rollback(t.Context(), "late"); err == nil {
					t.Error("Rollback after the end accepted")
				}
			})
		})
	}
}

// TestGroupValidation: a bad group is refused before anything changes,
// naming the field.
func TestGroupValidation(t *testing.T) {
	gw := &groupWorld{web: newWorld(nil)}
	d := mustNew(t, gw.web.config(nil))
	ok := bluegreen.Member{Service: "web", Revision: rev("web:2")}
	h := bluegreen.LifecycleHook{Name: "h", Hook: bluegreentest.NewHook(), Stages: []bluegreen.Stage{bluegreen.StagePreScaleUp}}
	twice := []bluegreen.LifecycleHook{h, h}
	for _, tc := range []struct {
		g     bluegreen.Group
		field string
	}{
		{bluegreen.Group{Members: []bluegreen.Member{ok}}, "Group.Name"},
		{bluegreen.Group{Name: "g"}, "Group.Members"},
		{bluegreen.Group{Name: "g", Members: []bluegreen.Member{ok, ok}}, "Group.Members[1].Service"},
		{bluegreen.Group{Name: "g", Members: []bluegreen.Member{{Service: "web"}}}, "Group.Members[0].Revision.Name"},
		{bluegreen.Group{Name: "g", Members: []bluegreen.Member{{Service: "group:x", Revision: rev("x")}}}, "Group.Members[0].Service"},
		{bluegreen.Group{Name: "g", Members: []bluegreen.Member{{Service: "web", Revision: rev("w"), ForwardOnlyAfter: bluegreen.StageCleanUp}}}, "Group.Members[0].ForwardOnlyAfter"},
		{bluegreen.Group{Name: "g", Members: []bluegreen.Member{{Service: "web", Revision: rev("w"), Hooks: twice}}}, "Group.Members[0].Hooks[1].Name"},
		{bluegreen.Group{Name: "g", Members: []bluegreen.Member{ok}, Hooks: twice}, "Group.Hooks[1].Name"},
	} {
		_, err := d.StartGroup(t.Context(), tc.g)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: %v, want a ConfigError on %s", tc.g, err, tc.field)
		}
	}
	if n := gw.web.store.Count("Save"); n != 0 {
		t.Errorf("%d saves after refused groups", n)
	}
}

// ExampleDeployer_DeployGroup deploys an API and the database migration it
// needs as one release: the migration (Order 0) is up before the API
// scales up, it cannot be undone once it has run (ForwardOnlyAfter), and
// an integration test across both gates production traffic.
func ExampleDeployer_DeployGroup() {
	compute := bluegreentest.NewCompute(bluegreentest.ComputeOptions{})
	router := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
	d, err := bluegreen.New(bluegreen.Config{Compute: compute, Router: router, Store: bluegreen.NewMemoryStore()})
	if err != nil {
		panic(err)
	}
	integration := bluegreen.HookFunc(func(ctx context.Context, in bluegreen.HookInput) (bluegreen.HookResult, error) {
		// Call the API through its test route here.
		return bluegreen.HookResult{Status: bluegreen.HookSucceeded}, nil
	})
	res, err := d.DeployGroup(context.Background(), bluegreen.Group{
		Name: "orders",
		Members: []bluegreen.Member{
			{Service: "orders-migrate", Revision: bluegreen.Revision{Name: "migrate:7"}, Order: 0, ForwardOnlyAfter: bluegreen.StagePostScaleUp},
			{Service: "orders-api", Revision: bluegreen.Revision{Name: "api:7"}, Order: 1},
		},
		Hooks: []bluegreen.LifecycleHook{{Name: "integration", Hook: integration, Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift}}},
	})
	if err != nil {
		fmt.Println("release failed:", err)
		return
	}
	for _, m := range res.Members {
		fmt.Println(m.Service, m.Outcome, m.Live.Revision.Name)
	}
	// Output:
	// orders-migrate SUCCEEDED migrate:7
	// orders-api SUCCEEDED api:7
}

// TestGroupRetiresHeartbeat: a release group long enough for its Deployer
// to beat (the members' Deployers share its heartbeat) leaves no heartbeat
// record behind once it ends.
func TestGroupRetiresHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := newGroupWorld(t, true, nil)
		d := gw.deployer(t, "owner", func(c *bluegreen.Config) { c.LeaseTTL = time.Minute })
		gw.web.store.Reset()
		if _, err := d.DeployGroup(t.Context(), gw.group(func(g *bluegreen.Group) { g.BakeTime = 10 * time.Minute })); err != nil {
			t.Fatal(err)
		}
		key := bluegreen.ReplicaKey("owner")
		if beats := savesOf(gw.web.store)[key]; beats == 0 {
			t.Fatalf("the group's Deployer never beat over a 10-minute bake")
		}
		if got := len(gw.web.store.CallsOf("Delete")); got != 1 {
			t.Errorf("%d deletes of the heartbeat record, want 1", got)
		}
		if rec, err := gw.web.store.Inner().Load(t.Context(), key); err != nil || rec.Version != 0 {
			t.Errorf("heartbeat record after the group: version %d, %v; want none", rec.Version, err)
		}
	})
}

// TestFleetAdoptsOrphanedGroup: a replica dies in the middle of a release
// group. A surviving replica whose RunOptions.Groups knows the group adopts
// it as a whole (never a member alone) and drives it to the end; one that
// does not know it, or has no Groups at all, leaves it unfinished.
func TestFleetAdoptsOrphanedGroup(t *testing.T) {
	tests := []struct {
		name      string
		groups    func(gw *groupWorld) func(string) (bluegreen.Group, bool)
		wantAdopt bool
	}{
		{"knows the group", func(gw *groupWorld) func(string) (bluegreen.Group, bool) {
			return func(name string) (bluegreen.Group, bool) {
				if name != "shop" {
					return bluegreen.Group{}, false
				}
				return gw.group(nil), true
			}
		}, true},
		{"does not know it", func(*groupWorld) func(string) (bluegreen.Group, bool) {
			return func(string) (bluegreen.Group, bool) { return bluegreen.Group{}, false }
		}, false},
		{"no Groups", func(*groupWorld) func(string) (bluegreen.Group, bool) { return nil }, false},
		{"returns another group", func(gw *groupWorld) func(string) (bluegreen.Group, bool) {
			return func(string) (bluegreen.Group, bool) {
				return gw.group(func(g *bluegreen.Group) { g.Name = "other" }), true
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gw := newGroupWorld(t, true, nil)
				fleet := func(c *bluegreen.Config) {
					c.LeaseTTL, c.OnCancel = time.Minute, bluegreen.CancelDetach
				}
				ctx, die := context.WithCancel(t.Context())
				dep, err := gw.deployer(t, "r1", fleet).StartGroup(ctx, gw.group(func(g *bluegreen.Group) { g.BakeTime = 5 * time.Minute }))
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(90 * time.Second) // mid-shift
				die()
				<-dep.Done()

				var mu sync.Mutex
				var adopted []*bluegreen.Deployment
				runCtx, stop := context.WithCancel(t.Context())
				r2 := gw.deployer(t, "r2", fleet)
				done := make(chan error, 1)
				go func() {
					done <- r2.Run(runCtx, bluegreen.RunOptions{CheckInterval: 10 * time.Second, Groups: tt.groups(gw),
						OnAdopt: func(d *bluegreen.Deployment) { mu.Lock(); adopted = append(adopted, d); mu.Unlock() }})
				}()
				time.Sleep(15 * time.Minute)
				stop()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("Run: %v", err)
				}

				var names []string
				for _, d := range adopted {
					names = append(names, d.Service())
				}
				want := []string(nil)
				if tt.wantAdopt {
					want = []string{bluegreen.GroupKey("shop")}
				}
				if diff := cmp.Diff(want, names); diff != "" {
					t.Fatalf("adopted (-want +got):\n%s", diff)
				}
				group := state(t, gw.web, bluegreen.GroupKey("shop"))
				if !tt.wantAdopt {
					if group.Deployment == nil || group.Deployment.Finished {
						t.Errorf("the group was settled without being adopted: %+v", group.Deployment)
					}
					return
				}
				if res, err := adopted[0].Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
					t.Fatalf("adopted group: %v %v", res.Outcome, err)
				}
				if group.Deployment == nil || !group.Deployment.Finished || group.LeaseOwner != "" {
					t.Errorf("group record after adoption: %+v, lease %q", group.Deployment, group.LeaseOwner)
				}
				for _, m := range []struct {
					w       *world
					service string
				}{{gw.web, "web"}, {gw.api, "api"}} {
					if st := state(t, m.w, m.service); st.Live == nil || st.Live.Revision.Name != m.service+":2" || st.LeaseOwner != "" {
						t.Errorf("%s: live %v, lease %q; want %s:2 live, lease free", m.service, st.Live, st.LeaseOwner, m.service)
					}
				}
				if got := r2.Metrics().Adopted; got != 1 {
					t.Errorf("metrics count %d adoptions, want 1", got)
				}
			})
		})
	}
}
