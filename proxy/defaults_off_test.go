package proxy

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDefaultsSwitchedOffPerService: a service can do without the header
// rule, sticky cookie and health check of Options.Defaults, and the switch
// survives the admin API's and the state file's JSON.
func TestDefaultsSwitchedOffPerService(t *testing.T) {
	p, err := New(Options{Defaults: ServiceConfig{
		HeaderRule:  HeaderRule{Name: "X-Canary", Value: "1"},
		Sticky:      Sticky{Cookie: "bg"},
		HealthCheck: HealthCheck{Path: "/healthz"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	off := ServiceConfig{Off: DefaultsOff{HeaderRule: true, Sticky: true, HealthCheck: true}}
	if err := p.ConfigureService(ctx, "plain", off); err != nil {
		t.Fatal(err)
	}
	if err := p.ConfigureService(ctx, "usual", ServiceConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		service             string
		rule, cookie, check string
	}{{"plain", "", "", ""}, {"usual", "X-Canary", "bg", "/healthz"}} {
		cfg, err := p.ServiceConfig(ctx, tt.service)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{cfg.HeaderRule.Name, cfg.Sticky.Cookie, cfg.HealthCheck.Path}
		if diff := cmp.Diff([]string{tt.rule, tt.cookie, tt.check}, got); diff != "" {
			t.Errorf("%s: header rule, cookie, check path (-want +got):\n%s", tt.service, diff)
		}
	}
	b, err := json.Marshal(off)
	if err != nil {
		t.Fatal(err)
	}
	var back ServiceConfig
	if err := json.Unmarshal(b, &back); err != nil || back.Off != off.Off {
		t.Errorf("JSON %s read back as %+v, %v", b, back.Off, err)
	}
	both := ServiceConfig{Off: DefaultsOff{Sticky: true}, Sticky: Sticky{Cookie: "x", TTL: time.Minute}}
	if err := p.ConfigureService(ctx, "both", both); err == nil {
		t.Error("a sticky cookie switched off and given at once was accepted")
	}
}
