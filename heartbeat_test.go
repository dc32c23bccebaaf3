package bluegreen_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/internal/svcname"
)

// savesOf counts the saves of each key in the calls of store.
func savesOf(store *bluegreentest.Store) map[string]int {
	out := map[string]int{}
	for _, c := range store.CallsOf("Save") {
		out[c.Service]++
	}
	return out
}

// TestHeartbeatRenewsEveryLeaseAtOnce: one Deployer driving n deployments
// through a long bake writes each deployment's record only when its state
// changes (as many saves as one deployment alone), and keeps all their
// leases with one heartbeat record, written every third of the lease TTL
// whatever n is.
func TestHeartbeatRenewsEveryLeaseAtOnce(t *testing.T) {
	for _, n := range []int{1, 25} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				services := make([]string, n)
				for i := range services {
					services[i] = fmt.Sprintf("svc-%02d", i)
					w.deployFirst(t, services[i])
				}
				w.store.Reset()
				cfg := fleetConfig(w, "r1")
				cfg.BakeTime = 10 * time.Minute
				var ids atomic.Int64
				cfg.NewID = func() string { return fmt.Sprintf("d%02d", ids.Add(1)) }
				d := mustNew(t, cfg)
				start := time.Now()
				var wg sync.WaitGroup
				for _, s := range services {
					wg.Go(func() {
						if _, err := d.Deploy(t.Context(), s, rev(s+":2")); err != nil {
							t.Errorf("%s: %v", s, err)
						}
					})
				}
				wg.Wait()
				took := time.Since(start)

				saves := savesOf(w.store)
				beats := saves[bluegreen.ReplicaKey("r1")]
				perService := map[int]int{}
				for _, s := range services {
					perService[saves[s]]++
				}
				// Deployments that never wait a third of the TTL without a
				// save need no beat; these bake for 10 minutes.
				maxBeats := int(took/(cfg.LeaseTTL/3)) + 1
				if beats < 1 || beats > maxBeats {
					t.Errorf("%d heartbeats over %v, want 1 to %d", beats, took, maxBeats)
				}
				if got := d.Metrics().Heartbeats; got != int64(beats) {
					t.Errorf("metrics count %d heartbeats, the store saw %d", got, beats)
				}
				if len(perService) != 1 {
					t.Errorf("record saves per service vary: %v (saves: count of services)", perService)
				}
				for count := range perService {
					// Without the heartbeat each record would also be renewed
					// every 20s of the bake.
					if count > 20 {
						t.Errorf("%d saves of each record, want only the state changes (under 20)", count)
					}
					t.Logf("%d deployments over %v: %d saves of each record, %d heartbeats in all", n, took, count, beats)
				}
			})
		})
	}
}

// TestHeartbeatHoldsLeasesPastTheirRecords: while the owner beats, its
// lease holds after the record's own expiry has passed, and another owner
// is refused. When the beats fail, the deployment renews its own record
// instead, so the lease still holds, and the deployment ends as it should.
func TestHeartbeatHoldsLeasesPastTheirRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(nil)
		w.deployFirst(t, "web")
		cfg := fleetConfig(w, "r1")
		cfg.BakeTime = 10 * time.Minute
		dep, err := mustNew(t, cfg).Start(t.Context(), "web", rev("web:2"))
		if err != nil {
			t.Fatal(err)
		}
		other := mustNew(t, fleetConfig(w, "r2"))
		refused := func(when string) {
			t.Helper()
			_, err := other.Start(t.Context(), "web", rev("web:3"))
			var ie *bluegreen.InProgressError
			if !errors.As(err, &ie) || ie.Holder != "r1" || !ie.Expires.After(time.Now()) {
				t.Fatalf("%s: another owner's Start: %v, want an InProgressError naming r1 with an expiry ahead", when, err)
			}
		}

		time.Sleep(5 * time.Minute) // mid-bake: the record was last saved minutes ago
		st := state(t, w, "web")
		if !st.LeaseHeartbeat || st.LeaseOwner != "r1" || st.LeaseExpires.After(time.Now()) {
			t.Fatalf("mid-bake lease: owner %q, expires %v (now %v), heartbeat %v; want r1's, past its own expiry, kept by the heartbeat",
				st.LeaseOwner, st.LeaseExpires, time.Now(), st.LeaseHeartbeat)
		}
		refused("mid-bake, heartbeat beating")

		beatsFail := errors.New("heartbeat refused")
		w.store.React(func(_ context.Context, c bluegreentest.Call) error {
			if c.Op == "Save" && strings.HasPrefix(c.Service, "replica:") {
				return bluegreen.NewError(bluegreen.CodeTransient, beatsFail)
			}
			return nil
		})
		time.Sleep(2 * time.Minute) // past the last beat's expiry
		if st := state(t, w, "web"); !st.LeaseExpires.After(time.Now()) {
			t.Errorf("with the heartbeat failing, the record's own lease expires %v, before now (%v): it was not renewed", st.LeaseExpires, time.Now())
		}
		refused("heartbeat failing")
		if res, err := dep.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("deployment: %v %v", res.Outcome, err)
		}
	})
}

