package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// TestDrainLetsLongRequestFinish is the case: a 2-second request on
// blue finishes after all traffic moved to green, and Drain waits for it.
func TestDrainLetsLongRequestFinish(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var finished atomic.Bool
	blue := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			time.Sleep(2 * time.Second)
			finished.Store(true)
		}
		io.WriteString(w, "blue")
	})
	green := newBackend(t, "green", nil)
	p := startProxy(t, Options{Defaults: ServiceConfig{DeregistrationDelay: testTimeout}})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	ctx := context.Background()

	type result struct {
		status int
		body   string
	}
	slow := make(chan result, 1)
	go func() {
		res, err := c.Get("http://" + p.Addr() + "/slow")
		if err != nil {
			slow <- result{0, err.Error()}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- result{res.StatusCode, string(b)}
	}()
	<-started

	if err := p.Drain(ctx, "web", bluegreen.SlotA); !errors.Is(err, bluegreen.ErrFailedPrecondition) {
		t.Fatalf("Drain of a slot with production weight = %v, want ErrFailedPrecondition", err)
	}
	if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(ctx, "web", bluegreen.SlotA) }()

	// While blue drains, new requests go to green at once.
	if status, body := get(t, c, "http://"+p.Addr()+"/", nil); status != http.StatusOK || body != "green" {
		t.Errorf("request during the drain: %d %q, want 200 green", status, body)
	}
	select {
	case err := <-drained:
		if !finished.Load() {
			t.Fatalf("Drain returned (%v) before the long request finished", err)
		}
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Drain did not return")
	}
	if r := <-slow; r.status != http.StatusOK || r.body != "blue" {
		t.Errorf("long request on blue: %d %q, want 200 blue", r.status, r.body)
	}
}

func TestDrainDeadlineCancelsRequests(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 2)
	var canceled atomic.Int64
	blue := newBackend(t, "blue", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			wsEcho(w, r)
			return
		}
		started <- struct{}{}
		<-r.Context().Done() // never answers on its own
		canceled.Add(1)
	})
	green := newBackend(t, "green", nil)
	const delay = 200 * time.Millisecond
	p := startProxy(t, Options{Defaults: ServiceConfig{DeregistrationDelay: delay}})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	ctx := context.Background()

	statuses := make(chan int, 1)
	go func() {
		res, err := c.Get("http://" + p.Addr() + "/hang")
		if err != nil {
			statuses <- 0
			return
		}
		res.Body.Close()
		statuses <- res.StatusCode
	}()
	<-started
	ws := dialWebSocket(t, p.Addr())
	ws.echo(t, "before")

	if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Drain(ctx, "web", bluegreen.SlotA); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if took := time.Since(start); took < delay || took > delay+unwindTimeout {
		t.Errorf("Drain took %v, want the deregistration delay (%v) and a moment", took, delay)
	}
	if got := <-statuses; got != http.StatusServiceUnavailable {
		t.Errorf("request cut by the deregistration delay: status %d, want 503", got)
	}
	eventually(t, "blue sees its request canceled", func() bool { return canceled.Load() == 1 })
	ws.conn.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := ws.r.ReadString('\n'); err == nil {
		t.Errorf("WebSocket still open after the deregistration delay")
	}
}

// TestWebSocketStaysOpenWhileDraining: a WebSocket on blue keeps working
// while blue drains, and the drain ends when it closes.
func TestWebSocketStaysOpenWhileDraining(t *testing.T) {
	t.Parallel()
	blue := newBackend(t, "blue", wsEcho)
	green := newBackend(t, "green", nil)
	p := startProxy(t, Options{Defaults: ServiceConfig{DeregistrationDelay: testTimeout}})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	ctx := context.Background()

	ws := dialWebSocket(t, p.Addr())
	ws.echo(t, "hello")
	if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB)}); err != nil {
		t.Fatal(err)
	}
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(ctx, "web", bluegreen.SlotA) }()
	eventually(t, "the drain starts", func() bool {
		m, _ := p.Metrics(ctx, "web", bluegreen.SlotA)
		return p.services["web"].pools[0].draining.Load() && m.InFlight == 1
	})
	for i := range 3 {
		ws.echo(t, fmt.Sprintf("during drain %d", i))
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a WebSocket was open", err)
	default:
	}
	ws.conn.Close()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Drain did not return after the WebSocket closed")
	}
	if got := blue.hits.Load(); got != 1 {
		t.Errorf("blue got %d requests, want the one WebSocket", got)
	}
}

