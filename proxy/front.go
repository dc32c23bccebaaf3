package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// The front end serves the production and test listeners. It reads each
// request head straight from the connection's buffer and, for the ordinary
// HTTP/1.1 request (no upgrade, no Expect, no transfer coding, a body of
// modest known length, a plain origin-form target, well-formed fields that
// fit the buffer), routes and proxies it on the fast path (forward.go)
// without building an http.Request. At the first request it does not take,
// it hands the connection, with the bytes it has read, to a net/http
// server running the same handler, which serves it from then on; so
// anything unusual (WebSockets, HTTP/1.0, malformed requests and their 400
// answers) behaves exactly as with net/http.

// Timeouts of client connections, as the net/http servers Start runs.
const (
	readHeaderTimeout = 10 * time.Second
	frontIdleTimeout  = 2 * time.Minute
)

// Buffer sizes of client connections. A request head larger than the
// reader's buffer goes to net/http (which allows up to 1 MB).
const (
	frontReadSize  = 8 << 10
	frontWriteSize = 8 << 10
)

// frontServer serves one listener.
type frontServer struct {
	p    *Proxy
	test bool // the test listener: requests go to the test route
	tls  bool // the listener speaks TLS: X-Forwarded-Proto is https
	ln   net.Listener
	slow *http.Server // serves the connections handed over
	hand *handoff

	mu       sync.Mutex
	conns    map[*frontConn]struct{}
	shutting atomic.Bool
}

// Connection states, for Shutdown.
const (
	stateIdle   int32 = iota // waiting for a request; Shutdown may close it
	stateActive              // serving a request
	stateClosed              // closed by Shutdown
)

func newFrontServer(p *Proxy, ln net.Listener, test, tls bool, h http.Handler) *frontServer {
	s := &frontServer{p: p, test: test, tls: tls, ln: ln, conns: map[*frontConn]struct{}{},
		hand: &handoff{addr: ln.Addr(), ch: make(chan net.Conn), done: make(chan struct{})}}
	if tls {
		h = tlsState{h}
	}
	s.slow = &http.Server{
		Handler:           h,
		ConnContext:       connContext,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       frontIdleTimeout,
		ErrorLog:          p.errorLog,
	}
	return s
}

// serve accepts connections until the listener closes.
func (s *frontServer) serve() error {
	go s.slow.Serve(s.hand)
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.shutting.Load() {
				return http.ErrServerClosed
			}
			// As net/http does: wait out resource exhaustion (EMFILE).
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := &frontConn{s: s, nc: nc}
		c.state.Store(stateIdle)
		s.mu.Lock()
		if s.shutting.Load() {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// forget removes c from the connections served.
func (s *frontServer) forget(c *frontConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// shutdown stops accepting, closes idle connections as they become idle,
// and waits until none is left or ctx ends; then it shuts the net/http
// server of handed-over connections down.
func (s *frontServer) shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.ln.Close()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !s.closeIdle() {
		select {
		case <-ctx.Done():
			s.slow.Close()
			return ctx.Err()
		case <-tick.C:
		}
	}
	return s.slow.Shutdown(ctx)
}

// closeIdle closes the idle connections and reports whether none is left.
func (s *frontServer) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// close closes the listener and every connection at once.
func (s *frontServer) close() error {
	s.shutting.Store(true)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return errors.Join(err, s.slow.Close())
}

// handoff is the listener of the net/http server: it accepts the
// connections the front end hands over.
type handoff struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }

// give hands c to the net/http server, or closes it once that is closed.
func (h *handoff) give(c net.Conn) {
	select {
	case h.ch <- c:
	case <-h.done:
		c.Close()
	}
}

// prefixConn is a connection whose first bytes were read already: Read
// returns them first.
type prefixConn struct {
	net.Conn
	prefix []byte
	tls    *tls.ConnectionState // the connection's TLS state, if it is a TLS connection
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

var (
	frontReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, frontReadSize) }}
	frontWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, frontWriteSize) }}
)