// apiBesideDetachingWeb has Deployer r1 start api and web (both with a
// 10-minute bake) and cancel web's context 90 s in, which detaches it
// while r1 goes on beating for api.
func apiBesideDetachingWeb(t *testing.T) (w *world, api, web *bluegreen.Deployment) {
	t.Helper()
	w = newWorld(nil)
	w.deployFirst(t, "api")
	w.deployFirst(t, "web")
	cfg := fleetConfig(w, "r1")
	cfg.BakeTime = 10 * time.Minute
	r1 := mustNew(t, cfg)
	api, err := r1.Start(t.Context(), "api", rev("api:2"))
	if err != nil {
		t.Fatal(err)
	}
	web, err = r1.startCancelable(t, "web", rev("web:2"), 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return w, api, web
}

// TestHeartbeatLetsADetachedDeploymentLapse: a deployment that stops
// unfinished (its context canceled, CancelDetach) while its Deployer goes
// on beating for another one is not held by those beats: its lease lapses
// a TTL after it stopped and another owner settles it.
func TestHeartbeatLetsADetachedDeploymentLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, api, web := apiBesideDetachingWeb(t)
		cfg := fleetConfig(w, "r1") // r1's lease TTL
		if _, err := web.Wait(t.Context()); !errors.Is(err, bluegreen.ErrCanceled) {
			t.Fatalf("web: %v, want it detached", err)
		}
		detached := time.Now()
		if st := state(t, w, "web"); st.LeaseOwner != "r1" || st.LeaseHeartbeat || !st.LeaseExpires.Equal(detached.Add(cfg.LeaseTTL)) {
			t.Errorf("detached lease: owner %q, heartbeat %v, expires %v; want r1's, lapsing on its own at %v",
				st.LeaseOwner, st.LeaseHeartbeat, st.LeaseExpires, detached.Add(cfg.LeaseTTL))
		}
		time.Sleep(cfg.LeaseTTL + time.Second)
		rdep, err := mustNew(t, fleetConfig(w, "r2")).StartReconcile(t.Context(), "web")
		if err != nil {
			t.Fatalf("r2 settling web while r1 beats for api: %v", err)
		}
		if res, err := rdep.Wait(t.Context()); err != nil && !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("r2's Reconcile of web: %v %v", res.Outcome, err)
		}
		if res, err := api.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("api: %v %v", res.Outcome, err)
		}
	})
}

