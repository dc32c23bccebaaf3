package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestMetricsPerEnvironment(t *testing.T) {
	blue := newBackend(t, "blue", nil)
	green := newBackend(t, "green", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusServiceUnavailable)
	})
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 250)})
	c := newClient(t)
	for range 20 {
		get(t, c, "http://"+p.Addr()+"/", nil)
	}
	ctx := context.Background()
	got := map[bluegreen.Slot][2]uint64{}
	for _, s := range slots {
		m, err := p.Metrics(ctx, "web", s)
		if err != nil {
			t.Fatal(err)
		}
		got[s] = [2]uint64{m.Requests, m.Errors}
		var n uint64
		for _, c := range m.Latency.Counts {
			n += c
		}
		if n != m.Requests || len(m.Latency.Counts) != len(m.Latency.Bounds)+1 || m.Latency.Sum <= 0 {
			t.Errorf("slot %s histogram %+v does not add up to %d requests", s, m.Latency, m.Requests)
		}
	}
	want := map[bluegreen.Slot][2]uint64{bluegreen.SlotA: {15, 0}, bluegreen.SlotB: {5, 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests and errors per slot (-want +got):\n%s", diff)
	}
}

func TestPrometheusText(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.SetTargets(ctx, `we"b`, bluegreen.SlotA, []string{"127.0.0.1:1234"}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetRoutes(ctx, `we"b`, bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 125)}); err != nil {
		t.Fatal(err)
	}
	pl := p.services[`we"b`].pools[0]
	pl.metrics.record(200, 3*time.Millisecond)
	pl.metrics.record(502, 2*time.Second)
	pl.metrics.unsolicited.Add(3)
	var b strings.Builder
	if err := p.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, line := range []string{
		`# TYPE bluegreen_proxy_requests_total counter`,
		`bluegreen_proxy_requests_total{service="we\"b",slot="A"} 2`,
		`bluegreen_proxy_errors_total{service="we\"b",slot="A"} 1`,
		`bluegreen_proxy_errors_total{service="we\"b",slot="B"} 0`,
		`# TYPE bluegreen_proxy_unsolicited_total counter`,
		`bluegreen_proxy_unsolicited_total{service="we\"b",slot="A"} 3`,
		`bluegreen_proxy_unsolicited_total{service="we\"b",slot="B"} 0`,
		`bluegreen_proxy_weight{service="we\"b",slot="A"} 0.875`,
		`bluegreen_proxy_weight{service="we\"b",slot="B"} 0.125`,
		`bluegreen_proxy_request_duration_seconds_bucket{service="we\"b",slot="A",le="0.001"} 0`,
		`bluegreen_proxy_request_duration_seconds_bucket{service="we\"b",slot="A",le="0.005"} 1`,
		`bluegreen_proxy_request_duration_seconds_bucket{service="we\"b",slot="A",le="2.5"} 2`,
		`bluegreen_proxy_request_duration_seconds_bucket{service="we\"b",slot="A",le="+Inf"} 2`,
		`bluegreen_proxy_request_duration_seconds_sum{service="we\"b",slot="A"} 2.003`,
		`bluegreen_proxy_request_duration_seconds_count{service="we\"b",slot="A"} 2`,
		`bluegreen_proxy_target_healthy{service="we\"b",slot="A",target="http://127.0.0.1:1234"} 1`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("metrics lack %q; got:\n%s", line, text)
		}
	}
}
