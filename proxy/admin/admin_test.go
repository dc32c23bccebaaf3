package admin

import (
	"context"
	"errors"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/google/go-cmp/cmp"
)

func TestAdminAuth(t *testing.T) {
	p, err := proxy.New(proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetRoutes(context.Background(), "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(p, "s3cret"))
	defer srv.Close()
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Bearer nope", http.StatusUnauthorized},
		{"wrong scheme", "Basic s3cret", http.StatusUnauthorized},
		{"token prefix only", "Bearer s3cre", http.StatusUnauthorized},
		{"right token", "Bearer s3cret", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/services/web/routes", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
		})
	}
	// Prometheus text is served with its content type.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") ||
		!strings.Contains(string(b), `bluegreen_proxy_requests_total{service="web",slot="A"} 0`) {
		t.Errorf("GET /metrics: %d %q\n%s", res.StatusCode, ct, b)
	}

	// Through a Client, a wrong token is a permission error.
	c, err := NewClient(ClientOptions{Addr: srv.URL, Token: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Routes(context.Background(), "web"); !errors.Is(err, bluegreen.ErrPermission) {
		t.Errorf("Client with a wrong token: %v, want ErrPermission", err)
	}
}

func TestAdminRejectsBadInput(t *testing.T) {
	p, err := proxy.New(proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	srv := httptest.NewServer(Handler(p, ""))
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		status                   int
		field                    string // the field the error names
	}{
		{"unknown endpoint", "GET", "/v2/things", "", 404, ""},
		{"wrong method", "DELETE", "/v1/services/web/routes", "", 405, "method"},
		{"bad JSON", "PUT", "/v1/services/web/routes", `{"production":`, 400, "body"},
		{"unknown field", "PUT", "/v1/services/web/routes", `{"production":{"a":1000,"b":0},"canary":true}`, 400, "body"},
		{"trailing data", "PUT", "/v1/services/web/routes", `{"production":{"a":1000,"b":0}} {}`, 400, "body"},
		{"weights off", "PUT", "/v1/services/web/routes", `{"production":{"a":900,"b":0}}`, 400, "Weights"},
		{"bad test slot", "PUT", "/v1/services/web/routes", `{"production":{"a":1000,"b":0},"test":"C"}`, 400, "Routes.Test"},
		{"bad slot", "PUT", "/v1/services/web/slots/C/targets", `{"targets":[]}`, 400, "slot"},
		{"service with a slash", "GET", "/v1/services/a%2Fb/routes", "", 400, "service"},
		{"empty service", "GET", "/v1/services//routes", "", 400, "service"},
		{"targets missing", "PUT", "/v1/services/web/slots/A/targets", `{}`, 400, "targets"},
		{"bad target", "PUT", "/v1/services/web/slots/A/targets", `{"targets":["ftp://x:1"]}`, 400, "addrs[0]"},
		{"bad duration", "PUT", "/v1/services/web/config", `{"deregistrationDelay":"soon"}`, 400, "deregistrationDelay"},
		{"bad health path", "PUT", "/v1/services/web/config", `{"healthCheck":{"path":"healthz"}}`, 400, "ServiceConfig.HealthCheck.Path"},
		{"body on GET", "GET", "/v1/services/web/routes", `{}`, 400, "body"},
		{"unknown query", "GET", "/v1/services/web/routes?x=1", "", 400, "query.x"},
		{"bad window size", "GET", "/v1/services/web/slots/B/window?n=-3", "", 400, "query.n"},
		{"drain with weight", "POST", "/v1/services/web/slots/A/drain", "", 409, ""},
	}
	ctx := context.Background()
	if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, b, tt.status)
			}
			err = decodeError(res.StatusCode, b)
			var ce *bluegreen.ConfigError
			if tt.field != "" && (!errors.As(err, &ce) || ce.Field != tt.field || ce.Fix == "") {
				t.Errorf("error %v does not name field %q with a fix", err, tt.field)
			}
		})
	}
	if got, _ := p.Routes(ctx, "web"); got != (bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}) {
		t.Errorf("refused requests changed the routes to %v", got)
	}
}

