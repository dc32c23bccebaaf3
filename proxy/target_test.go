package proxy

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// TestRefusedConnectionIsRetried: an instance that refuses connections is
// taken out at its first refusal, and idempotent requests that met it are
// served by another instance; a POST with a body is not replayed.
func TestRefusedConnectionIsRetried(t *testing.T) {
	live := newBackend(t, "live", nil)
	dead := refusedAddr(t)
	// A long cooldown keeps the dead instance out for the whole test.
	p := startProxy(t, Options{Defaults: ServiceConfig{HealthCheck: HealthCheck{Cooldown: time.Hour}}})
	mustSetup(t, p, []string{dead, live.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions} {
		req, _ := http.NewRequest(method, "http://"+p.Addr()+"/", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200 from the live instance", method, res.StatusCode)
		}
	}
	// The retried requests were counted in flight on the live instance and
	// released when their bodies closed.
	for _, tgt := range *p.services["web"].pools[0].targets.Load() {
		eventually(t, "no request in flight on "+tgt.addr, func() bool { return tgt.inflight.Load() == 0 })
	}
	ts, _ := p.Targets(context.Background(), "web", bluegreen.SlotA)
	want := []TargetStatus{{Addr: "http://" + dead, Healthy: false}, {Addr: "http://" + live.addr(), Healthy: true}}
	if diff := cmp.Diff(want, ts); diff != "" {
		t.Errorf("targets after a refusal (-want +got):\n%s", diff)
	}

	// A request with a body cannot be replayed: it fails if it meets the
	// dead instance. Put the dead instance alone in rotation to be sure.
	p2 := startProxy(t, Options{})
	mustSetup(t, p2, []string{dead}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	res, err := c.Post("http://"+p2.Addr()+"/", "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Errorf("POST to a refusing instance: status %d, want 502", res.StatusCode)
	}
}

func TestPassiveCooldownBringsInstanceBack(t *testing.T) {
	p := startProxy(t, Options{Defaults: ServiceConfig{HealthCheck: HealthCheck{Cooldown: 50 * time.Millisecond}}})
	dead := refusedAddr(t)
	mustSetup(t, p, []string{dead}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	if status, _ := get(t, c, "http://"+p.Addr()+"/", nil); status != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", status)
	}
	tgt := (*p.services["web"].pools[0].targets.Load())[0]
	if tgt.up.Load() {
		t.Fatal("instance still up after refusing a connection")
	}
	eventually(t, "the cooldown ends", tgt.up.Load)
}

func TestNormalizeTarget(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"127.0.0.1:8001", "http://127.0.0.1:8001"},
		{"http://127.0.0.1:8001/", "http://127.0.0.1:8001"},
		{"https://App.Example.com:443", "https://app.example.com:443"},
		{"[::1]:9000", "http://[::1]:9000"},
		{"localhost", ""},
		{"127.0.0.1:0", ""},
		{"127.0.0.1:70000", ""},
		{"ftp://host:21", ""},
		{"http://host:80/path", ""},
		{"http://user@host:80", ""},
		{"host:80?x=1", ""},
		{"", ""},
		{"http://:80", ""},
	}
	for _, tt := range tests {
		got, err := normalizeTarget("addrs[0]", tt.in)
		if tt.want == "" {
			if !errors.Is(err, bluegreen.ErrInvalid) {
				t.Errorf("normalizeTarget(%q) = %q, %v; want an ErrInvalid error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizeTarget(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSetTargetsKeepsHealthAndResetsWindow(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.SetTargets(ctx, "web", bluegreen.SlotB, []string{"127.0.0.1:1001", "127.0.0.1:1002"}); err != nil {
		t.Fatal(err)
	}
	pl := p.services["web"].pools[1]
	first := *pl.targets.Load()
	first[0].up.Store(false)
	pl.metrics.window.add(true)

	// Same first instance: it keeps its health and the window goes on.
	if err := p.SetTargets(ctx, "web", bluegreen.SlotB, []string{"127.0.0.1:1001", "127.0.0.1:1003"}); err != nil {
		t.Fatal(err)
	}
	if got := (*pl.targets.Load())[0]; got != first[0] || got.up.Load() {
		t.Errorf("kept instance was replaced or lost its health state")
	}
	if w, _ := p.ErrorWindow(ctx, "web", bluegreen.SlotB, 0); w != (Window{Requests: 1, Errors: 1}) {
		t.Errorf("window after a partial change = %+v, want the earlier outcome kept", w)
	}
	// A new environment: the window starts afresh.
	if err := p.SetTargets(ctx, "web", bluegreen.SlotB, []string{"127.0.0.1:2001"}); err != nil {
		t.Fatal(err)
	}
	if w, _ := p.ErrorWindow(ctx, "web", bluegreen.SlotB, 0); w != (Window{}) {
		t.Errorf("window after new instances = %+v, want empty", w)
	}
	if err := p.SetTargets(ctx, "web", bluegreen.SlotB, []string{"127.0.0.1:2001", "http://127.0.0.1:2001"}); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("duplicate instance: %v, want ErrInvalid", err)
	}
}