// TestHeartbeatReplicaCutOff: a replica loses its store (every call
// fails, as over a lost network): its heartbeat stops with it, and a
// survivor running Deployer.Run adopts all its deployments within the lease
// TTL plus a check interval of the cut, and finishes them.
func TestHeartbeatReplicaCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 10
		w := newWorld(nil)
		services := make([]string, n)
		for i := range services {
			services[i] = fmt.Sprintf("svc-%02d", i)
			w.deployFirst(t, services[i])
		}
		// r1 reaches the same records through a store of its own, which
		// is cut off later.
		cutStore := bluegreentest.NewStore(w.store.Inner())
		cfg := fleetConfig(w, "r1")
		cfg.Store, cfg.BakeTime = cutStore, 10*time.Minute
		r1 := mustNew(t, cfg)
		var deps []*bluegreen.Deployment
		for _, s := range services {
			dep, err := r1.Start(t.Context(), s, rev(s+":2"))
			if err != nil {
				t.Fatal(err)
			}
			deps = append(deps, dep)
		}
		time.Sleep(4 * time.Minute) // in the bake, leases held by the heartbeat alone
		cutStore.Inject("", bluegreen.NewError(bluegreen.CodeTransient, errors.New("network unreachable")), 0)
		cut := time.Now()

		adopted := &adoptions{by: map[string][]string{}, at: map[string]time.Time{}}
		runCtx, stop := context.WithCancel(t.Context())
		r2 := mustNew(t, fleetConfig(w, "r2"))
		const interval = 10 * time.Second
		done := make(chan error)
		go func() {
			done <- r2.Run(runCtx, bluegreen.RunOptions{CheckInterval: interval, OnAdopt: adopted.hook("r2")})
		}()
		time.Sleep(15 * time.Minute)
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		for _, dep := range deps {
			if _, err := dep.Wait(t.Context()); err == nil {
				t.Errorf("%s: the cut-off replica's deployment succeeded", dep.Service())
			}
		}
		by, at, all := adopted.snapshot()
		var latest time.Duration
		for _, s := range services {
			if diff := cmp.Diff([]string{"r2"}, by[s]); diff != "" {
				t.Errorf("%s adopted by (-want +got):\n%s", s, diff)
			}
			latest = max(latest, at[s].Sub(cut))
			if st := state(t, w, s); st.Live == nil || st.Live.Revision.Name != s+":2" || st.LeaseOwner != "" {
				t.Errorf("%s: live %v, lease %q; want %s:2 live, lease free", s, st.Live, st.LeaseOwner, s)
			}
		}
		// The leases lapse at most a TTL after the cut (the last beat came
		// before it); Run looks every interval (plus a tenth of jitter) and
		// paces its claims over half an interval.
		if limit := cfg.LeaseTTL + interval + interval/10 + interval/2; latest > limit {
			t.Errorf("the last orphan was adopted %v after the cut, want within %v", latest, limit)
		}
		for _, dep := range all {
			if res, err := dep.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
				t.Errorf("%s resumed: %v %v", dep.Service(), res.Outcome, err)
			}
		}
		t.Logf("%d deployments adopted, the last %v after the cut", len(all), latest)
	})
}

// TestReplicaKey: heartbeat keys are valid file names, distinct for
// distinct owners, readable, and refused as service names.
func TestReplicaKey(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		owner, want string
	}{
		{"r1", "replica:r1"},
		{"pod-7.deployer", "replica:pod-7.deployer"},
		{"host/pid-42/abc123", "replica:host_pid-42_abc123-"},
		{`host\pid`, "replica:host_pid-"},
		{"host_pid-42_abc123", "replica:host_pid-42_abc123"},
		{".hidden", "replica:_hidden-"},
		{"a\x00b", "replica:a_b-"},
		{long, "replica:" + long[:143]},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := bluegreen.ReplicaKey(tt.owner)
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("ReplicaKey(%q) = %q, want it to begin with %q", tt.owner, got, tt.want)
		}
		if err := svcname.Check(got); err != nil {
			t.Errorf("ReplicaKey(%q) = %q, not a safe file name: %v", tt.owner, got, err)
		}
		if prev, ok := seen[got]; ok {
			t.Errorf("owners %q and %q share the key %q", prev, tt.owner, got)
		}
		seen[got] = tt.owner
	}
	w := newWorld(nil)
	_, err := mustNew(t, w.config(nil)).Deploy(t.Context(), "replica:r1", rev("x:1"))
	var ce *bluegreen.ConfigError
	if !errors.As(err, &ce) || ce.Field != "service" {
		t.Errorf("deploying a service named like a heartbeat record: %v, want a ConfigError on the service", err)
	}
}

