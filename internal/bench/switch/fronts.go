package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// The speed comparison runs each Go front in a child process (this program
// again, with -front), so that no front shares a heap, a garbage collector
// or a scheduler with another, with the load generator or with the
// deployment benchmark that ran before: the same footing haproxy has.

// startFront starts front kind ("proxy" or "plain") before instance in a
// child process and returns its address; stop ends the child. With
// cpuprofile set, the child writes a CPU profile there when it stops.
// instance may name a second instance after a comma: the proxy then has
// the first in slot A and the second in slot B, and route moves all
// production traffic to slot "A" or "B" (the plain front ignores it).
func startFront(ctx context.Context, kind, instance, cpuprofile string) (addr string, route func(slot string) error, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-front", kind, "-upstream", instance, "-cpuprofile", cpuprofile)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	stop = func() {
		in.Close() // the child stops when its stdin closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	outr := bufio.NewReader(out)
	line, err := outr.ReadString('\n')
	if err != nil {
		stop()
		return "", nil, nil, fmt.Errorf("front %s did not start: %w", kind, err)
	}
	route = func(slot string) error {
		if _, err := io.WriteString(in, slot+"\n"); err != nil {
			return err
		}
		ack, err := outr.ReadString('\n') // the child answers once the route is in place
		if err != nil || strings.TrimSpace(ack) != "ok" {
			return fmt.Errorf("front %s: route %s: %q, %v", kind, slot, ack, err)
		}
		return nil
	}
	return strings.TrimSpace(line), route, stop, nil
}

// runFront is the child's side: serve front kind before upstream on a free
// loopback port, print the address, and serve until stdin closes.
func runFront(kind, upstream, cpuprofile string, stdin io.Reader, stdout io.Writer) error {
	var (
		addr  string
		close func()
		route = func(string) error { return nil }
	)
	switch kind {
	case "plain":
		ln, err := startPlain(upstream)
		if err != nil {
			return err
		}
		addr, close = ln.Addr().String(), func() { ln.Close() }
	case "proxy":
		px, err := startProxy(upstream)
		if err != nil {
			return err
		}
		addr, close = px.Addr(), func() { px.Close() }
		route = func(slot string) error {
			return px.SetRoutes(context.Background(), "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.Slot(slot))})
		}
	default:
		return fmt.Errorf("-front: unknown front %q", kind)
	}
	defer close()
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintln(stdout, addr)
	// Each line of stdin moves production traffic to a slot; its end stops
	// the front.
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if err := route(strings.TrimSpace(sc.Text())); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "ok")
	}
	return sc.Err()
}

// startProxy serves the built-in proxy, configured as in the deployment
// benchmark (active health checks, metrics, error-rate window), with
// instance as slot A's only target and all production traffic on A.
func startProxy(instance string) (*proxy.Proxy, error) {
	px, err := proxy.New(proxy.Options{
		Addr: "127.0.0.1:0", TestAddr: "off",
		Defaults: proxy.ServiceConfig{
			HealthCheck:         proxy.HealthCheck{Path: "/healthz", Interval: time.Second},
			DeregistrationDelay: 30 * time.Second,
		},
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	first, second, _ := strings.Cut(instance, ",")
	if err := px.SetTargets(ctx, "web", bluegreen.SlotA, []string{first}); err != nil {
		return nil, err
	}
	if second != "" {
		if err := px.SetTargets(ctx, "web", bluegreen.SlotB, []string{second}); err != nil {
			return nil, err
		}
	}
	if err := px.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
		return nil, err
	}
	if err := px.Start(); err != nil {
		return nil, err
	}
	return px, nil
}

// startPlain serves the plain reference (plainDescription) in front of
// instance.
func startPlain(instance string) (net.Listener, error) {
	instance, _, _ = strings.Cut(instance, ",")
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
