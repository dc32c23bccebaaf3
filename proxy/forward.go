package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// The fast path carries an ordinary request to an instance over a pooled
// HTTP/1.1 connection (upstream.go) and streams the answer back, all on the
// request's own goroutine: no Transport goroutines, no context per request,
// and the answer's head is read straight from the connection's buffer.
// Requests reach it from the front end's own connections (front.go) or,
// for the others, from the http.Handler (httpside.go); upgrades and
// anything unusual take httputil.ReverseProxy (target.go) instead, which
// behaves the same.

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
	// respond parses the final answer's head b and sends it on, adding a
	// Set-Cookie field when setCookie is set. When b is malformed it sends
	// nothing and returns errMalformed; errClient means the client's
	// connection failed.
	respond(b []byte, setCookie string) (respHead, error)
	// fail answers a request the instance answered nothing to.
	fail(status int, setCookie string)
	bodyOut
}

// bodyOut receives an answer's body.
type bodyOut interface {
	// data sends a piece of the body.
	data(p []byte) error
	// flush sends what is buffered: the instance has nothing more yet, so
	// streamed answers (server-sent events) arrive as they are produced.
	flush() error
	// trailer passes on a trailer field line of a chunked body.
	trailer(line []byte) error
	// end completes the body.
	end() error
}

// maxFastBody is the largest request body the fast path carries. The fast
// path sends the whole body before it reads the answer, so it keeps to
// bodies that fit the socket buffers: an instance that answers early never
// leaves it stuck writing.
const maxFastBody = 64 << 10

// clientCheck is how often a request waiting on its instance checks
// whether its client has gone, so that the instance's connection is closed
// (which cancels the request there) as httputil.ReverseProxy would.
const clientCheck = 500 * time.Millisecond

// Errors of the fast path, each with its answer to the client.
var (
	errClientGone = errors.New("proxy: client went away")     // nothing; 499 in metrics
	errCut        = errors.New("proxy: deregistration delay") // 503
	errClient     = errors.New("proxy: client connection failed")
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
		c, reused, err := t.conns.get(t.url.Host, fresh, !replay, start)
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
	c.nc.SetReadDeadline(start.Add(clientCheck))
	if err := s.writeRequest(c.bw); err != nil {
		t.conns.drop(c)
		if errors.Is(err, errClient) {
			return outcome{status: statusClientGone}, false
		}
		return p.lost(s, c, setCookie, err), false
	}
	if err := c.bw.Flush(); err != nil {
		return p.lostOrRetry(s, t, c, canRetry, setCookie, err)
	}
	var rh respHead
	for {
		b, inBuf, err := c.readHead(s)
		if err != nil {
			return p.lostOrRetry(s, t, c, canRetry && c.br.Buffered() == 0, setCookie, err)
		}
		if headStatus(b) >= 200 {
			if rh, err = s.respond(b, setCookie); err != nil {
				t.conns.drop(c)
				if errors.Is(err, errClient) {
					return outcome{status: statusClientGone, abort: true}, false
				}
				s.fail(http.StatusBadGateway, setCookie)
				return outcome{status: http.StatusBadGateway}, false
			}
			if inBuf {
				c.br.Discard(len(b))
			}
			break
		}
		// An informational answer (103 Early Hints): pass it on, read on.
		if headStatus(b) == http.StatusSwitchingProtocols || s.interim(b) != nil {
			t.conns.drop(c)
			s.fail(http.StatusBadGateway, setCookie)
			return outcome{status: http.StatusBadGateway}, false
		}
		if inBuf {
			c.br.Discard(len(b))
		}
		canRetry = false
	}
	var err error
	switch {
	case rh.chunked:
		err = c.copyChunked(s, s)
	case rh.length > 0:
		err = c.copyN(s, s, rh.length)
	case rh.length < 0:
		err = c.copyToEOF(s, s)
		rh.keepAlive = false
	}
	if err == nil {
		err = s.end()
	}
	if err != nil {
		t.conns.drop(c)
		return outcome{status: rh.status, abort: true}, false
	}
	if rh.keepAlive && c.br.Buffered() == 0 {
		// (Bytes after the answer: the instance misspoke; the connection
		// cannot be trusted with another request.)
		t.conns.put(c, start)
	} else {
		t.conns.drop(c)
	}
	return outcome{status: rh.status}, false
}

// lostOrRetry handles a connection that failed before the instance
// answered: retried on a fresh connection if allowed, otherwise as lost.
func (p *Proxy) lostOrRetry(s side, t *target, c *upConn, canRetry bool, setCookie string, err error) (outcome, bool) {
	t.conns.drop(c)
	if canRetry && !c.cut.Load() && !errors.Is(err, errClientGone) && !t.killed() {
		return outcome{}, true
	}
	return p.lost(s, c, setCookie, err), false
}

