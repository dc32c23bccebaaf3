package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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
	// P99AcrossSwitch is the median p99 latency in ms at 2,000 requests/s
	// while all traffic moves between two instances every SwitchEveryMs
	// (the proxy: SetRoutes; haproxy: "set weight" on its runtime API's
	// unix socket), per front that can switch.
	P99AcrossSwitch map[string]float64 `json:"p99MsAcrossSwitch,omitempty"`
	// P99AcrossSwitchRounds are the measurements the medians come from.
	P99AcrossSwitchRounds map[string][]float64 `json:"p99AcrossSwitchRoundsMs,omitempty"`
	// Switches counts the route changes of each switch run.
	Switches int `json:"switchesPerRun,omitempty"`
	// SwitchEveryMs is the time between route changes in a switch run.
	SwitchEveryMs float64 `json:"switchEveryMs,omitempty"`
	// P99AcrossSwitchRatioVsHAProxy is the proxy's p99 across switches
	// over haproxy's.
	P99AcrossSwitchRatioVsHAProxy float64 `json:"p99AcrossSwitchRatioVsHAProxy,omitempty"`
	// SamplesPerP99 is how many requests each p99 figure is computed from.
	SamplesPerP99 int `json:"samplesPerP99"`
	// Failures counts failed requests over every speed run, per front.
	Failures map[string]int64 `json:"failures"`
	// Plain says exactly what the plain reference is.
	Plain string `json:"plain"`
	Note  string `json:"note"`
}

// plainDescription is the reference the throughput ratio divides by.
const plainDescription = "httputil.NewSingleHostReverseProxy(instance) with Transport = http.DefaultTransport.Clone() " +
	"and MaxIdleConnsPerHost = 256 (otherwise default), behind an atomic.Pointer, served by http.Serve (default http.Server)"

// switchEvery is the time between route changes in the switch runs.
const switchEvery = 100 * time.Millisecond

