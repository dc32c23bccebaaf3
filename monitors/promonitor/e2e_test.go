package promonitor_test

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"github.com/bluegreen-go/bluegreen/monitors/promonitor"
)

// traffic is a model of a service's requests for the fake Prometheus to
// answer from, in virtual time: perMinute requests a minute split between
// the slots by the router's production weights, a share of each slot's
// failing. It integrates lazily, at each query, with the weights then in
// force (the monitor is checked often enough for that to be close).
type traffic struct {
	router    *bluegreentest.Router
	perMinute float64
	failing   map[bluegreen.Slot]float64 // share of requests that fail

	mu           sync.Mutex
	last         time.Time
	reqs, errors map[bluegreen.Slot]float64 // since the slot last had no traffic
}

func (m *traffic) advance(at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reqs == nil {
		m.reqs, m.errors = map[bluegreen.Slot]float64{}, map[bluegreen.Slot]float64{}
	}
	routes := m.router.Current("web")
	if !m.last.IsZero() {
		minutes := at.Sub(m.last).Minutes()
		for _, s := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
			share := routes.Production.Of(s).Percent() / 100
			if share == 0 {
				m.reqs[s], m.errors[s] = 0, 0 // a new environment starts afresh
				continue
			}
			n := minutes * m.perMinute * share
			m.reqs[s] += n
			m.errors[s] += n * m.failing[s]
		}
	}
	m.last = at
}

// register answers the count and ratio queries of both slots.
func (m *traffic) register(f *fakeProm) {
	for _, s := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
		f.set(`requests:count{service="web",slot="`+string(s)+`"}`, func(at time.Time) answer {
			m.advance(at)
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.reqs[s] == 0 {
				return vector() // no series yet
			}
			return vector(math.Floor(m.reqs[s]))
		})
		f.set(`errors:ratio{service="web",slot="`+string(s)+`"}`, func(at time.Time) answer {
			m.advance(at)
			m.mu.Lock()
			defer m.mu.Unlock()
			return vector(m.errors[s] / m.reqs[s]) // NaN without requests, as 0/0 in PromQL
		})
	}
}

// deployer builds a Deployer over the bluegreentest fakes, with the
// Prometheus monitor reaching the fake in process.
func deployer(t *testing.T, fake *fakeProm, router *bluegreentest.Router, tune func(*bluegreen.Config)) *bluegreen.Deployer {
	t.Helper()
	mon, err := promonitor.New(promonitor.Options{
		URL: "http://prometheus.invalid:9090", Query: ratioTmpl, Threshold: 0.05,
		MinSampleQuery: countTmpl, MinSamples: 10, Name: "green-errors",
		Client: &http.Client{Transport: inProcess{fake}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := bluegreen.Config{
		Compute: bluegreentest.NewCompute(bluegreentest.ComputeOptions{}), Router: router,
		Store: bluegreentest.NewStore(bluegreen.NewMemoryStore()),
		Shift: bluegreen.Linear(10, 5*time.Minute), BakeTime: 10 * time.Minute,
		Monitors: []bluegreen.Monitor{mon}, MonitorInterval: 30 * time.Second, InconclusiveTimeout: 30 * time.Minute,
	}
	if tune != nil {
		tune(&cfg)
	}
	d, err := bluegreen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func maxGreen(router *bluegreentest.Router, slot bluegreen.Slot) bluegreen.Weight {
	var most bluegreen.Weight
	for _, r := range router.History("web") {
		most = max(most, r.Production.Of(slot))
	}
	return most
}

// TestLowTrafficGreenRolledBack: green gets 2 requests a minute at the
// first 10% step and fails half of them. The monitor is inconclusive until
// 10 requests have been seen (5 virtual minutes), then fires; green never
// gets more than its first step.
func TestLowTrafficGreenRolledBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		router := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
		fake := newFakeProm()
		model := &traffic{router: router, perMinute: 20, failing: map[bluegreen.Slot]float64{bluegreen.SlotB: 0.5}}
		model.register(fake)
		d := deployer(t, fake, router, nil)
		if _, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:1"}); err != nil {
			t.Fatalf("first deployment: %v", err)
		}
		start := time.Now()
		res, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
		if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil {
			t.Fatalf("web:2: %+v, %v; want a rollback", res, err)
		}
		rb := res.Rollback
		if rb.Trigger != bluegreen.TriggerMonitor || rb.By != "green-errors" || rb.Step != 1 ||
			!strings.Contains(rb.Reason, `errors:ratio{service="web",slot="B"} answered {instance="10.0.0.1:8080"} => 0.5, > 0.05`) {
			t.Errorf("rollback %+v; want green-errors firing at step 1 on a 50%% error ratio", rb)
		}
		if w := maxGreen(router, bluegreen.SlotB); w != bluegreen.Percent(10) {
			t.Errorf("green reached %v of production, want 10%% at most", w)
		}
		if got := router.Current("web").Production; got != bluegreen.AllTo(bluegreen.SlotA) {
			t.Errorf("production after the rollback: %v, want all on A", got)
		}
		// Inconclusive for the 5 minutes 10 requests take at 2 a minute,
		// then one alarm: not before, and well before the 30m timeout.
		if took := rb.At.Sub(start); took < 5*time.Minute || took > 7*time.Minute {
			t.Errorf("rolled back %v after the start, want after 5 to 7 virtual minutes", took)
		}
	})
}