// lost answers a request whose instance answered nothing: 503 when a
// drain's deadline cut its connection, nothing when the client went away,
// and 502 for anything else. c is closed already.
func (p *Proxy) lost(s side, c *upConn, setCookie string, err error) outcome {
	switch {
	case c.cut.Load() || errors.Is(err, errCut):
		s.fail(http.StatusServiceUnavailable, setCookie)
		return outcome{status: http.StatusServiceUnavailable}
	case errors.Is(err, errClientGone) || errors.Is(err, errClient) || s.gone():
		return outcome{status: statusClientGone}
	}
	s.fail(http.StatusBadGateway, setCookie)
	return outcome{status: http.StatusBadGateway}
}

// headStatus returns the status code of a response head that starts with
// a well-formed status line, or 0.
func headStatus(b []byte) int {
	if len(b) < 12 || b[8] != ' ' {
		return 0
	}
	n := 0
	for _, c := range b[9:12] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// fill reads more of the instance's answer into c.br, however long it
// takes, but waking every clientCheck to give up when the client has gone.
func (c *upConn) fill(s side) error {
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
		if s.gone() {
			return errClientGone
		}
		c.nc.SetReadDeadline(time.Now().Add(clientCheck))
	}
}

// more flushes what the client side holds, then reads more of the answer.
func (c *upConn) more(s side, out bodyOut) error {
	if err := out.flush(); err != nil {
		return errClient
	}
	return c.fill(s)
}

// maxResponseHead bounds a response head, as net/http's Transport does
// by default.
const maxResponseHead = 1 << 20

// readHead reads a response head. It usually lies whole in c.br (inBuf:
// the caller discards it once used); a head larger than the buffer is
// gathered in memory of its own, and consumed from c.br already.
func (c *upConn) readHead(s side) (head []byte, inBuf bool, err error) {
	for {
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			if end := headEnd(b); end > 0 {
				return b[:end], true, nil
			}
			if n == c.br.Size() {
				return c.readLargeHead(s)
			}
		}
		if err := c.fill(s); err != nil {
			return nil, false, err
		}
	}
}

func (c *upConn) readLargeHead(s side) ([]byte, bool, error) {
	var head []byte
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		head = append(head, b...)
		if end := headEnd(head); end > 0 {
			c.br.Discard(end - (len(head) - len(b)))
			return head[:end], false, nil
		}
		c.br.Discard(len(b))
		if len(head) > maxResponseHead {
			return nil, false, errMalformed
		}
		if err := c.fill(s); err != nil {
			return nil, false, err
		}
	}
}

// copyN copies n bytes of body to out.
func (c *upConn) copyN(s side, out bodyOut, n int64) error {
	for n > 0 {
		if c.br.Buffered() == 0 {
			if err := c.more(s, out); err != nil {
				return err
			}
		}
		k := c.br.Buffered()
		if int64(k) > n {
			k = int(n)
		}
		b, _ := c.br.Peek(k)
		if err := out.data(b); err != nil {
			return errClient
		}
		c.br.Discard(k)
		n -= int64(k)
	}
	return nil
}

// copyToEOF copies a body that ends with the connection.
func (c *upConn) copyToEOF(s side, out bodyOut) error {
	for {
		if c.br.Buffered() == 0 {
			if err := c.more(s, out); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
		b, _ := c.br.Peek(c.br.Buffered())
		if err := out.data(b); err != nil {
			return errClient
		}
		c.br.Discard(len(b))
	}
}

// copyChunked copies a chunked body's data and trailer fields to out.
func (c *upConn) copyChunked(s side, out bodyOut) error {
	for {
		line, err := c.readLine(s, out)
		if err != nil {
			return err
		}
		size, ok := chunkSize(line)
		if !ok {
			return errMalformed
		}
		if size == 0 {
			break
		}
		if err := c.copyN(s, out, size); err != nil {
			return err
		}
		if line, err = c.readLine(s, out); err != nil || len(line) != 0 {
			return errMalformed
		}
	}
	for {
		line, err := c.readLine(s, out)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if err := out.trailer(line); err != nil {
			return err
		}
	}
}

// readLine reads a line of a chunked body (without its CRLF or LF); it is
// valid until the next read.
func (c *upConn) readLine(s side, out bodyOut) ([]byte, error) {
	for {
		if n := c.br.Buffered(); n > 0 {
			b, _ := c.br.Peek(n)
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				c.br.Discard(i + 1)
				return bytes.TrimSuffix(b[:i], []byte("\r")), nil
			}
			if n == c.br.Size() {
				return nil, errMalformed
			}
		}
		if err := c.more(s, out); err != nil {
			return nil, err
		}
	}
}

// chunkSize parses a chunk-size line, ignoring chunk extensions.
func chunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, b := range line {
		var d byte
		switch {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