// measureSpeed compares the fronts before instance; with other set (a
// second instance), the proxy and haproxy are also measured while all
// traffic moves between the two every switchEvery.
func measureSpeed(ctx context.Context, instance, other string, du time.Duration, rounds int, cpuprofile string, log io.Writer) (*speed, error) {
	fronts := map[string]string{}
	routes := map[string]func(string) error{}
	names := []string{"proxy", "plain"}
	both := instance
	if other != "" {
		both += "," + other
	}
	for _, name := range names {
		prof := ""
		if name == "proxy" {
			prof = cpuprofile
		}
		addr, route, stop, err := startFront(ctx, name, both, prof)
		if err != nil {
			return nil, err
		}
		defer stop()
		fronts[name] = addr
		if name == "proxy" && other != "" {
			routes[name] = route
		}
	}
	if stop, addr, route, err := startHAProxy(ctx, instance, other); err == nil {
		defer stop()
		fronts["haproxy"] = addr
		names = append(names, "haproxy")
		if other != "" {
			routes["haproxy"] = route
		}
	} else {
		fmt.Fprintln(log, "haproxy:", err)
	}
	sp := &speed{Throughput: map[string]float64{}, ThroughputRounds: map[string][]float64{},
		P99At2000: map[string]float64{}, P99Rounds: map[string][]float64{}, Failures: map[string]int64{},
		P99AcrossSwitch: map[string]float64{}, P99AcrossSwitchRounds: map[string][]float64{},
		SamplesPerP99: int(2000 * du.Seconds()),
		Plain:         plainDescription,
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
		for _, name := range names {
			route := routes[name]
			if route == nil {
				continue
			}
			res, n, err := switchRun(ctx, "http://"+fronts[name]+"/", du, route)
			if err != nil {
				return nil, fmt.Errorf("p99 across switches of %s: %w", name, err)
			}
			sp.Switches = n
			sp.P99AcrossSwitchRounds[name] = append(sp.P99AcrossSwitchRounds[name], res.Stats.P99Ms)
			sp.Failures[name] += res.Failures
			fmt.Fprintf(log, "round %d: p99 at 2000/s across %d switches %-8s %6.2f ms (%d failures)\n", round, n, name, res.Stats.P99Ms, res.Failures)
		}
	}
	if len(routes) > 0 {
		sp.SwitchEveryMs = float64(switchEvery.Milliseconds())
		for name, rs := range sp.P99AcrossSwitchRounds {
			sp.P99AcrossSwitch[name] = median(rs)
		}
		if h := sp.P99AcrossSwitch["haproxy"]; h > 0 {
			sp.P99AcrossSwitchRatioVsHAProxy = ratio(sp.P99AcrossSwitch["proxy"], h)
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

// switchRun sends GET url at 2,000 requests/s for du from a load
// generator process while moving all traffic between slots A and B every
// switchEvery, and returns the load's result and the number of switches.
func switchRun(ctx context.Context, url string, du time.Duration, route func(string) error) (loadResult, int, error) {
	type result struct {
		res loadResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := loadgen(ctx, loadSpec{Kind: "rate", URL: url, Rate: 2000, For: du})
		done <- result{res, err}
	}()
	tick := time.NewTicker(switchEvery)
	defer tick.Stop()
	n, slot := 0, "A"
	for {
		select {
		case r := <-done:
			if err := route("A"); err != nil && r.err == nil {
				r.err = err
			}
			return r.res, n, r.err
		case <-tick.C:
			if slot == "A" {
				slot = "B"
			} else {
				slot = "A"
			}
			if err := route(slot); err != nil {
				r := <-done
				return r.res, n, errors.Join(err, r.err)
			}
			n++
		}
	}
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

// startHAProxy runs haproxy in front of instance, if it is installed,
// adding X-Forwarded-For, -Host and -Proto as the proxy does (so that the
// instance has the same request to parse from either front). With
// other set, other is a second server of weight 0, and route gives all the
// weight to the first ("A") or the second ("B") through haproxy's runtime
// API on a unix socket.
func startHAProxy(ctx context.Context, instance, other string) (stop func(), addr string, route func(string) error, err error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil, "", nil, fmt.Errorf("not installed; skipped")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	addr = ln.Addr().String()
	ln.Close()
	u, err := url.Parse(instance)
	if err != nil {
		return nil, "", nil, err
	}
	dir, err := os.MkdirTemp("", "bluegreen-haproxy-")
	if err != nil {
		return nil, "", nil, err
	}
	sock := filepath.Join(dir, "admin.sock")
	servers := fmt.Sprintf("    server s1 %s weight 100\n", u.Host)
	if other != "" {
		o, err := url.Parse(other)
		if err != nil {
			return nil, "", nil, err
		}
		servers += fmt.Sprintf("    server s2 %s weight 0\n", o.Host)
	}
	cfg := fmt.Sprintf(`global
    maxconn 4096
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
frontend fe
    bind %s
    # The same forwarding fields the proxy adds (as ALB does), so that the
    # instance parses the same request from either front.
    option forwardfor
    http-request set-header X-Forwarded-Host %%[req.hdr(host)]
    http-request set-header X-Forwarded-Proto http
    default_backend be
backend be
    http-reuse always
%s`, sock, addr, servers)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, "", nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "-db", "-f", path)
	if err := cmd.Start(); err != nil {
		return nil, "", nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }
	route = func(slot string) error {
		up, down := "s1", "s2"
		if slot == "B" {
			up, down = "s2", "s1"
		}
		// One connection, both commands: the runtime API runs them in
		// turn, the new server up first (both down at once would answer
		// 503 in between).
		return haproxyCommand(sock, fmt.Sprintf("set weight be/%s 100; set weight be/%s 0", up, down))
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return stop, addr, route, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return nil, "", nil, fmt.Errorf("haproxy did not listen on %s", addr)
}

// haproxyCommand sends one line of commands to haproxy's runtime API and
// fails on any answer but the empty one "set weight" gives on success.
func haproxyCommand(sock, line string) error {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		return fmt.Errorf("haproxy %q: %s", line, s)
	}
	return nil
}
