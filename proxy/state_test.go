package proxy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// TestStateFileRestore: a restarted daemon routes exactly as before.
func TestStateFileRestore(t *testing.T) {
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	state := filepath.Join(t.TempDir(), "state.json")
	ctx := context.Background()
	cfg := ServiceConfig{
		Hosts:               []string{"app.example.com"},
		HealthCheck:         HealthCheck{Path: "/healthz", Interval: time.Second, Timeout: 500 * time.Millisecond},
		DeregistrationDelay: 7 * time.Second,
		HeaderRule:          HeaderRule{Name: "X-Canary", Value: "1"},
		Sticky:              Sticky{Cookie: "bg", TTL: time.Minute},
	}
	routes := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 1), Test: bluegreen.SlotB}

	p1 := startProxy(t, Options{StateFile: state})
	if err := p1.ConfigureService(ctx, "web", cfg); err != nil {
		t.Fatal(err)
	}
	mustSetup(t, p1, []string{blue.addr()}, []string{green.addr()}, routes)
	if err := p1.SetRoutes(ctx, "api", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v; want mode 0600", fi, err)
	}
	p1.Close()

	p2 := startProxy(t, Options{StateFile: state})
	type snapshot struct {
		Services []string
		Routes   bluegreen.Routes
		Config   ServiceConfig
		A, B     []TargetStatus
	}
	take := func(p *Proxy) snapshot {
		var s snapshot
		s.Services, _ = p.Services(ctx)
		s.Routes, _ = p.Routes(ctx, "web")
		s.Config, _ = p.ServiceConfig(ctx, "web")
		s.A, _ = p.Targets(ctx, "web", bluegreen.SlotA)
		s.B, _ = p.Targets(ctx, "web", bluegreen.SlotB)
		return s
	}
	want := snapshot{
		Services: []string{"api", "web"},
		Routes:   routes,
		Config:   cfg.withDefaults(ServiceConfig{}),
		A:        []TargetStatus{{Addr: "http://" + blue.addr(), Healthy: true}},
		B:        []TargetStatus{{Addr: "http://" + green.addr(), Healthy: true}},
	}
	if diff := cmp.Diff(want, take(p2)); diff != "" {
		t.Errorf("restored state (-want +got):\n%s", diff)
	}
	c := newClient(t)
	req, _ := newHostRequest("http://"+p2.TestAddr()+"/", "app.example.com")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if green.hits.Load() == 0 {
		t.Errorf("the restored test route did not reach green")
	}
}

func TestCorruptStateFileIsKept(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", "{not json", "corrupt"},
		{"unknown field", `{"version":1,"services":{},"extra":1}`, "corrupt"},
		{"future version", `{"version":9,"services":{}}`, "version 9"},
		{"bad routes", `{"version":1,"services":{"web":{"routes":{"production":{"a":1,"b":1}}}}}`, "sum to"},
		{"bad target", `{"version":1,"services":{"web":{"routes":{"production":{"a":0,"b":0}},"targets":{"A":["nope"]}}}}`, "addrs[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := New(Options{StateFile: path})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.want)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Errorf("the state file was changed to %q", b)
			}
		})
	}
}

func TestFailedSaveChangesNothing(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "sub", "state.json")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	r := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}
	if err := p.SetRoutes(ctx, "web", r); err != nil {
		t.Fatal(err)
	}
	// Make saving impossible: the directory is gone.
	if err := os.RemoveAll(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err == nil {
		t.Fatal("SetRoutes succeeded though the state could not be saved")
	}
	if got, _ := p.Routes(ctx, "web"); got != r {
		t.Errorf("routes after a failed save = %v, want %v unchanged", got, r)
	}
	if err := p.SetTargets(ctx, "new", bluegreen.SlotA, []string{"127.0.0.1:1"}); err == nil {
		t.Fatal("SetTargets succeeded though the state could not be saved")
	}
	if got, _ := p.Services(ctx); !cmp.Equal(got, []string{"web"}) {
		t.Errorf("services after a failed save = %v, want [web]", got)
	}
}
