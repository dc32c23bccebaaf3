package proxy

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WritePrometheus writes the proxy's metrics in the Prometheus text format
// (version 0.0.4): per environment (labels service and slot) the requests,
// the 5xx answers, the answers followed by unsolicited bytes
// (Metrics.Unsolicited), the requests in flight, a latency histogram and
// the production weight, and per instance its health.
func (p *Proxy) WritePrometheus(w io.Writer) error {
	p.mu.Lock()
	type env struct {
		pl     *pool
		weight float64
	}
	var envs []env
	names := make([]string, 0, len(p.services))
	for n := range p.services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		svc := p.services[n]
		for i, s := range slots {
			envs = append(envs, env{svc.pools[i], svc.routes.Production.Of(s).Percent() / 100})
		}
	}
	p.mu.Unlock()

	bw := bufio.NewWriter(w)
	family := func(name, typ, help string, each func(e env, labels string)) {
		bw.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
		for _, e := range envs {
			each(e, `service="`+escapeLabel(e.pl.service)+`",slot="`+string(e.pl.slot)+`"`)
		}
	}
	sample := func(name, labels, value string) {
		bw.WriteString(name + "{" + labels + "} " + value + "\n")
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	family("bluegreen_proxy_requests_total", "counter", "Requests answered, per environment.", func(e env, l string) {
		sample("bluegreen_proxy_requests_total", l, u(e.pl.metrics.requests.Load()))
	})
	family("bluegreen_proxy_errors_total", "counter", "Requests answered with a 5xx status, per environment.", func(e env, l string) {
		sample("bluegreen_proxy_errors_total", l, u(e.pl.metrics.errors.Load()))
	})
	family("bluegreen_proxy_unsolicited_total", "counter", "Answers followed by bytes nobody asked for (their connection was closed, not reused), per environment.", func(e env, l string) {
		sample("bluegreen_proxy_unsolicited_total", l, u(e.pl.metrics.unsolicited.Load()))
	})
	family("bluegreen_proxy_in_flight", "gauge", "Requests being served, per environment.", func(e env, l string) {
		sample("bluegreen_proxy_in_flight", l, strconv.FormatInt(e.pl.inflight.Load(), 10))
	})
	family("bluegreen_proxy_weight", "gauge", "Share of production traffic, 0 to 1, per environment.", func(e env, l string) {
		sample("bluegreen_proxy_weight", l, strconv.FormatFloat(e.weight, 'g', -1, 64))
	})
	family("bluegreen_proxy_request_duration_seconds", "histogram", "Time to serve a request, per environment.", func(e env, l string) {
		h := e.pl.metrics.histogram()
		var cum uint64
		for i, b := range h.Bounds {
			cum += h.Counts[i]
			sample("bluegreen_proxy_request_duration_seconds_bucket", l+`,le="`+strconv.FormatFloat(b.Seconds(), 'g', -1, 64)+`"`, u(cum))
		}
		cum += h.Counts[len(h.Bounds)]
		sample("bluegreen_proxy_request_duration_seconds_bucket", l+`,le="+Inf"`, u(cum))
		sample("bluegreen_proxy_request_duration_seconds_sum", l, strconv.FormatFloat(h.Sum.Seconds(), 'g', -1, 64))
		sample("bluegreen_proxy_request_duration_seconds_count", l, u(cum))
	})
	family("bluegreen_proxy_target_healthy", "gauge", "1 if the instance takes new requests, per instance.", func(e env, l string) {
		for _, t := range e.pl.status() {
			v := "0"
			if t.Healthy {
				v = "1"
			}
			sample("bluegreen_proxy_target_healthy", l+`,target="`+escapeLabel(t.Addr)+`"`, v)
		}
	})
	return bw.Flush()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
