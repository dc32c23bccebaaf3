package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// startProxy starts a Proxy on free loopback ports, closed when t ends.
func startProxy(t testing.TB, opts Options) *Proxy {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	if opts.TestAddr == "" {
		opts.TestAddr = "127.0.0.1:0"
	}
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// backend is an upstream instance that answers with its name.
type backend struct {
	*httptest.Server
	name string
	hits atomic.Int64
}

// newBackend starts an instance; h, if not nil, serves requests after the
// hit is counted, otherwise the instance writes its name.
func newBackend(t testing.TB, name string, h http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}))
	t.Cleanup(b.Close)
	return b
}

// addr returns the instance's host:port.
func (b *backend) addr() string { return strings.TrimPrefix(b.URL, "http://") }

// newClient returns an HTTP client with keep-alive connections, closed when t ends.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testTimeout}
}

// get sends GET url and returns the status and body.
func get(t testing.TB, c *http.Client, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return res.StatusCode, string(b)
}

// mustSetup registers instances and routes for service "web".
func mustSetup(t testing.TB, p *Proxy, a, b []string, r bluegreen.Routes) {
	t.Helper()
	ctx := context.Background()
	if err := p.SetTargets(ctx, "web", bluegreen.SlotA, a); err != nil {
		t.Fatalf("SetTargets A: %v", err)
	}
	if err := p.SetTargets(ctx, "web", bluegreen.SlotB, b); err != nil {
		t.Fatalf("SetTargets B: %v", err)
	}
	if err := p.SetRoutes(ctx, "web", r); err != nil {
		t.Fatalf("SetRoutes: %v", err)
	}
}

// refusedAddr returns a loopback address where nothing listens: connections
// to it are refused.
func refusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// eventually polls cond every few milliseconds until it holds or the test
// timeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newHostRequest returns a GET request for url with Host header host.
func newHostRequest(url, host string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Host = host
	return req, nil
}
