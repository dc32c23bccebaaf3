package proxy

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

// startDaemon starts a Proxy with an admin API on a unix socket, as
// cmd/bluegreen-proxy does, and returns it with a Client for it.
func startDaemon(t testing.TB, opts Options) (*Proxy, *Client) {
	t.Helper()
	dir, err := os.MkdirTemp("", "bgp") // short: unix socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	opts.AdminAddr = "unix:" + filepath.Join(dir, "admin.sock")
	p := startProxy(t, opts)
	c, err := NewClient(ClientOptions{Addr: p.AdminAddr(), Token: opts.AdminToken})
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

func TestRouterConformance(t *testing.T) {
	t.Run("Proxy", func(t *testing.T) {
		bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
			p, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			return bluegreentest.RouterHarness{Router: p, Services: []string{"web", "api"}, PollInterval: time.Millisecond}
		})
	})
	t.Run("Client", func(t *testing.T) {
		bluegreentest.TestRouter(t, func(t *testing.T) bluegreentest.RouterHarness {
			_, c := startDaemon(t, Options{AdminToken: "s3cret"})
			return bluegreentest.RouterHarness{Router: c, Services: []string{"web", "api"}, PollInterval: time.Millisecond}
		})
	})
}

// TestMonitorConformance runs the monitor suite over the error-rate monitor
// with real traffic: "firing" makes green answer 500 and sends requests
// through the proxy; "OK" makes it answer 200 and sends a window's worth.
func TestMonitorConformance(t *testing.T) {
	for _, via := range []string{"Proxy", "Client"} {
		t.Run(via, func(t *testing.T) {
			bluegreentest.TestMonitor(t, func(t *testing.T) bluegreentest.MonitorHarness {
				var failing atomic.Bool
				blue := newBackend(t, "blue", nil)
				green := newBackend(t, "green", func(w http.ResponseWriter, r *http.Request) {
					if failing.Load() {
						http.Error(w, "broken", http.StatusInternalServerError)
					}
				})
				rule := ErrorRate{MaxRate: 0.05, Window: 40, MinRequests: 20}
				opts := Options{ErrorRate: rule}
				var p *Proxy
				var m bluegreen.Monitor
				if via == "Proxy" {
					p = startProxy(t, opts)
					m = p
				} else {
					var c *Client
					p, c = startDaemon(t, opts)
					c.rule = rule.withDefaults()
					m = c
				}
				mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)})
				hc := newClient(t)
				return bluegreentest.MonitorHarness{
					Monitor: m,
					Alarm:   "green-5xx-rate",
					SetAlarm: func(ctx context.Context, firing bool) error {
						failing.Store(firing)
						for range rule.Window {
							get(t, hc, "http://"+p.Addr()+"/", nil)
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
		})
	}
}
