package admin

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
	"github.com/google/go-cmp/cmp"
)

func TestDecodeCommand(t *testing.T) {
	tests := []struct {
		method, path, query, body string
		want                      command
	}{
		{"GET", "/healthz", "", "", command{op: opHealthz}},
		{"GET", "/metrics", "", "", command{op: opPrometheus}},
		{"GET", "/v1/services", "", "", command{op: opServices}},
		{"GET", "/v1/services/web/routes", "", "", command{op: opGetRoutes, service: "web"}},
		{"PUT", "/v1/services/web/routes", "", `{"production":{"a":999,"b":1},"test":"B"}`,
			command{op: opSetRoutes, service: "web", routes: bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}}},
		{"POST", "/v1/services/web/verify", "", `{"production":{"a":0,"b":0}}`, command{op: opVerify, service: "web"}},
		{"PUT", "/v1/services/web%3Aprod/config", "", `{"hosts":["a.example.com"],"healthCheck":{"path":"/up","interval":"2s"},"sticky":{"cookie":"bg"}}`,
			command{op: opSetConfig, service: "web:prod", config: proxy.ServiceConfig{Hosts: []string{"a.example.com"},
				HealthCheck: proxy.HealthCheck{Path: "/up", Interval: 2e9}, Sticky: proxy.Sticky{Cookie: "bg"}}}},
		{"PUT", "/v1/services/web/slots/B/targets", "", `{"targets":["127.0.0.1:8001","http://localhost:8002"]}`,
			command{op: opSetTargets, service: "web", slot: "B", targets: []string{"http://127.0.0.1:8001", "http://localhost:8002"}}},
		{"POST", "/v1/services/web/slots/A/drain", "", "", command{op: opDrain, service: "web", slot: "A"}},
		{"GET", "/v1/services/web/slots/B/window", "n=200", "", command{op: opWindow, service: "web", slot: "B", n: 200}},
		{"HEAD", "/v1/services/web/slots/B/metrics", "", "", command{op: opMetrics, service: "web", slot: "B"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got, err := decodeCommand(tt.method, tt.path, tt.query, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(command{})); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeCommand checks that no request makes the admin decoder panic,
// that every error is bad input (400), a missing endpoint (404) or a wrong
// method (405), and that what it accepts is valid.
func FuzzDecodeCommand(f *testing.F) {
	f.Add("PUT", "/v1/services/web/routes", "", []byte(`{"production":{"a":900,"b":100},"test":"B"}`))
	f.Add("PUT", "/v1/services/web/slots/A/targets", "", []byte(`{"targets":["127.0.0.1:8001"]}`))
	f.Add("GET", "/v1/services/web/slots/B/window", "n=5", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, query string, body []byte) {
		c, err := decodeCommand(method, path, query, body)
		if err != nil {
			var ae *adminError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an adminError", err)
			}
			switch ae.status {
			case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			default:
				t.Fatalf("error %v has status %d", err, ae.status)
			}
			if ae.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if c.op == 0 {
			t.Fatal("accepted a request without an operation")
		}
		if c.op >= opGetRoutes && check.ServiceName("service", c.service) != nil {
			t.Fatalf("accepted service %q", c.service)
		}
		if c.op >= opGetTargets && !c.slot.Valid() {
			t.Fatalf("accepted slot %q", c.slot)
		}
		if err := c.routes.Validate(); err != nil {
			t.Fatalf("accepted routes %v: %v", c.routes, err)
		}
		if _, err := check.Targets(c.targets); err != nil {
			t.Fatalf("accepted targets %q: %v", c.targets, err)
		}
	})
}
