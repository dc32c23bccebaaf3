package promonitor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/monitors/promonitor"
	"github.com/bluegreen-go/bluegreen/proxy"
)

const prometheusBinary = "/usr/bin/prometheus"

// TestRealPrometheus runs a real Prometheus on loopback, scraping the
// proxy's own /metrics (Proxy.WritePrometheus), and checks the monitor
// against it: the decoder on the real JSON, a minimum-sample query with no
// traffic yet (inconclusive), a threshold on the proxy's weight gauge, and a
// query that does not parse (bad_data). Skipped without /usr/bin/prometheus.
func TestRealPrometheus(t *testing.T) {
	if _, err := os.Stat(prometheusBinary); err != nil {
		t.Skipf("%s not installed", prometheusBinary)
	}
	p, err := proxy.New(proxy.Options{Addr: "127.0.0.1:0", TestAddr: "off"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if err := p.ConfigureService(t.Context(), "web", proxy.ServiceConfig{}); err != nil {
		t.Fatal(err)
	}
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_ = p.WritePrometheus(w)
	}))
	t.Cleanup(metrics.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: proxy\n    static_configs:\n      - targets: [%q]\n",
		metrics.Listener.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, prometheusBinary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	in := bluegreen.MonitorInput{DeploymentID: "d-1", Service: "web", Green: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB,
		Revision: bluegreen.Revision{Name: "web:2"}}}
	base := "http://" + addr
	weight, err := promonitor.New(promonitor.Options{URL: base, Query: `bluegreen_proxy_weight{service={{quote .Service}},slot={{quote .Slot}}}`,
		Comparison: promonitor.LessThan, Threshold: 1, Name: "weight"})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the first scrape (bounded: 30s of 100ms polls).
	var v bluegreen.Verdict
	for range 300 {
		if v, err = weight.Check(t.Context(), in); err == nil && v.State == bluegreen.MonitorAlarm {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || v.State != bluegreen.MonitorAlarm {
		t.Fatalf("weight of B (0, below 1): %+v, %v; want ALARM", v, err)
	}
	quiet, err := promonitor.New(promonitor.Options{URL: base, Query: `sum(bluegreen_proxy_errors_total{slot={{quote .Slot}}}) / sum(bluegreen_proxy_requests_total{slot={{quote .Slot}}})`,
		MinSampleQuery: `sum(bluegreen_proxy_requests_total{slot={{quote .Slot}}})`, MinSamples: 1})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := quiet.Check(t.Context(), in); err != nil || v.State != bluegreen.MonitorInconclusive {
		t.Errorf("no requests yet: %+v, %v; want INCONCLUSIVE", v, err)
	}
	bad, err := promonitor.New(promonitor.Options{URL: base, Query: `sum(bluegreen_proxy_requests_total`})
	if err != nil {
		t.Fatal(err)
	}
	var qe *promonitor.QueryError
	if _, err := bad.Check(t.Context(), in); !errors.As(err, &qe) || qe.ErrorType != "bad_data" || qe.StatusCode != 400 {
		t.Errorf("a query that does not parse: %v; want bad_data, 400", err)
	}
}
