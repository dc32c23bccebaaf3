package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy"
)

// speed compares the proxy with a plain httputil.ReverseProxy behind an
// atomic pointer (the reference) and haproxy, if installed, in front
// of the same instance: maximum throughput, and p99 at 2,000 requests/s.
type speed struct {
	// Throughput is requests/s at saturation with 64 keep-alive connections.
	Throughput map[string]float64 `json:"throughputRps"`
	// ThroughputRatio is the proxy's throughput over the plain proxy's.
	ThroughputRatio float64 `json:"throughputRatioVsPlain"`
	// P99At2000 is the p99 latency in ms at 2,000 requests/s.
	P99At2000 map[string]float64 `json:"p99MsAt2000"`
	// P99RatioVsHAProxy is the proxy's p99 over haproxy's, when haproxy ran.
	P99RatioVsHAProxy float64 `json:"p99RatioVsHAProxy,omitempty"`
	Note              string  `json:"note"`
}

func measureSpeed(ctx context.Context, px *proxy.Proxy, instance string, du time.Duration, cpuprofile string, log io.Writer) (*speed, error) {
	plain, err := startPlain(instance)
	if err != nil {
		return nil, err
	}
	defer plain.Close()
	fronts := map[string]string{"proxy": "http://" + px.Addr() + "/", "plain": "http://" + plain.Addr().String() + "/"}
	if stop, addr, err := startHAProxy(ctx, instance); err == nil {
		defer stop()
		fronts["haproxy"] = "http://" + addr + "/"
	} else {
		fmt.Fprintln(log, "haproxy:", err)
	}
	sp := &speed{Throughput: map[string]float64{}, P99At2000: map[string]float64{},
		Note: "load generator, proxies and instance share this machine's CPUs; compare ratios, not absolute figures"}
	for _, name := range []string{"proxy", "plain", "haproxy"} {
		u, ok := fronts[name]
		if !ok {
			continue
		}
		host := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/")
		if name == "proxy" && cpuprofile != "" {
			f, err := os.Create(cpuprofile)
			if err != nil {
				return nil, err
			}
			pprof.StartCPUProfile(f)
			defer f.Close()
		}
		rps, failed, err := blast(host, 64, du)
		if name == "proxy" && cpuprofile != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			return nil, fmt.Errorf("throughput of %s: %w", name, err)
		}
		sp.Throughput[name] = float64(int(rps))
		fmt.Fprintf(log, "throughput %-8s %8.0f req/s (%d failures)\n", name, rps, failed)
		st := startAttackFor(u, 2000, du, 0).wait()
		sp.P99At2000[name] = st.P99Ms
		fmt.Fprintf(log, "p99 at 2000/s %-8s %6.2f ms (%d failures)\n", name, st.P99Ms, st.Failures)
	}
	sp.ThroughputRatio = ratio(sp.Throughput["proxy"], sp.Throughput["plain"])
	if h := sp.P99At2000["haproxy"]; h > 0 {
		sp.P99RatioVsHAProxy = ratio(sp.P99At2000["proxy"], h)
	}
	return sp, nil
}

// startPlain serves a plain httputil.ReverseProxy to instance behind an
// atomic pointer, with the same idle-connection allowance as the proxy.
func startPlain(instance string) (net.Listener, error) {
	u, err := url.Parse(instance)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp.Transport = tr
	var cur atomic.Pointer[httputil.ReverseProxy]
	cur.Store(rp)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cur.Load().ServeHTTP(w, r) }))
	return ln, nil
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
