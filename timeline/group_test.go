package timeline_test

import (
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/timeline"
)

// TestRealGroupRollback draws the log of a release group run by the
// Deployer on fakes: worker's hook fails at POST_TEST_TRAFFIC_SHIFT and
// the group rolls both members back.
func TestRealGroupRollback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []bluegreen.Event
		d, err := bluegreen.New(bluegreen.Config{
			Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}),
			Router:  bluegreentest.NewRouter(bluegreentest.RouterOptions{}),
			Store:   bluegreen.NewMemoryStore(),
			Callbacks: bluegreen.Callbacks{OnEvent: func(ev bluegreen.Event) {
				mu.Lock()
				events = append(events, ev)
				mu.Unlock()
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		smoke := []bluegreen.LifecycleHook{{Name: "smoke", Stages: []bluegreen.Stage{bluegreen.StagePostTestTrafficShift},
			Hook: bluegreentest.NewHook(bluegreentest.Fail("worker answered 500"))}}
		g := bluegreen.Group{Name: "release", Shift: bluegreen.Linear(50, time.Minute), Members: []bluegreen.Member{
			{Service: "api", Revision: bluegreen.Revision{Name: "api:1"}},
			{Service: "worker", Revision: bluegreen.Revision{Name: "worker:1"}},
		}}
		if _, err := d.DeployGroup(t.Context(), g); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		events = nil
		mu.Unlock()
		g.Members[0].Revision.Name, g.Members[1].Revision.Name, g.Members[1].Hooks = "api:2", "worker:2", smoke
		res, err := d.DeployGroup(t.Context(), g)
		if res.Outcome != bluegreen.OutcomeRolledBack {
			t.Fatalf("outcome %s (%v), want ROLLED_BACK", res.Outcome, err)
		}
		mu.Lock()
		defer mu.Unlock()
		root, _ := render(t, events, timeline.Options{})
		ls := lanes(root)
		for _, m := range []string{"api", "worker"} {
			l := ls[m]
			if l == nil {
				t.Fatalf("no lane for %s: lanes %q", m, keys(ls))
			}
			stages := stageNames(t, l)
			if len(stages) == 0 || stages[0] != "RECONCILE_SERVICE" {
				t.Errorf("%s: stage bars %q", m, stages)
			}
			rbs := l.all("rollback")
			if len(rbs) != 1 || !strings.Contains(rbs[0].allText(), "HOOK") {
				t.Errorf("%s: %d rollbacks drawn, want one by the hook", m, len(rbs))
			}
			if w := l.all("production-weight"); len(w) == 1 && strings.Contains(strings.Join(strings.Fields(w[0].attr["points"]), " "), "NaN") {
				t.Errorf("%s: bad points", m)
			}
		}
		if g := ls[""]; g == nil || !strings.Contains(g.allText(), "group") {
			t.Errorf("the group's own events have no lane labelled group")
		}
		if n := len(ls["worker"].all("hook-answered")); n == 0 {
			t.Error("worker's failed hook is not drawn")
		}
		t.Logf("lanes %q; api %d bars, worker %d bars", keys(ls), len(ls["api"].all("stage")), len(ls["worker"].all("stage")))
	})
}
