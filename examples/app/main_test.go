package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "defaults",
			env:  map[string]string{"BLUEGREEN_INSTANCE": "i"},
			want: config{addr: "127.0.0.1:8080", version: "dev", instance: "i", crashAfter: -1, shutdownTimeout: 30 * time.Second},
		},
		{
			name: "environment",
			env: map[string]string{"PORT": "9001", "BLUEGREEN_REVISION": "web:2", "VERSION": "ignored", "BLUEGREEN_INSTANCE": "1",
				"FAIL_RATE": "0.3", "SLOW": "200ms", "UNHEALTHY": "1", "CRASH_AFTER": "0s", "IGNORE_SIGTERM": "true", "SHUTDOWN_TIMEOUT": "5s"},
			want: config{addr: "127.0.0.1:9001", version: "web:2", instance: "1", failRate: 0.3, slow: 200 * time.Millisecond,
				unhealthy: true, crashAfter: 0, ignoreSIGTERM: true, shutdownTimeout: 5 * time.Second},
		},
		{
			name: "flags beat the environment",
			args: []string{"-version", "v9", "-fail-rate", "0", "-addr", "127.0.0.1:0"},
			env:  map[string]string{"VERSION": "v1", "FAIL_RATE": "1", "BLUEGREEN_INSTANCE": "i"},
			want: config{addr: "127.0.0.1:0", version: "v9", instance: "i", crashAfter: -1, shutdownTimeout: 30 * time.Second},
		},
		{name: "bad rate", args: []string{"-fail-rate", "1.5"}, wantErr: "-fail-rate"},
		{name: "bad env rate", env: map[string]string{"FAIL_RATE": "lots"}, wantErr: "$FAIL_RATE"},
		{name: "bad env duration", env: map[string]string{"SLOW": "200"}, wantErr: "$SLOW"},
		{name: "bad env bool", env: map[string]string{"UNHEALTHY": "maybe"}, wantErr: "$UNHEALTHY"},
		{name: "extra args", args: []string{"serve"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "-nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			got, err := parseConfig(tt.args, getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseConfig = %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("parseConfig (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGracefulShutdown stops the server while a slow request is in flight:
// the request must finish, and new connections must be refused.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := config{version: "v1", crashAfter: -1, shutdownTimeout: 10 * time.Second}
	served := make(chan error, 1)
	a := newApp(cfg)
	go func() { served <- serve(ctx, cfg, a, ln, slog.New(slog.DiscardHandler)) }()
	url := "http://" + ln.Addr().String()

	type result struct {
		code int
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/slow?d=300ms")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{resp.StatusCode, string(b), err}
	}()
	// Shut down only once the slow request is being served.
	for deadline := time.Now().Add(10 * time.Second); a.inFlight.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never arrived")
		}
		time.Sleep(time.Millisecond) // polling a counter: nothing to wait on
	}
	cancel()

	got := <-slow
	if got.err != nil || got.code != 200 || got.body != "v1 slept 300ms\n" {
		t.Errorf("slow request across shutdown = %+v, want 200 v1 slept 300ms", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve returned %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the listener still accepts connections after shutdown")
	}
}

func TestCrashAfter(t *testing.T) {
	if err := run(t.Context(), config{crashAfter: 0}, slog.New(slog.DiscardHandler)); !errors.Is(err, errCrash) {
		t.Errorf("run with -crash-after 0 = %v, want errCrash", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{version: "v1", crashAfter: 10 * time.Millisecond, shutdownTimeout: time.Second}
	if err := serve(t.Context(), cfg, newApp(cfg), ln, slog.New(slog.DiscardHandler)); !errors.Is(err, errCrash) {
		t.Errorf("serve with -crash-after 10ms = %v, want errCrash", err)
	}
}