func TestDrainedSlotComesBack(t *testing.T) {
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotA})
	ctx := context.Background()
	c := newClient(t)
	if err := p.Drain(ctx, "web", bluegreen.SlotA); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, c, "http://"+p.TestAddr()+"/", nil); status != http.StatusServiceUnavailable {
		t.Errorf("test request to a drained slot: %d, want 503", status)
	}
	// Routing traffic to the slot again (a rollback, or the next deployment)
	// ends the drain.
	if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}); err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, c, "http://"+p.Addr()+"/", nil); status != http.StatusOK || body != "blue" {
		t.Errorf("after routing to the drained slot: %d %q, want 200 blue", status, body)
	}
	if err := p.Drain(ctx, "web", "C"); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("Drain of slot C = %v, want ErrInvalid", err)
	}
	if err := p.Drain(ctx, "nope", bluegreen.SlotA); err != nil {
		t.Errorf("Drain of an unknown service = %v, want nil", err)
	}
}

// wsEcho is an upstream that switches protocols and echoes what it reads,
// as a WebSocket server would (framing does not matter to the proxy).
func wsEcho(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "upgrade required", http.StatusUpgradeRequired)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	if brw.Flush() != nil {
		return
	}
	io.Copy(conn, brw)
}

type wsConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialWebSocket opens an upgraded connection through the proxy at addr.
func dialWebSocket(t *testing.T, addr string) *wsConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(testTimeout))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: web\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	r := bufio.NewReader(conn)
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: status %d, want 101", res.StatusCode)
	}
	return &wsConn{conn, r}
}

// echo sends a line and checks that it comes back.
func (w *wsConn) echo(t *testing.T, line string) {
	t.Helper()
	w.conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(w.conn, line+"\n"); err != nil {
		t.Fatalf("WebSocket write: %v", err)
	}
	got, err := w.r.ReadString('\n')
	if err != nil || got != line+"\n" {
		t.Fatalf("WebSocket echo = %q, %v; want %q", got, err, line)
	}
}

// TestRemovingTargetsWaitsForTheirRequests: SetTargets returns only once the
// requests in flight on the instances it removed have finished, so a compute
// backend can stop them right after; other instances take the new requests.
func TestRemovingTargetsWaitsForTheirRequests(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	old := newBackend(t, "old", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "old")
	})
	repl := newBackend(t, "new", nil)
	p := startProxy(t, Options{Defaults: ServiceConfig{DeregistrationDelay: testTimeout}})
	mustSetup(t, p, []string{old.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	ctx := context.Background()

	slow := make(chan string, 1)
	go func() {
		_, body := get(t, c, "http://"+p.Addr()+"/slow", nil)
		slow <- body
	}()
	<-started
	set := make(chan error, 1)
	go func() { set <- p.SetTargets(ctx, "web", bluegreen.SlotA, []string{repl.addr()}) }()
	eventually(t, "the old instance leaves the list", func() bool {
		ts, _ := p.Targets(ctx, "web", bluegreen.SlotA)
		return len(ts) == 1 && ts[0].Addr == "http://"+repl.addr()
	})
	for range 5 {
		if _, body := get(t, c, "http://"+p.Addr()+"/", nil); body != "new" {
			t.Fatalf("new request went to %q, want the new instance", body)
		}
	}
	select {
	case err := <-set:
		t.Fatalf("SetTargets returned (%v) while a request was in flight on the instance it removed", err)
	default:
	}
	close(release)
	if err := <-set; err != nil {
		t.Fatalf("SetTargets: %v", err)
	}
	if body := <-slow; body != "old" {
		t.Errorf("the request in flight got %q, want its answer from the old instance", body)
	}
}

func TestRemovingTargetsHonorsDeregistrationDelay(t *testing.T) {
	started := make(chan struct{})
	hung := newBackend(t, "hung", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	const delay = 100 * time.Millisecond
	p := startProxy(t, Options{Defaults: ServiceConfig{DeregistrationDelay: delay}})
	mustSetup(t, p, []string{hung.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	status := make(chan int, 1)
	go func() {
		s, _ := get(t, newClient(t), "http://"+p.Addr()+"/", nil)
		status <- s
	}()
	<-started
	start := time.Now()
	if err := p.SetTargets(context.Background(), "web", bluegreen.SlotA, nil); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay || took > delay+unwindTimeout {
		t.Errorf("SetTargets took %v, want the deregistration delay %v and a moment", took, delay)
	}
	if s := <-status; s != http.StatusServiceUnavailable {
		t.Errorf("request cut at the deregistration delay: %d, want 503", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.SetTargets(ctx, "web", bluegreen.SlotA, nil); err != nil {
		t.Errorf("SetTargets with nothing to wait for, canceled context: %v, want nil", err)
	}
}
