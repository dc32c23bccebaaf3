package proxy

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/bluegreentest"
)

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
}

// TestMonitorConformance runs the monitor suite over the error-rate monitor
// with real traffic: "firing" makes green answer 500 and sends requests
// through the proxy; "OK" makes it answer 200 and sends a window's worth.
func TestMonitorConformance(t *testing.T) {
	for _, via := range []string{"Proxy"} {
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
				p := startProxy(t, opts)
				var m bluegreen.Monitor = p
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
