package proxy

import (
	"bufio"
	"net/http"
	"time"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// frontReq is the request a front-end connection is serving: its head,
// parsed in place in the connection's buffer.
type frontReq struct {
	http1.Request
	start    time.Time
	headLen  int
	headGone bool // the head was discarded from the buffer (to read the body)
}

// head returns the head of the request being served.
func (c *frontConn) headBytes() []byte {
	h, _ := c.br.Peek(c.rq.headLen)
	return h
}

// parse parses the request head of length end at the start of the buffer
// and reports whether the fast path takes it (see http1.ParseRequest).
func (c *frontConn) parse(end int) bool {
	head, _ := c.br.Peek(end)
	c.rq.start, c.rq.headLen, c.rq.headGone = time.Now(), end, false
	c.ended = time.Time{}
	return http1.ParseRequest(head, &c.rq.Request)
}

// fieldIs implements requestInfo: name is canonical, such as "X-Canary".
func (c *frontConn) fieldIs(name, value string) bool {
	return c.rq.FieldIs(c.headBytes(), name, value)
}

// cookieSlot implements requestInfo, reading the Cookie fields as
// http.Request.Cookie does: the first cookie named name counts.
func (c *frontConn) cookieSlot(name string) int {
	v, ok := c.rq.Cookie(c.headBytes(), name)
	if !ok {
		return -1
	}
	return slotOfValue(string(v))
}

// writeRequest implements side: the head as http1.WriteRequest writes it
// (keeping the client's For and Proto values when Options.TrustForwarded
// is set), and the body.
func (c *frontConn) writeRequest(w *bufio.Writer) error {
	rq := &c.rq
	http1.WriteRequest(w, c.headBytes(), &rq.Request, http1.Forwarding{ClientIP: c.ip, Trust: c.s.p.opts.TrustForwarded, TLS: c.s.tls})
	if rq.Length == 0 {
		return nil
	}
	c.br.Discard(rq.headLen)
	rq.headGone = true
	c.setReadDeadline(time.Time{}) // as net/http: no deadline for a body
	for n := rq.Length; n > 0; {
		if c.br.Buffered() == 0 {
			if _, err := c.br.Peek(1); err != nil {
				rq.CloseConn = true
				return errClient
			}
		}
		k := min(int64(c.br.Buffered()), n)
		b, _ := c.br.Peek(int(k))
		if _, err := w.Write(b); err != nil {
			rq.CloseConn = true
			return err
		}
		c.br.Discard(int(k))
		n -= k
	}
	return nil
}

// replayable implements side.
func (c *frontConn) replayable() bool {
	if c.rq.Length > 0 {
		return false
	}
	switch string(c.rq.Method.Of(c.headBytes())) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// head implements side.
func (c *frontConn) head() bool { return c.rq.IsHead }

// gone implements side: whether the client closed its connection, seen
// without reading from it.
func (c *frontConn) gone() bool { return peekConn(c.raw) == connClosed }