// TestInconclusiveTimeout: green's requests never show up (no series), so
// the monitor stays inconclusive; after InconclusiveTimeout the deployment
// rolls back, or with InconclusiveContinue carries on to 100%.
func TestInconclusiveTimeout(t *testing.T) {
	for _, tt := range []struct {
		name   string
		action bluegreen.InconclusiveAction
	}{{"rollback", bluegreen.InconclusiveRollback}, {"continue", bluegreen.InconclusiveContinue}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				router := bluegreentest.NewRouter(bluegreentest.RouterOptions{})
				fake := newFakeProm()
				model := &traffic{router: router, perMinute: 20}
				model.register(fake)
				fake.setAnswer(greenCount, vector()) // slot B's metrics are missing
				d := deployer(t, fake, router, func(c *bluegreen.Config) {
					c.Shift, c.BakeTime = bluegreen.AllAtOnce(), time.Minute
					c.InconclusiveTimeout, c.OnInconclusive = 10*time.Minute, tt.action
				})
				if _, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:1"}); err != nil {
					t.Fatalf("first deployment: %v", err)
				}
				start := time.Now()
				res, err := d.Deploy(t.Context(), "web", bluegreen.Revision{Name: "web:2"})
				took := time.Since(start)
				if took < 10*time.Minute {
					t.Errorf("the deployment ended after %v, before the 10m InconclusiveTimeout", took)
				}
				if tt.action == bluegreen.InconclusiveContinue {
					if err != nil {
						t.Fatalf("web:2: %v; want it to carry on", err)
					}
					if got := router.Current("web").Production; got != bluegreen.AllTo(bluegreen.SlotB) {
						t.Errorf("production %v, want all on B", got)
					}
					return
				}
				if !errors.Is(err, bluegreen.ErrRolledBack) || res.Rollback == nil {
					t.Fatalf("web:2: %+v, %v; want a rollback", res, err)
				}
				if rb := res.Rollback; rb.Trigger != bluegreen.TriggerMonitor || rb.By != "green-errors" ||
					!strings.Contains(rb.Reason, "inconclusive for 10m0s") {
					t.Errorf("rollback %+v; want green-errors inconclusive for 10m", rb)
				}
				if got := router.Current("web").Production; got != bluegreen.AllTo(bluegreen.SlotA) {
					t.Errorf("production after the rollback: %v, want all on A", got)
				}
			})
		})
	}
}