// TestRunSkipsLiveOwnersWithoutLoading: a replica's adoption passes read
// the listing and each owner's heartbeat once a pass, and load no record
// of a deployment whose owner is alive, however many there are.
func TestRunSkipsLiveOwnersWithoutLoading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 12
		w := newWorld(nil)
		for i := range n {
			w.deployFirst(t, fmt.Sprintf("svc-%02d", i))
		}
		cfg := fleetConfig(w, "r1")
		cfg.BakeTime = 10 * time.Minute
		r1 := mustNew(t, cfg)
		var deps []*bluegreen.Deployment
		for i := range n {
			s := fmt.Sprintf("svc-%02d", i)
			dep, err := r1.Start(t.Context(), s, rev(s+":2"))
			if err != nil {
				t.Fatal(err)
			}
			deps = append(deps, dep)
		}
		time.Sleep(3 * time.Minute) // baking: the records' own expiries have passed

		watched := bluegreentest.NewStore(w.store.Inner())
		cfg2 := fleetConfig(w, "r2")
		cfg2.Store = watched
		r2 := mustNew(t, cfg2)
		ctx, stop := context.WithCancel(t.Context())
		const interval = 10 * time.Second
		done := make(chan error)
		go func() { done <- r2.Run(ctx, bluegreen.RunOptions{CheckInterval: interval}) }()
		time.Sleep(5 * time.Minute)
		stop()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		loads := map[string]int{}
		for _, c := range watched.CallsOf("Load") {
			loads[c.Service]++
		}
		passes := len(watched.CallsOf("Unfinished"))
		if diff := cmp.Diff(map[string]int{bluegreen.ReplicaKey("r1"): passes}, loads); diff != "" {
			t.Errorf("loads over %d adoption passes (-want +got):\n%s", passes, diff)
		}
		if got := r2.Metrics().Adopted; got != 0 {
			t.Errorf("r2 adopted %d deployments of a live owner", got)
		}
		for _, dep := range deps {
			if res, err := dep.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
				t.Errorf("%s: %v %v", dep.Service(), res.Outcome, err)
			}
		}
	})
}

// TestHeartbeatRetriesALapseItCouldNotWrite: when the store refuses the
// write that lets a detached deployment's lease lapse on its own, the
// Deployer tries again at its next beat; without that, its beats for
// another deployment would keep the detached one held.
func TestHeartbeatRetriesALapseItCouldNotWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, api, web := apiBesideDetachingWeb(t)
		cfg := fleetConfig(w, "r1") // r1's lease TTL
		time.Sleep(89 * time.Second)
		refused := 0
		w.store.React(func(_ context.Context, c bluegreentest.Call) error {
			if c.Op == "Save" && c.Service == "web" {
				refused++
				return bluegreen.NewError(bluegreen.CodeTransient, errors.New("store unavailable"))
			}
			return nil
		})
		if _, err := web.Wait(t.Context()); !errors.Is(err, bluegreen.ErrCanceled) {
			t.Fatalf("web: %v, want it detached", err)
		}
		w.store.ClearFaults()
		if st := state(t, w, "web"); refused == 0 || !st.LeaseHeartbeat {
			t.Fatalf("after the refused write (%d refused): lease %+v; want it still kept by the heartbeat", refused, st)
		}
		// The next beat (within a third of the TTL) retries the write; the
		// lease then lapses a TTL later, while r1 still beats for api.
		time.Sleep(cfg.LeaseTTL/3 + cfg.LeaseTTL + time.Second)
		if st := state(t, w, "web"); st.LeaseHeartbeat {
			t.Fatalf("lease of the detached deployment still kept by the heartbeat: %+v", st)
		}
		rdep, err := mustNew(t, fleetConfig(w, "r2")).StartReconcile(t.Context(), "web")
		if err != nil {
			t.Fatalf("r2 settling web while r1 beats for api: %v", err)
		}
		if res, err := rdep.Wait(t.Context()); err != nil && !errors.Is(err, bluegreen.ErrRolledBack) {
			t.Fatalf("r2's Reconcile of web: %v %v", res.Outcome, err)
		}
		if res, err := api.Wait(t.Context()); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
			t.Fatalf("api: %v %v", res.Outcome, err)
		}
	})
}

// saveOnly is a Store that cannot delete records.
type saveOnly struct{ bluegreen.Store }