// frontConn is a client connection of the front end.
type frontConn struct {
	s      *frontServer
	nc     net.Conn
	raw    net.Conn // the TCP connection under nc, for peeking
	br     *bufio.Reader
	bw     *bufio.Writer
	ip     string // the client's IP address, for X-Forwarded-For
	state  atomic.Int32
	handed bool // given to the net/http server

	// deadline is the read deadline last set on nc (zero for none): a
	// kept-alive connection's idle deadline is moved only when it would
	// fall short of frontIdleTimeout by more than idleSlack, sparing a
	// timer update per request.
	deadline time.Time
	// ended is when the last request proxied on the fast path ended (zero
	// after any other answer): the time its metrics took, which also
	// serves for the idle deadline, sparing a clock reading per request.
	ended time.Time

	rq  frontReq     // the request being served
	out http1.Writer // its answer

	// Plain TCP connections on Linux are read inside the poller (see
	// serveRaw); the TLS ones, and elsewhere, through nc.
	rio       *rawIO
	stepFn    func() bool
	inStep    bool     // step is running: a hand-over waits until it returns
	next      stepNext // what serveRaw does when step returns true
	headTimed bool     // the partial head buffered has its readHeaderTimeout deadline
}

// stepNext is what serveRaw does after step.
type stepNext uint8

const (
	stepClose    stepNext = iota // the connection is done
	stepHandOver                 // give it to the net/http server
	stepBlocking                 // serve the parsed request outside the poller: its body is still coming
)

// serve serves c's requests until it closes or is handed over.
func (c *frontConn) serve() {
	c.raw = c.nc
	if tc, ok := c.nc.(*tls.Conn); ok {
		// HTTP/2 (by ALPN) goes to net/http's server, which speaks it.
		ctx, cancel := context.WithTimeout(context.Background(), readHeaderTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			tc.Close()
			c.s.forget(c)
			return
		}
		st := tc.ConnectionState()
		if challengeOnly(st) {
			tc.Close()
			c.s.forget(c)
			return
		}
		if st.NegotiatedProtocol == "h2" {
			c.s.forget(c)
			c.s.hand.give(tc)
			return
		}
		c.raw = tc.NetConn()
	}
	c.br = frontReaders.Get().(*bufio.Reader)
	c.bw = frontWriters.Get().(*bufio.Writer)
	c.br.Reset(c.nc)
	c.bw.Reset(c.nc)
	c.out.W = c.bw
	c.ip = http1.ClientIP(c.nc.RemoteAddr().String())
	defer func() {
		if !c.handed {
			c.nc.Close()
		}
		c.br.Reset(nil)
		c.bw.Reset(nil)
		frontReaders.Put(c.br)
		frontWriters.Put(c.bw)
		c.s.forget(c)
	}()
	// As net/http: a new connection has readHeaderTimeout to send its
	// first request, a kept-alive one frontIdleTimeout to start the next.
	c.setReadDeadline(time.Now().Add(readHeaderTimeout))
	if c.rio = newRawIO(c.nc); c.rio != nil {
		c.br.Reset(c.rio)
		c.bw.Reset(c.rio)
		c.serveRaw()
		return
	}
	for first := true; ; first = false {
		if c.br.Buffered() == 0 {
			if !first {
				c.keepAliveDeadline()
			}
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return // closed by Shutdown
		}
		end, ok := c.readHead()
		if !ok {
			return
		}
		if end < 0 || !c.parse(end) {
			c.handOver()
			return
		}
		if !c.serveParsed() {
			return
		}
	}
}

// serveParsed serves the request just parsed and makes the connection idle
// again; it reports whether the connection may carry another request.
func (c *frontConn) serveParsed() bool {
	if !c.serveRequest() || c.s.shutting.Load() {
		return false
	}
	c.state.Store(stateIdle)
	c.headTimed = false
	return true
}

