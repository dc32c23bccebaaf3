package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// speed compares the proxy with a plain httputil.ReverseProxy behind an
// atomic pointer (the reference) and haproxy, if installed, in front
// of the same instance: maximum throughput, and p99 at 2,000 requests/s.
// Each front runs in a process of its own (fronts.go), as haproxy does, and
// the load comes from another (loadgen.go). Each figure is the
// median of Rounds measurements, the fronts taking turns, so that a
// neighbor's burst on a shared machine does not decide a ratio alone.
type speed struct {
	// Throughput is the median requests/s at saturation with 64 keep-alive
	// connections, one request at a time on each (as wrk -c64).
	Throughput map[string]float64 `json:"throughputRps"`
	// ThroughputRounds are the measurements the medians come from.
	ThroughputRounds map[string][]float64 `json:"throughputRoundsRps"`
	// ThroughputRatio is the proxy's throughput over the plain proxy's.
	ThroughputRatio float64 `json:"throughputRatioVsPlain"`
	// ThroughputRatioVsHAProxy is the proxy's throughput over haproxy's.
	ThroughputRatioVsHAProxy float64 `json:"throughputRatioVsHAProxy,omitempty"`
	// P99At2000 is the median p99 latency in ms at 2,000 requests/s.
	P99At2000 map[string]float64 `json:"p99MsAt2000"`
	// P99Rounds are the measurements the medians come from.
	P99Rounds map[string][]float64 `json:"p99RoundsMs"`
	// P99RatioVsHAProxy is the proxy's p99 over haproxy's, when haproxy ran.
	P99RatioVsHAProxy float64 `json:"p99RatioVsHAProxy,omitempty"`
	// Failures counts failed requests over every speed run, per front.
	Failures map[string]int64 `json:"failures"`
	// Plain says exactly what the plain reference is.
	Plain string `json:"plain"`
	Note  string `json:"note"`
}

// plainDescription is the reference the throughput ratio divides by.
const plainDescription = "httputil.NewSingleHostReverseProxy(instance) with Transport = http.DefaultTransport.Clone() " +
	"and MaxIdleConnsPerHost = 256 (otherwise default), behind an atomic.Pointer, served by http.Serve (default http.Server)"

func measureSpeed(ctx context.Context, instance string, du time.Duration, rounds int, cpuprofile string, log io.Writer) (*speed, error) {
	fronts := map[string]string{}
	names := []string{"proxy", "plain"}
	for _, name := range names {
		prof := ""
		if name == "proxy" {
			prof = cpuprofile
		}
		addr, stop, err := startFront(ctx, name, instance, prof)
		if err != nil {
			return nil, err
		}
		defer stop()
		fronts[name] = addr
	}
	if stop, addr, err := startHAProxy(ctx, instance); err == nil {
		defer stop()
		fronts["haproxy"] = addr
		names = append(names, "haproxy")
	} else {
		fmt.Fprintln(log, "haproxy:", err)
	}
	sp := &speed{Throughput: map[string]float64{}, ThroughputRounds: map[string][]float64{},
		P99At2000: map[string]float64{}, P99Rounds: map[string][]float64{}, Failures: map[string]int64{},
		Plain: plainDescription,
		Note: "each front (proxy, plain, haproxy) and the load generator run in processes of their own, " +
			"in front of the same instance; they share this machine's CPUs: compare ratios from one run, not absolute figures"}
	rounds = max(rounds, 1)
	for round := 1; round <= rounds; round++ {
		for _, name := range names {
			res, err := loadgen(ctx, loadSpec{Kind: "blast", Addr: fronts[name], Conns: 64, For: du})
			if err != nil {
				return nil, fmt.Errorf("throughput of %s: %w", name, err)
			}
			sp.ThroughputRounds[name] = append(sp.ThroughputRounds[name], float64(int(res.RPS)))
			sp.Failures[name] += res.Failures
			fmt.Fprintf(log, "round %d: throughput %-8s %8.0f req/s (%d failures)\n", round, name, res.RPS, res.Failures)
		}
		for _, name := range names {
			res, err := loadgen(ctx, loadSpec{Kind: "rate", URL: "http://" + fronts[name] + "/", Rate: 2000, For: du})
			if err != nil {
				return nil, fmt.Errorf("p99 of %s: %w", name, err)
			}
			sp.P99Rounds[name] = append(sp.P99Rounds[name], res.Stats.P99Ms)
			sp.Failures[name] += res.Failures
			fmt.Fprintf(log, "round %d: p99 at 2000/s %-8s %6.2f ms (%d failures)\n", round, name, res.Stats.P99Ms, res.Failures)
		}
	}
	for _, name := range names {
		sp.Throughput[name] = median(sp.ThroughputRounds[name])
		sp.P99At2000[name] = median(sp.P99Rounds[name])
	}
	sp.ThroughputRatio = ratio(sp.Throughput["proxy"], sp.Throughput["plain"])
	if h := sp.Throughput["haproxy"]; h > 0 {
		sp.ThroughputRatioVsHAProxy = ratio(sp.Throughput["proxy"], h)
	}
	if h := sp.P99At2000["haproxy"]; h > 0 {
		sp.P99RatioVsHAProxy = ratio(sp.P99At2000["proxy"], h)
	}
	return sp, nil
}

// median returns the middle value (the mean of the two middle ones for an
// even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// startHAProxy runs haproxy in front of instance, if it is installed.
func startHAProxy(ctx context.Context, instance string) (stop func(), addr string, err error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil, "", fmt.Errorf("not installed; skipped")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr = ln.Addr().String()
	ln.Close()
	u, err := url.Parse(instance)
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "bluegreen-haproxy-")
	if err != nil {
		return nil, "", err
	}
	cfg := fmt.Sprintf(`global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend fe
    bind %s
    default_backend be
backend be
    http-reuse always
    server s1 %s
`, addr, u.Host)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, "", err
	}
	cmd := exec.CommandContext(ctx, bin, "-db", "-f", path)
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return stop, addr, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return nil, "", fmt.Errorf("haproxy did not listen on %s", addr)
}
