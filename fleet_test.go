package bluegreen_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// fleetConfig is the configuration every replica of the fleet tests runs.
func fleetConfig(w *world, owner string) bluegreen.Config {
	return w.config(func(c *bluegreen.Config) {
		c.Owner, c.LeaseTTL = owner, time.Minute
		c.Shift, c.BakeTime = bluegreen.Linear(50, time.Minute), 5*time.Minute
		c.OnCancel = bluegreen.CancelDetach
	})
}

// adoptions records which replica adopted which deployment, and when.
type adoptions struct {
	mu  sync.Mutex
	by  map[string][]string // service -> replicas
	at  map[string]time.Time
	all []*bluegreen.Deployment
}

// snapshot returns copies of what was recorded.
func (a *adoptions) snapshot() (map[string][]string, map[string]time.Time, []*bluegreen.Deployment) {
	a.mu.Lock()
	defer a.mu.Unlock()
	by, at := map[string][]string{}, map[string]time.Time{}
	for k, v := range a.by {
		by[k] = append([]string(nil), v...)
	}
	for k, v := range a.at {
		at[k] = v
	}
	return by, at, append([]*bluegreen.Deployment(nil), a.all...)
}

func (a *adoptions) hook(replica string) func(*bluegreen.Deployment) {
	return func(dep *bluegreen.Deployment) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.by[dep.Service()] = append(a.by[dep.Service()], replica)
		a.at[dep.Service()] = time.Now()
		a.all = append(a.all, dep)
	}
}

// TestFleetAdoptsOrphans: a replica dies (its deployments stop where they
// are; their leases stay until they lapse). The two survivors running
// Deployer.Run adopt every one of its deployments within the lease TTL plus
// a check interval, each exactly once, spread over both, and resume them to
// the end: every service ends with its new revision live.
func TestFleetAdoptsOrphans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		w := newWorld(nil)
		services := make([]string, n)
		for i := range services {
			services[i] = fmt.Sprintf("svc-%02d", i)
			w.deployFirst(t, services[i])
		}
		// Replica r1 starts every deployment, then dies 30s in (mid-shift).
		ctx, die := context.WithCancel(t.Context())
		cfg := fleetConfig(w, "r1")
		ids := 0
		cfg.NewID = func() string { ids++; return fmt.Sprintf("d%02d", ids) }
		r1 := mustNew(t, cfg)
		var deps []*bluegreen.Deployment
		for _, s := range services {
			dep, err := r1.Start(ctx, s, rev(s+":2"))
			if err != nil {
				t.Fatal(err)
			}
			deps = append(deps, dep)
		}
		time.Sleep(30 * time.Second)
		die()
		for _, dep := range deps {
			<-dep.Done()
		}
		died := time.Now()

		adopted := &adoptions{by: map[string][]string{}, at: map[string]time.Time{}}
		runCtx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		replicas := map[string]*bluegreen.Deployer{}
		for _, name := range []string{"r2", "r3"} {
			r := mustNew(t, fleetConfig(w, name))
			replicas[name] = r.Deployer
			wg.Go(func() {
				err := r.Run(runCtx, bluegreen.RunOptions{CheckInterval: 10 * time.Second, OnAdopt: adopted.hook(name)})
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s: Run: %v", name, err)
				}
			})
		}
		time.Sleep(10 * time.Minute) // long enough for every resumed deployment to finish
		stop()
		wg.Wait()

		adoptedBy, adoptedAt, all := adopted.snapshot()
		perReplica := map[string]int{}
		var latest time.Duration
		for _, s := range services {
			by := adoptedBy[s]
			if len(by) != 1 {
				t.Errorf("%s adopted by %v, want exactly one replica", s, by)
				continue
			}
			perReplica[by[0]]++
			latest = max(latest, adoptedAt[s].Sub(died))
			if st := state(t, w, s); st.Live == nil || st.Live.Revision.Name != s+":2" || st.LeaseOwner != "" {
				t.Errorf("%s: live %v, lease %q; want %s:2 live, lease free", s, st.Live, st.LeaseOwner, s)
			}
		}
		// The lease lapses a minute after its last renewal (at most 20s
		// before the death), and replicas look every 10s (plus jitter).
		if latest > time.Minute+11*time.Second {
			t.Errorf("the last orphan was adopted %v after the death, want within the lease TTL plus a check interval", latest)
		}
		if len(perReplica) != 2 {
			t.Errorf("adoptions per replica %v, want both survivors to share them", perReplica)
		}
		for _, dep := range all {
			if res, err := dep.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
				t.Errorf("%s: %v %v", dep.Service(), res.Outcome, err)
			}
		}
		var adoptedTotal int64
		for name, r := range replicas {
			m := r.Metrics()
			adoptedTotal += m.Adopted
			if int(m.Adopted) != perReplica[name] {
				t.Errorf("%s: metrics say %d adopted, the test saw %d", name, m.Adopted, perReplica[name])
			}
		}
		if adoptedTotal != n {
			t.Errorf("%d adoptions in the metrics, want %d", adoptedTotal, n)
		}
		t.Logf("adoptions per replica %v; last adopted %v after the death", perReplica, latest)
	})
}