// TestClientDrivesDaemon runs a deployment's router calls through a Client
// against a daemon on a unix socket, and checks traffic follows.
func TestClientDrivesDaemon(t *testing.T) {
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p, srv, c := startDaemon(t, proxy.Options{}, "t0ken")
	fi, err := os.Stat(strings.TrimPrefix(srv.Addr(), "unix:"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode(); mode&os.ModeSocket == 0 || mode.Perm() != 0o600 {
		t.Errorf("admin socket mode %v, want a socket with 0600", mode)
	}
	ctx := context.Background()
	hc := newClient(t)
	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { return c.SetTargets(ctx, "web", bluegreen.SlotA, []string{blue.addr()}) }, ""},
		{func() error {
			return c.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
		}, "blue"},
		{func() error { return c.SetTargets(ctx, "web", bluegreen.SlotB, []string{green.addr()}) }, "blue"},
		{func() error {
			return c.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB})
		}, "green"},
		{func() error { return c.Drain(ctx, "web", bluegreen.SlotA) }, "green"},
		{func() error { return c.SetTargets(ctx, "web", bluegreen.SlotA, nil) }, "green"},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if s.want == "" {
			continue
		}
		if _, body := get(t, hc, "http://"+p.Addr()+"/"); body != s.want {
			t.Errorf("after step %d: request went to %q, want %q", i, body, s.want)
		}
	}
	ts, err := c.Targets(ctx, "web", bluegreen.SlotB)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]proxy.TargetStatus{{Addr: "http://" + green.addr(), Healthy: true}}, ts); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	m, err := c.Metrics(ctx, "web", bluegreen.SlotB)
	if err != nil || m.Requests != 3 {
		t.Errorf("green metrics through the client: %+v, %v; want 3 requests", m, err)
	}
	if ok, err := c.Verify(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}); !ok || err != nil {
		t.Errorf("Verify = %v, %v; want true", ok, err)
	}
	if err := c.Drain(ctx, "web", bluegreen.SlotB); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Errorf("Drain of the live slot through the client: %v, want ErrFailedPrecondition", err)
	}
	if err := c.ConfigureService(ctx, "web", proxy.ServiceConfig{HealthCheck: proxy.HealthCheck{Path: "nope"}}); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("bad config through the client: %v, want ErrInvalid", err)
	}

	// A daemon that is gone is a transient error, so the Deployer retries.
	srv.Close()
	if _, err := c.Routes(ctx, "web"); !errors.Is(err, bluegreen.ErrTransient) {
		t.Errorf("Routes from a stopped daemon: %v, want ErrTransient", err)
	}
}

func TestNewClientRejectsBadAddr(t *testing.T) {
	for _, addr := range []string{"", "unix:", "ftp://host:1", "http://host:1/admin", "http://"} {
		if _, err := NewClient(ClientOptions{Addr: addr}); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("NewClient(%q) = %v, want ErrInvalid", addr, err)
		}
	}
}

func TestAdminListenerRefusesSecondDaemon(t *testing.T) {
	p, srv, _ := startDaemon(t, proxy.Options{}, "")
	if _, err := Start(p, ServerOptions{Addr: srv.Addr()}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second daemon on the same socket: %v, want an error", err)
	}
}

func TestServerOptionsValidation(t *testing.T) {
	p, err := proxy.New(proxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tt := range []struct {
		opts  ServerOptions
		field string
	}{
		{ServerOptions{}, "ServerOptions.Addr"},
		{ServerOptions{Addr: "unix:"}, "ServerOptions.Addr"},
		{ServerOptions{Addr: "9090"}, "ServerOptions.Addr"},
		{ServerOptions{Addr: "0.0.0.0:9090"}, "ServerOptions.Token"},
	} {
		_, err := Start(p, tt.opts)
		var ce *bluegreen.ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field {
			t.Errorf("Start(%+v) = %v, want an error naming %s", tt.opts, err, tt.field)
		}
	}
}

// TestClientConformance runs the router and monitor suites over a Client
// driving a daemon.
func TestClientConformance(t *testing.T) {
	bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
		_, _, c := startDaemon(t, proxy.Options{}, "s3cret")
		return bluegreentest.RouterHarness{Router: c, Services: []string{"web", "api"}, PollInterval: time.Millisecond}
	})
	bluegreentest.TestMonitor(t, func(t *testing.T) bluegreentest.MonitorHarness {
		var failing atomic.Bool
		blue := newBackend(t, "blue", nil)
		green := newBackend(t, "green", func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				http.Error(w, "broken", http.StatusInternalServerError)
			}
		})
		rule := proxy.ErrorRate{MaxRate: 0.05, Window: 40, MinRequests: 20}
		p, _, c := startDaemon(t, proxy.Options{ErrorRate: rule}, "")
		c.rule = rule
		ctx := context.Background()
		for slot, addr := range map[bluegreen.Slot]string{bluegreen.SlotA: blue.addr(), bluegreen.SlotB: green.addr()} {
			if err := c.SetTargets(ctx, "web", slot, []string{addr}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err != nil {
			t.Fatal(err)
		}
		hc := newClient(t)
		return bluegreentest.MonitorHarness{
			Monitor: c,
			Alarm:   "green-5xx-rate",
			SetAlarm: func(ctx context.Context, firing bool) error {
				failing.Store(firing)
				for range rule.Window {
					get(t, hc, "http://"+p.Addr()+"/")
				}
				return nil
			},
			Input: bluegreen.MonitorInput{
				DeploymentID: "d-1",
				Stage:        bluegreen.StageBakeTime,
				Green:        bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:2"}},
				Routes:       bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)},
			},
			Timeout:      testTimeout,
			PollInterval: time.Millisecond,
		}
	})
}
