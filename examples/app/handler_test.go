package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testApp(t *testing.T, cfg config) (*app, *httptest.Server) {
	t.Helper()
	if cfg.version == "" {
		cfg.version = "v1"
	}
	a := newApp(cfg)
	srv := httptest.NewServer(a.routes())
	t.Cleanup(srv.Close)
	return a, srv
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func TestRoutes(t *testing.T) {
	tests := []struct {
		name     string
		cfg      config
		path     string
		wantCode int
		wantBody string // prefix
	}{
		{"version", config{}, "/", 200, "v1\n"},
		{"health", config{}, "/healthz", 200, "ok\n"},
		{"unhealthy", config{unhealthy: true}, "/healthz", 503, "unhealthy"},
		{"slow", config{}, "/slow?d=1ms", 200, "v1 slept 1ms\n"},
		{"slow flushed", config{}, "/slow?d=1ms&flush", 200, "v1 slept 1ms\n"},
		{"slow bad duration", config{}, "/slow?d=forever", 400, "bad d"},
		{"slow negative", config{}, "/slow?d=-1s", 400, "bad d"},
		{"slow too long", config{}, "/slow?d=1000h", 400, "bad d"},
		{"sse", config{}, "/sse?n=2&every=1ms", 200, "id: 1\ndata: v1 1\n\nid: 2\ndata: v1 2\n\n"},
		{"sse bad n", config{}, "/sse?n=x", 400, "bad n"},
		{"all fail", config{failRate: 1}, "/", 500, "injected failure"},
		{"health never fails", config{failRate: 1}, "/healthz", 200, "ok"},
		{"unknown path", config{}, "/nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := testApp(t, tt.cfg)
			code, body, hdr := get(t, srv.URL+tt.path)
			if code != tt.wantCode || !strings.HasPrefix(body, tt.wantBody) {
				t.Errorf("GET %s = %d %q, want %d %q...", tt.path, code, body, tt.wantCode, tt.wantBody)
			}
			if v := hdr.Get("X-Version"); v != "v1" {
				t.Errorf("X-Version = %q, want v1", v)
			}
		})
	}
}

// TestFailRate checks that failures are exactly the configured share and
// evenly spread.
func TestFailRate(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		n    int
		want string // F for a failure, . for a success
	}{
		{0, 10, ".........."},
		{0.3, 10, "...F..F..F"},
		{0.5, 6, ".F.F.F"},
		{1, 4, "FFFF"},
		{0.01, 200, strings.Repeat(".", 99) + "F" + strings.Repeat(".", 99) + "F"},
	} {
		a := newApp(config{failRate: tt.rate})
		var got strings.Builder
		for i := 1; i <= tt.n; i++ {
			if a.shouldFail(uint64(i)) {
				got.WriteByte('F')
			} else {
				got.WriteByte('.')
			}
		}
		if diff := cmp.Diff(tt.want, got.String()); diff != "" {
			t.Errorf("failures at rate %v (-want +got):\n%s", tt.rate, diff)
		}
	}
}

func TestSlow(t *testing.T) {
	_, srv := testApp(t, config{slow: 50 * time.Millisecond})
	start := time.Now()
	if code, _, _ := get(t, srv.URL+"/"); code != 200 {
		t.Fatalf("GET / = %d", code)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("GET / took %v with -slow 50ms", d)
	}
	start = time.Now()
	get(t, srv.URL+"/healthz")
	if d := time.Since(start); d >= 50*time.Millisecond {
		t.Errorf("GET /healthz took %v: health checks must not be slowed", d)
	}
}

// TestStopEndsStreamsAndFailsHealth checks what shutdown changes in the
// handler: health checks answer 503 and an endless event stream says bye.
func TestStopEndsStreamsAndFailsHealth(t *testing.T) {
	a, srv := testApp(t, config{})
	resp, err := http.Get(srv.URL + "/sse?every=1ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || lines.Text() != "id: 1" {
		t.Fatalf("first line of the stream %q, want id: 1", lines.Text())
	}
	a.stop()
	var last string
	for lines.Scan() {
		if lines.Text() != "" {
			last = lines.Text()
		}
	}
	if last != "data: shutting down" {
		t.Errorf("stream ended with %q, want the bye event", last)
	}
	if code, _, _ := get(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /healthz while stopping = %d, want 503", code)
	}
}