// TestFleetGracefulHandover: a replica whose Run is stopped hands its
// deployments over at once (their leases given up), so another replica
// adopts them at its next check, not after the lease TTL, and resumes them.
func TestFleetGracefulHandover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		cfg := fleetConfig(w, "leaving")
		cfg.NewID = func() string { return "d1" }
		leaving := mustNew(t, cfg)
		leaveCtx, leave := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- leaving.Run(leaveCtx, bluegreen.RunOptions{CheckInterval: 10 * time.Second}) }()
		dep, err := leaving.Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Minute) // in the bake time
		leave()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
		res, err := dep.Wait(t.Context())
		if !errors.Is(err, bluegreen.ErrCanceled) || !strings.Contains(err.Error(), "handed over") || res.Outcome != bluegreen.OutcomeFailed {
			t.Fatalf("the handed-over deployment ended %v, %v", res.Outcome, err)
		}
		if st := state(t, w, "web"); st.LeaseOwner != "" || st.Deployment.Finished {
			t.Fatalf("after the handover: lease %q, deployment %+v; want the lease free and the deployment unfinished", st.LeaseOwner, st.Deployment)
		}
		handedOver := time.Now()
		adopted := &adoptions{by: map[string][]string{}, at: map[string]time.Time{}}
		staying := mustNew(t, fleetConfig(w, "staying"))
		runCtx, stop := context.WithCancel(t.Context())
		go func() {
			_ = staying.Run(runCtx, bluegreen.RunOptions{CheckInterval: 10 * time.Second, OnAdopt: adopted.hook("staying")})
		}()
		time.Sleep(time.Second)
		by, at, all := adopted.snapshot()
		if len(all) != 1 {
			t.Fatalf("nothing adopted a second after the handover (adoptions %v)", by)
		}
		if lat := at["web"].Sub(handedOver); lat >= time.Minute {
			t.Errorf("adopted %v after the handover, want at once (not after the lease TTL)", lat)
		}
		res, err = all[0].Wait(t.Context())
		stop()
		if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("resumed deployment: %v %v", res.Outcome, err)
		}
		// It was 3m into its 5m bake: the rest (2m) is honoured.
		if took := res.Finished.Sub(handedOver); took < 2*time.Minute {
			t.Errorf("resumed deployment finished %v after the handover, want the 2m left of its bake", took)
		}
		if m := leaving.Metrics(); m.HandedOver != 1 {
			t.Errorf("leaving replica's metrics %+v, want one handover", m)
		}
		var b strings.Builder
		if err := staying.WritePrometheus(&b); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`bluegreen_deployments_adopted_total{owner="staying"} 1`,
			`bluegreen_deployments_ended_total{owner="staying",outcome="SUCCEEDED"} 1`,
			`bluegreen_deployments_in_flight{owner="staying",stage="BAKE_TIME"} 0`,
		} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("metrics lack %q:\n%s", want, b.String())
			}
		}
	})
}

// noList is a store that cannot list.
type noList struct{ bluegreen.Store }

// TestRunNeedsALister: a store that cannot list unfinished deployments is
// refused with an error naming the field.
func TestRunNeedsALister(t *testing.T) {
	w := newWorld(nil)
	d := mustNew(t, w.config(func(c *bluegreen.Config) { c.Store = noList{bluegreen.NewMemoryStore()} }))
	err := d.Run(t.Context(), bluegreen.RunOptions{})
	var ce *bluegreen.ConfigError
	if !errors.As(err, &ce) || ce.Field != "Config.Store" {
		t.Fatalf("Run over a store without Lister: %v", err)
	}
}
