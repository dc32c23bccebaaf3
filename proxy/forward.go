package proxy

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// The fast path carries an ordinary request to an instance over a pooled
// HTTP/1.1 connection (upstream.go) and streams the answer back, all on the
// request's own goroutine: no Transport goroutines, no context per request,
// and the answer's head is read straight from the connection's buffer.
// Requests reach it from the front end's own connections (front.go) or,
// for the others, from the http.Handler (httpside.go); upgrades and
// anything unusual take httputil.ReverseProxy (target.go) instead, which
// behaves the same. The wire format is package http1's.

// side is the client's half of a request on the fast path.
type side interface {
	// writeRequest writes the request, head and body, as it goes to the
	// instance.
	writeRequest(w *bufio.Writer) error
	// replayable reports whether the request may be sent again: an
	// idempotent method and no body.
	replayable() bool
	// head reports whether the request's method is HEAD.
	head() bool
	// gone reports whether the client has gone away.
	gone() bool
	// interim passes on an informational (1xx) answer whose head is b.
	interim(b []byte) error
	// respond checks the final answer's head b and sends it on, adding a
	// Set-Cookie field when setCookie is set. When b is malformed it sends
	// nothing and returns http1.ErrMalformed; errClient means the client's
	// connection failed.
	respond(b []byte, setCookie string) (http1.Response, error)
	// fail answers a request the instance answered nothing to.
	fail(status int, setCookie string)
	// sink receives the answer's body.
	sink() http1.Sink
}

// clientCheck is how often a request waiting on its instance checks
// whether its client has gone (the first time between clientCheck/2 and
// clientCheck after it was sent), so that the instance's connection is
// closed (which cancels the request there) as httputil.ReverseProxy would.
const clientCheck = 500 * time.Millisecond

// Errors of the fast path, each with its answer to the client.
var (
	errClientGone = errors.New("proxy: client went away")     // nothing; 499 in metrics
	errCut        = errors.New("proxy: deregistration delay") // 503
	errClient     = http1.ErrWrite
)

// outcome is how a forwarded request ended, for metrics and the caller.
type outcome struct {
	status int
	abort  bool // the answer broke off after its head: the client connection must be cut
}

// forward sends the request of s to t, which the caller acquired and
// forward releases, and sends the answer back. Like target.RoundTrip, it
// retries an idempotent request without a body on other healthy instances
// when t refuses the connection, and it retries once on a fresh connection
// when a reused one turns out to have been closed by the instance.
func (p *Proxy) forward(s side, t *target, setCookie string, start time.Time) outcome {
	replay := s.replayable()
	var tried [maxRetries + 1]*target
	tried[0] = t
	n := 1
	fresh := false // skip the pool: a reused connection was stale
	for {
		c, reused, strays, err := t.conns.get(t.url.Host, fresh)
		if strays > 0 {
			t.noteStray(strays)
		}
		if err != nil {
			t.release()
			if isDialError(err) {
				t.markRefused()
				if replay && n < len(tried) {
					if t = nextTarget(t.pool, tried[:n]); t != nil {
						tried[n] = t
						n++
						fresh = false
						continue
					}
				}
			}
			s.fail(http.StatusBadGateway, setCookie)
			return outcome{status: http.StatusBadGateway}
		}
		if !reused && t.killed() {
			// A drain's deadline passed while this connection was dialed.
			t.conns.drop(c)
			t.release()
			s.fail(http.StatusServiceUnavailable, setCookie)
			return outcome{status: http.StatusServiceUnavailable}
		}
		out, retry := p.exchange(s, t, c, reused && replay, setCookie, start)
		if retry {
			fresh = true
			continue
		}
		t.release()
		return out
	}
}

// nextTarget acquires a healthy instance of pl not in tried, or returns nil.
func nextTarget(pl *pool, tried []*target) *target {
	for range maxRetries {
		next := pl.pickExcept(tried)
		if next == nil {
			return nil
		}
		if !next.fast {
			tried = append(tried[:len(tried):len(tried)], next) // https: not on this path
			continue
		}
		if next.acquire() {
			return next
		}
	}
	return nil
}