// TestHeartbeatRecordRetires: a Deployer deletes its heartbeat record when
// its last deployment ends, so that Deployers that come and go leave no
// record behind; not while another deployment is driven, not when the
// store cannot delete, and a failed delete is only logged: the next
// deployment beats over the record left and retires it.
func TestHeartbeatRecordRetires(t *testing.T) {
	tests := []struct {
		name       string
		bake       time.Duration
		allAtOnce  bool            // no step waits
		starts     []time.Duration // one deployment each, started this long after the first
		saveOnly   bool            // the store cannot delete
		failDelete bool            // the first delete fails
		// wantKept: the heartbeat record is still stored at the end.
		wantKept    bool
		wantDeletes int
	}{
		{name: "one long deployment", bake: 10 * time.Minute, starts: []time.Duration{0}, wantDeletes: 1},
		{name: "short deployment: never beats", bake: time.Second, allAtOnce: true, starts: []time.Duration{0}},
		{name: "overlapping deployments: after the last", bake: 10 * time.Minute, starts: []time.Duration{0, 5 * time.Minute}, wantDeletes: 1},
		{name: "store cannot delete", bake: 10 * time.Minute, starts: []time.Duration{0}, saveOnly: true, wantKept: true},
		{name: "delete fails", bake: 10 * time.Minute, starts: []time.Duration{0}, failDelete: true, wantKept: true, wantDeletes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(nil)
				key := bluegreen.ReplicaKey("r1")
				services := make([]string, len(tt.starts))
				for i := range services {
					services[i] = fmt.Sprintf("svc-%d", i)
					w.deployFirst(t, services[i])
				}
				w.store.Reset()
				if tt.failDelete {
					var failed atomic.Bool
					w.store.React(func(_ context.Context, c bluegreentest.Call) error {
						if c.Op == "Delete" && !failed.Swap(true) {
							return bluegreen.NewError(bluegreen.CodeTransient, errors.New("throttled"))
						}
						return nil
					})
				}
				stored := func() bool {
					rec, err := w.store.Inner().Load(context.Background(), key)
					if err != nil {
						t.Error(err)
					}
					return rec.Version > 0
				}
				cfg := fleetConfig(w, "r1")
				cfg.BakeTime = tt.bake
				var ids atomic.Int64
				cfg.NewID = func() string { return fmt.Sprintf("d%02d", ids.Add(1)) }
				if tt.allAtOnce {
					cfg.Shift = bluegreen.AllAtOnce()
				}
				if tt.saveOnly {
					cfg.Store = saveOnly{w.store}
				}
				d := mustNew(t, cfg) // drives them all: the record outlives all but the last
				begin := time.Now()
				var wg sync.WaitGroup
				storedAtEnd := make([]bool, len(tt.starts))
				for i, at := range tt.starts {
					wg.Go(func() {
						time.Sleep(at - time.Since(begin))
						res, err := d.Deploy(t.Context(), services[i], rev(services[i]+":2"))
						if err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
							t.Errorf("%s: %v %v", services[i], res.Outcome, err)
						}
						storedAtEnd[i] = stored()
					})
				}
				wg.Wait()
				for i := range len(tt.starts) - 1 {
					if !storedAtEnd[i] {
						t.Errorf("%s ended while another deployment was driven, and the heartbeat record went with it", services[i])
					}
				}
				beats := savesOf(w.store)[key]
				if tt.allAtOnce && tt.bake < cfg.LeaseTTL/3 && beats > 0 {
					t.Errorf("a deployment shorter than a third of the TTL beat %d times", beats)
				}
				if got := len(w.store.CallsOf("Delete")); got != tt.wantDeletes {
					t.Errorf("%d deletes, want %d (after %d beats)", got, tt.wantDeletes, beats)
				}
				if got := stored(); got != tt.wantKept {
					t.Errorf("heartbeat record stored at the end: %v, want %v", got, tt.wantKept)
				}
				if !tt.failDelete {
					return
				}
				if res, err := d.Deploy(t.Context(), services[0], rev(services[0]+":3")); err != nil || res.Outcome != bluegreen.OutcomeSucceeded {
					t.Fatalf("next deployment: %v %v", res.Outcome, err)
				}
				if stored() {
					t.Errorf("after the next deployment, the heartbeat record is still stored")
				}
			})
		})
	}
}