// errWouldBlock is what a read inside rawIO.poll returns when the socket
// holds nothing.
var errWouldBlock = errors.New("proxy: nothing to read yet")

// serveRaw serves c's requests as serve does, reading them inside the
// poller (rawIO.poll): between two requests on a kept-alive connection it
// waits for the next without first trying a read that would find nothing,
// which saves a system call per request.
func (c *frontConn) serveRaw() {
	if c.stepFn == nil {
		c.stepFn = c.step
	}
	for {
		c.next = stepClose
		c.inStep = true
		err := c.rio.poll(c.stepFn)
		c.inStep = false
		if err != nil {
			return // closed, or a deadline passed
		}
		switch c.next {
		case stepClose:
			return
		case stepHandOver:
			c.give()
			return
		case stepBlocking:
			if !c.serveParsed() {
				return
			}
		}
	}
}

// step reads what the client sent and serves each complete request
// buffered; it returns false to wait for more, and true, with c.next set,
// when serveRaw must take over. It runs inside the poller, where reads
// through c.br never wait: they report errWouldBlock.
func (c *frontConn) step() bool {
	for {
		var readErr error
		if n := c.br.Buffered(); n < c.br.Size() {
			_, readErr = c.br.Peek(n + 1)
		}
		// Serve what is buffered even when the read failed: a client may
		// send its last request and close its half of the connection.
		for c.br.Buffered() > 0 {
			if c.state.Load() != stateActive && !c.state.CompareAndSwap(stateIdle, stateActive) {
				return true // closed by Shutdown
			}
			n := c.br.Buffered()
			b, _ := c.br.Peek(n)
			end := http1.HeadEnd(b)
			if end <= 0 {
				if n == c.br.Size() {
					c.handOver() // too large for the fast path
					return true
				}
				if !c.headTimed {
					c.setReadDeadline(time.Now().Add(readHeaderTimeout))
					c.headTimed = true
				}
				break
			}
			if !c.parse(end) {
				c.handOver()
				return true
			}
			if c.rq.Length > int64(n-end) {
				c.next = stepBlocking
				return true
			}
			if !c.serveParsed() {
				return true // done, or handed over (c.next says which)
			}
		}
		switch {
		case readErr == nil && !c.rio.drained():
			continue // the read filled the buffer: there may be more
		case readErr == nil || errors.Is(readErr, errWouldBlock):
			// The socket was drained inside this poll: whatever arrives
			// from now on wakes the connection.
			if c.br.Buffered() == 0 {
				c.keepAliveDeadline()
			}
			return false
		default:
			return true // closed by the client, or failed
		}
	}
}

// keepAliveDeadline gives a kept-alive connection, between two requests,
// frontIdleTimeout to start the next.
func (c *frontConn) keepAliveDeadline() {
	now := c.ended
	if now.IsZero() {
		now = time.Now()
	}
	c.idleDeadline(now)
}

// idleSlack is how much shorter than frontIdleTimeout a kept-alive
// connection's wait for its next request may be: its deadline is moved
// only when it falls short by more.
const idleSlack = frontIdleTimeout / 64

// idleDeadline gives a kept-alive connection frontIdleTimeout from now
// (less at most idleSlack) to start its next request.
func (c *frontConn) idleDeadline(now time.Time) {
	if want := now.Add(frontIdleTimeout); c.deadline.IsZero() || want.Sub(c.deadline) > idleSlack {
		c.setReadDeadline(want)
	}
}

// setReadDeadline sets nc's read deadline and remembers it.
func (c *frontConn) setReadDeadline(t time.Time) {
	c.deadline = t
	c.nc.SetReadDeadline(t)
}