// exchange sends the request on c and the answer to s, then returns c to
// t's pool or closes it. retry reports that c, a reused connection, failed
// before the instance answered anything and canRetry allowed another try:
// nothing was sent to the client.
func (p *Proxy) exchange(s side, t *target, c *upConn, canRetry bool, setCookie string, start time.Time) (out outcome, retry bool) {
	c.checkClientBy(start)
	if err := s.writeRequest(c.bw); err != nil {
		t.conns.drop(c)
		if errors.Is(err, errClient) {
			return outcome{status: statusClientGone}, false
		}
		return p.lost(s, t, c, setCookie, err), false
	}
	if err := c.send(); err != nil {
		return p.lostOrRetry(s, t, c, canRetry, setCookie, err)
	}
	c.side = s // for Fill; cleared before c goes back to the pool
	var rh http1.Response
	for {
		b, inBuf, err := c.readHead()
		if err != nil {
			return p.lostOrRetry(s, t, c, canRetry && c.br.Buffered() == 0, setCookie, err)
		}
		status := http1.Status(b)
		if status >= 200 {
			if rh, err = s.respond(b, setCookie); err != nil {
				t.conns.drop(c)
				if errors.Is(err, errClient) {
					return outcome{status: statusClientGone, abort: true}, false
				}
				t.markFailed("sent a malformed answer head")
				s.fail(http.StatusBadGateway, setCookie)
				return outcome{status: http.StatusBadGateway}, false
			}
			if inBuf {
				c.br.Discard(len(b))
			}
			break
		}
		// An informational answer (103 Early Hints): pass it on, read on.
		// Except a 100 Continue, checked and dropped: this path carries no
		// request with Expect (net/http's server answers those itself), so
		// nobody asked for it; the ReverseProxy path drops it as well
		// (recorder.WriteHeader).
		if status == http.StatusSwitchingProtocols {
			t.conns.drop(c)
			s.fail(http.StatusBadGateway, setCookie)
			return outcome{status: http.StatusBadGateway}, false
		}
		pass := s.interim
		if status == http.StatusContinue {
			pass = checkOnly
		}
		if err := pass(b); err != nil {
			t.conns.drop(c)
			if errors.Is(err, http1.ErrMalformed) {
				t.markFailed("sent a malformed informational answer")
			}
			s.fail(http.StatusBadGateway, setCookie)
			return outcome{status: http.StatusBadGateway}, false
		}
		if inBuf {
			c.br.Discard(len(b))
		}
		canRetry = false
	}
	if err := http1.CopyBody(c.br, c, s.sink(), &rh); err != nil {
		t.conns.drop(c)
		if errors.Is(err, http1.ErrMalformed) {
			t.markFailed("sent a malformed answer body")
		}
		return outcome{status: rh.Status, abort: true}, false
	}
	switch {
	case c.br.Buffered() > 0:
		// Bytes after the answer (a HEAD, 204 or 304 answer with a body,
		// or an answer nobody asked for): the connection cannot be
		// trusted with another request.
		t.noteStray(1)
		t.conns.drop(c)
	case rh.KeepAlive:
		c.side = nil
		t.conns.put(c, start)
	default:
		t.conns.drop(c)
	}
	return outcome{status: rh.Status}, false
}

// checkOnly checks an informational answer's head that is not passed on.
func checkOnly(b []byte) error {
	_, err := http1.ScanResponse(b, false)
	return err
}

// lostOrRetry handles a connection that failed before the instance
// answered: retried on a fresh connection if allowed, otherwise as lost.
func (p *Proxy) lostOrRetry(s side, t *target, c *upConn, canRetry bool, setCookie string, err error) (outcome, bool) {
	t.conns.drop(c)
	if canRetry && !c.cut.Load() && !errors.Is(err, errClientGone) && !t.killed() {
		return outcome{}, true
	}
	return p.lost(s, t, c, setCookie, err), false
}

// lost answers a request whose instance answered nothing: 503 when a
// drain's deadline cut its connection, nothing when the client went away,
// and 502 for anything else. c is closed already.
func (p *Proxy) lost(s side, t *target, c *upConn, setCookie string, err error) outcome {
	switch {
	case c.cut.Load() || errors.Is(err, errCut):
		s.fail(http.StatusServiceUnavailable, setCookie)
		return outcome{status: http.StatusServiceUnavailable}
	case errors.Is(err, errClientGone) || errors.Is(err, errClient) || s.gone():
		return outcome{status: statusClientGone}
	case errors.Is(err, http1.ErrMalformed):
		t.markFailed("sent a malformed answer head")
	}
	s.fail(http.StatusBadGateway, setCookie)
	return outcome{status: http.StatusBadGateway}
}

// send flushes the request and, where it can, waits for the answer in the
// same step (rawIO.sendThenWait).
func (c *upConn) send() error {
	if c.raw == nil {
		return c.bw.Flush()
	}
	return c.raw.sendThenWait(c.flushFn)
}

// Fill implements http1.Filler: it reads more of the instance's answer
// into c.br, however long it takes, but waking every clientCheck to give
// up when the client has gone.
func (c *upConn) Fill() error {
	for {
		_, err := c.br.Peek(c.br.Buffered() + 1)
		if err == nil {
			return nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			if c.cut.Load() {
				return errCut
			}
			return err
		}
		if c.side.gone() {
			return errClientGone
		}
		c.setReadDeadline(time.Now().Add(clientCheck))
	}
}

// checkClientBy makes a read of the answer to a request sent at start wake
// to check on its client between clientCheck/2 and clientCheck after start.
// A deadline set for an earlier request on c that is far enough off is
// kept, which spares a timer update per request on a busy connection.
func (c *upConn) checkClientBy(start time.Time) {
	if c.deadline.Sub(start) < clientCheck/2 {
		c.setReadDeadline(start.Add(clientCheck))
	}
}

// setReadDeadline sets c's read deadline and remembers it.
func (c *upConn) setReadDeadline(t time.Time) {
	c.deadline = t
	c.nc.SetReadDeadline(t)
}

// maxResponseHead bounds a response head, as net/http's Transport does
// by default.
const maxResponseHead = 1 << 20

// readHead reads a response head. It usually lies whole in c.br (inBuf:
// the caller discards it once used); a head larger than the buffer is
// gathered in memory of its own, and consumed from c.br already.
func (c *upConn) readHead() (head []byte, inBuf bool, err error) {
	for {
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			if end := http1.HeadEnd(b); end > 0 {
				return b[:end], true, nil
			}
			if n == c.br.Size() {
				return c.readLargeHead()
			}
		}
		if err := c.Fill(); err != nil {
			return nil, false, err
		}
	}
}

func (c *upConn) readLargeHead() ([]byte, bool, error) {
	var head []byte
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		head = append(head, b...)
		if end := http1.HeadEnd(head); end > 0 {
			c.br.Discard(end - (len(head) - len(b)))
			return head[:end], false, nil
		}
		c.br.Discard(len(b))
		if len(head) > maxResponseHead {
			return nil, false, http1.ErrMalformed
		}
		if err := c.Fill(); err != nil {
			return nil, false, err
		}
	}
}
