package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/admin"
)

// TestDaemonRestartKeepsRoutes runs the daemon, routes a service through
// its admin API, stops it, starts it again and finds the routes.
func TestDaemonRestartKeepsRoutes(t *testing.T) {
	dir, err := os.MkdirTemp("", "bgp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := "unix:" + filepath.Join(dir, "admin.sock")
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-listen", "127.0.0.1:0", "-test-listen", "off", "-admin", sock, "-token-file", tokenFile,
		"-state", filepath.Join(dir, "state.json"), "-health-path", "/healthz", "-health-interval", "1s",
		"-header-rule", "X-Canary=1", "-log-level", "warn"}
	routes := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 250), Test: bluegreen.SlotB}

	for i, step := range []func(ctx context.Context, c *admin.Client) error{
		func(ctx context.Context, c *admin.Client) error { return c.SetRoutes(ctx, "web", routes) },
		func(ctx context.Context, c *admin.Client) error {
			got, err := c.Routes(ctx, "web")
			if err == nil && got != routes {
				err = errors.New("restarted daemon has routes " + got.String() + ", want " + routes.String())
			}
			return err
		},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan *admin.Server, 1)
		done := make(chan error, 1)
		go func() { done <- run(ctx, args, io.Discard, func(_ *proxy.Proxy, s *admin.Server) { ready <- s }) }()
		var api *admin.Server
		select {
		case api = <-ready:
		case err := <-done:
			t.Fatalf("run %d: %v", i, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d did not start", i)
		}
		c, err := admin.NewClient(admin.ClientOptions{Addr: api.Addr(), Token: "s3cret"})
		if err != nil {
			t.Fatal(err)
		}
		if err := step(ctx, c); err != nil {
			t.Errorf("run %d: %v", i, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d stopped with %v", i, err)
		}
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-listen", "8080"}, "Options.Addr"},
		{[]string{"-header-rule", "X-Canary"}, "Name=Value"},
		{[]string{"-admin", "0.0.0.0:9090"}, "ServerOptions.Token"},
		{[]string{"-log-level", "loud"}, "-log-level"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-token-file", "/nonexistent/token"}, "-token-file"},
		{[]string{"-acme-host", "app.example.com"}, "Options.TLS.ACME.CacheDir"},
		{[]string{"-acme-cache", "/tmp/acme"}, "Options.TLS.ACME.Hosts"},
		{[]string{"-acme-host", "app.example.com,*.example.com", "-acme-cache", "/tmp/acme"}, "Options.TLS.ACME.Hosts[1]"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error mentioning %q", tt.args, err, tt.want)
		}
	}
	if err := run(context.Background(), []string{"-h"}, io.Discard, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}