// readHead waits until a whole request head is buffered and returns its
// length, or -1 when it does not fit the buffer (net/http will read it).
// It reports false when the client closed the connection, or sent part of
// a head and then nothing for readHeaderTimeout, as net/http closes it.
func (c *frontConn) readHead() (int, bool) {
	timed := false
	for {
		n := c.br.Buffered()
		b, _ := c.br.Peek(n)
		if end := http1.HeadEnd(b); end > 0 {
			return end, true
		}
		if n == c.br.Size() {
			return -1, true
		}
		if !timed {
			c.setReadDeadline(time.Now().Add(readHeaderTimeout))
			timed = true
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			return 0, false
		}
	}
}

// handOver gives the connection, and the bytes read from it, to the
// net/http server.
func (c *frontConn) handOver() {
	c.handed = true
	if c.inStep {
		// The net/http server could not read the connection before
		// step returns; serveRaw gives it then.
		c.next = stepHandOver
		return
	}
	c.give()
}

// give hands the connection over (see handOver).
func (c *frontConn) give() {
	b, _ := c.br.Peek(c.br.Buffered())
	c.setReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c.nc, prefix: bytes.Clone(b)}
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		pc.tls = &st
	}
	c.s.hand.give(pc)
}

// serveRequest routes and proxies the parsed request, and reports whether
// the connection may carry another.
func (c *frontConn) serveRequest() bool {
	p := c.s.p
	rq := &c.rq
	for range drainRetries {
		host := rq.Host.Of(c.headBytes())
		e := p.table.Load().lookupBytes(host)
		if e == nil {
			return c.errorPage(http.StatusNotFound, "no service for host "+string(host))
		}
		var slot int
		var setCookie string
		if c.s.test {
			if slot = e.test; slot < 0 {
				return c.errorPage(http.StatusServiceUnavailable, "service "+e.svc.name+" has no test route")
			}
		} else if slot, setCookie = e.production(c); slot < 0 {
			return c.errorPage(http.StatusServiceUnavailable, "service "+e.svc.name+" has no production route")
		}
		if done, keep := c.serveOn(e.svc.pools[slot], setCookie); done {
			return keep
		}
		if c.handed {
			return false
		}
	}
	if c.s.test {
		return c.errorPage(http.StatusServiceUnavailable, "test environment draining")
	}
	return c.errorPage(http.StatusServiceUnavailable, "environment draining")
}

// serveOn proxies the request to an instance of pl. done is false, with
// nothing done, when pl is draining; keep reports whether the connection
// may carry another request.
func (c *frontConn) serveOn(pl *pool, setCookie string) (done, keep bool) {
	if !pl.acquire() {
		return false, true
	}
	rq := &c.rq
	t := pl.pick()
	for tries := 0; t != nil && !t.acquire(); tries++ {
		t = nil
		if tries < drainRetries {
			t = pl.pick()
		}
	}
	if t == nil {
		// Counted before the answer goes out, so whoever reads it can
		// find it in the metrics.
		pl.metrics.record(http.StatusServiceUnavailable, time.Since(rq.start))
		pl.release()
		return true, c.errorPage(http.StatusServiceUnavailable, "service "+pl.service+" slot "+string(pl.slot)+" has no instances")
	}
	if !t.fast {
		// An https instance: net/http's ReverseProxy path serves this
		// connection from now on (nothing of it was consumed yet).
		t.release()
		pl.release()
		c.handOver()
		return false, false
	}
	out := c.s.p.forward(c, t, setCookie, rq.start)
	c.ended = time.Now()
	pl.metrics.record(out.status, c.ended.Sub(rq.start))
	pl.release()
	if out.abort || out.status == statusClientGone {
		c.bw.Flush()
		return true, false
	}
	return true, c.finish()
}

// finish ends a response: it skips what is left of the request, flushes,
// and reports whether the connection may carry another request.
func (c *frontConn) finish() bool {
	rq := &c.rq
	if !rq.headGone {
		c.br.Discard(rq.headLen)
		if rq.Length > 0 {
			rq.CloseConn = true // the body was not read
		}
	}
	if c.bw.Flush() != nil {
		return false
	}
	return !rq.CloseConn
}
