package admin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// startDaemon starts a Proxy with its admin API on a unix socket, as
// cmd/bluegreen-proxy does, and returns them with a Client for the API.
func startDaemon(t testing.TB, opts proxy.Options, token string) (*proxy.Proxy, *Server, *Client) {
	t.Helper()
	dir, err := os.MkdirTemp("", "bgp") // short: unix socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	opts.Addr = "127.0.0.1:0"
	if opts.TestAddr == "" {
		opts.TestAddr = "127.0.0.1:0"
	}
	p, err := proxy.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s, err := Start(p, ServerOptions{Addr: "unix:" + filepath.Join(dir, "admin.sock"), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := NewClient(ClientOptions{Addr: s.Addr(), Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return p, s, c
}

// backend is an instance that answers with its name.
type backend struct {
	*httptest.Server
}

func newBackend(t testing.TB, name string, h http.HandlerFunc) *backend {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
	}
	b := &backend{httptest.NewServer(h)}
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() string { return strings.TrimPrefix(b.URL, "http://") }

// newClient returns an HTTP client with keep-alive connections.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: testTimeout}
}

// get sends GET url and returns the status and body.
func get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
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
