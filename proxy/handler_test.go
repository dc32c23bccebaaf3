package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestTestListenerAndHeaderRule(t *testing.T) {
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p := startProxy(t, Options{Defaults: ServiceConfig{HeaderRule: HeaderRule{Name: "X-Canary", Value: "yes"}}})
	c := newClient(t)
	prod, test := "http://"+p.Addr()+"/", "http://"+p.TestAddr()+"/"
	canary := http.Header{"X-Canary": {"yes"}}
	notCanary := http.Header{"X-Canary": {"no"}}

	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	tests := []struct {
		name   string
		routes bluegreen.Routes
		url    string
		header http.Header
		status int
		body   string
	}{
		{"no test route: test listener refuses", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}, test, nil, 503, ""},
		{"no test route: header rule ignored", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}, prod, canary, 200, "blue"},
		{"test route on green: test listener", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, test, nil, 200, "green"},
		{"test route on green: header rule", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, prod, canary, 200, "green"},
		{"test route on green: other header value", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, prod, notCanary, 200, "blue"},
		{"test route on green: plain production", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}, prod, nil, 200, "blue"},
		{"rolled back: test on blue", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotA}, test, nil, 200, "blue"},
		{"nothing routed", bluegreen.Routes{}, prod, nil, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.SetRoutes(context.Background(), "web", tt.routes); err != nil {
				t.Fatal(err)
			}
			status, body := get(t, c, tt.url, tt.header)
			if status != tt.status || (tt.body != "" && body != tt.body) {
				t.Errorf("got %d %q, want %d %q", status, body, tt.status, tt.body)
			}
		})
	}
}

func TestStickyCookie(t *testing.T) {
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p := startProxy(t, Options{Defaults: ServiceConfig{Sticky: Sticky{Cookie: "bg"}}})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 500)})
	c := newClient(t)
	url := "http://" + p.Addr() + "/"

	// A new client is assigned by weight and told where it went.
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	cookies := res.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "bg" {
		t.Fatalf("first response cookies = %v, want one named bg", cookies)
	}
	first, slot := string(b), cookies[0].Value
	// The client stays there for as long as the split lasts.
	for range 10 {
		status, body := get(t, c, url, http.Header{"Cookie": {"bg=" + slot}})
		if status != 200 || body != first {
			t.Fatalf("sticky request went to %q (%d), want %q", body, status, first)
		}
	}
	// Once the shift is over, the cookie no longer matters.
	if err := p.SetRoutes(context.Background(), "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, c, url, http.Header{"Cookie": {"bg=A"}}); body != "green" {
		t.Errorf("after the shift, a cookie for A went to %q, want green", body)
	}
}

func TestForwardedHeadersAndHost(t *testing.T) {
	type seen struct{ Host, XFF, XFProto, XFHost string }
	got := make(chan seen, 1)
	echo := newBackend(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Host")}
	})
	tests := []struct {
		name  string
		trust bool
		want  seen
	}{
		{"spoofed headers replaced", false, seen{"app.example.com", "127.0.0.1", "http", "app.example.com"}},
		{"trusted front proxy", true, seen{"app.example.com", "203.0.113.9, 127.0.0.1", "https", "app.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, Options{TrustForwarded: tt.trust})
			mustSetup(t, p, []string{echo.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
			req, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr()+"/", nil)
			req.Host = "app.example.com"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("X-Forwarded-Proto", "https")
			res, err := newClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if diff := cmp.Diff(tt.want, <-got); diff != "" {
				t.Errorf("headers the instance saw (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServerSentEventsStream: events reach the client as they are sent, not
// when the response ends.
func TestServerSentEventsStream(t *testing.T) {
	next := make(chan struct{})
	sse := newBackend(t, "sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	})
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{sse.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	res, err := newClient(t).Get("http://" + p.Addr() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	for i := range 3 {
		line, err := r.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		r.ReadString('\n')
		next <- struct{}{} // the upstream sends the next event only now
	}
}

func TestHostRouting(t *testing.T) {
	web, api := newBackend(t, "web", nil), newBackend(t, "api", nil)
	p := startProxy(t, Options{})
	ctx := context.Background()
	for name, b := range map[string]*backend{"web": web, "api": api} {
		if err := p.ConfigureService(ctx, name, ServiceConfig{Hosts: []string{name + ".example.com"}}); err != nil {
			t.Fatal(err)
		}
		if err := p.SetTargets(ctx, name, bluegreen.SlotA, []string{b.addr()}); err != nil {
			t.Fatal(err)
		}
		if err := p.SetRoutes(ctx, name, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ConfigureService(ctx, "other", ServiceConfig{Hosts: []string{"WEB.example.com"}}); err == nil || !strings.Contains(err.Error(), "already routes") {
		t.Errorf("claiming a taken host: %v, want an error", err)
	}
	c := newClient(t)
	for _, tt := range []struct{ host, status, body string }{
		{"web.example.com", "200", "web"},
		{"API.example.com:8080", "200", "api"},
		{"nobody.example.com", "404", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr()+"/", nil)
		req.Host = tt.host
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if fmt.Sprint(res.StatusCode) != tt.status || (tt.body != "" && string(b) != tt.body) {
			t.Errorf("Host %s: %d %q, want %s %q", tt.host, res.StatusCode, b, tt.status, tt.body)
		}
	}
}

func TestNoInstances(t *testing.T) {
	p := startProxy(t, Options{})
	if err := p.SetRoutes(context.Background(), "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, newClient(t), "http://"+p.Addr()+"/", nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "no instances") {
		t.Errorf("got %d %q, want 503 naming the missing instances", status, body)
	}
	m, _ := p.Metrics(context.Background(), "web", bluegreen.SlotA)
	if m.Requests != 1 || m.Errors != 1 {
		t.Errorf("metrics = %d requests, %d errors; want the 503 counted", m.Requests, m.Errors)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	p1 := startProxy(t, Options{})
	p2, err := New(Options{Addr: p1.Addr(), TestAddr: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if err := p2.Start(); err == nil || !strings.Contains(err.Error(), "production listener") {
		t.Errorf("Start on a busy port = %v, want a production listener error", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := p1.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
