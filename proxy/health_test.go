package proxy

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// TestActiveHealthCheck: an instance failing its health check is taken out
// after UnhealthyThreshold failures, traffic avoids it, and it comes back
// after HealthyThreshold successes.
func TestActiveHealthCheck(t *testing.T) {
	t.Parallel()
	var sick atomic.Bool
	var checks atomic.Int64
	flaky := newBackend(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			checks.Add(1)
			if sick.Load() {
				http.Error(w, "sick", http.StatusInternalServerError)
				return
			}
		}
		io.WriteString(w, "flaky")
	})
	steady := newBackend(t, "steady", nil)
	// A generous timeout: the steady instance must not fail a check under load.
	hc := HealthCheck{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: 45 * time.Millisecond, HealthyThreshold: 3, UnhealthyThreshold: 2}
	p := startProxy(t, Options{Defaults: ServiceConfig{HealthCheck: hc}})
	mustSetup(t, p, []string{flaky.addr(), steady.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	ctx := context.Background()
	healthy := func(want bool) func() bool {
		return func() bool {
			ts, _ := p.Targets(ctx, "web", bluegreen.SlotA)
			return ts[0].Healthy == want
		}
	}
	eventually(t, "health checks run", func() bool { return checks.Load() >= 2 })
	if !healthy(true)() {
		t.Fatal("a passing instance is unhealthy")
	}

	sick.Store(true)
	eventually(t, "the failing instance is marked unhealthy", healthy(false))
	if n := checks.Load(); n < 2+int64(hc.UnhealthyThreshold) {
		t.Errorf("marked unhealthy after %d checks in all; threshold is %d failures", n, hc.UnhealthyThreshold)
	}
	c := newClient(t)
	for range 20 {
		if _, body := get(t, c, "http://"+p.Addr()+"/", nil); body != "steady" {
			t.Fatalf("request went to %q while it was unhealthy", body)
		}
	}

	sick.Store(false)
	before := checks.Load()
	eventually(t, "the instance recovers", healthy(true))
	if n := checks.Load() - before; n < int64(hc.HealthyThreshold) {
		t.Errorf("back after %d checks, want at least the healthy threshold %d", n, hc.HealthyThreshold)
	}
}

func TestHealthChecksStopWithTheirInstance(t *testing.T) {
	var checks atomic.Int64
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) { checks.Add(1) })
	hc := HealthCheck{Path: "/healthz", Interval: 5 * time.Millisecond, Timeout: 2 * time.Millisecond}
	p := startProxy(t, Options{Defaults: ServiceConfig{HealthCheck: hc}})
	ctx := context.Background()
	if err := p.SetTargets(ctx, "web", bluegreen.SlotA, []string{b.addr()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "checks run", func() bool { return checks.Load() > 0 })
	tgt := (*p.services["web"].pools[0].targets.Load())[0]
	if err := p.SetTargets(ctx, "web", bluegreen.SlotA, nil); err != nil {
		t.Fatal(err)
	}
	tgt.mu.Lock()
	stopped := tgt.gone.Load() && tgt.checkStop == nil
	tgt.mu.Unlock()
	if !stopped {
		t.Errorf("removed instance still has a health checker")
	}
	// Close waits for every checker to exit.
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("Close did not return: a health checker did not stop")
	}
}
