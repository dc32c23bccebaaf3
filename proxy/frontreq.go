package proxy

import (
	"bufio"
	"bytes"
	"net/http"
	"time"
)

// maxFields is the most header fields a request on the front end's fast
// path may have; requests with more go to net/http.
const maxFields = 64

// span is a piece of the request head: offsets from its start. The head
// stays in the connection's buffer while the request is served, but may
// move within it, so pieces are found again through frontConn.bytes.
type span struct{ off, end uint16 }

// frontField is one field line of a request head.
type frontField struct {
	line  span // the whole line, without its line ending
	value span // the value, without surrounding spaces
	kind  uint8
}

// frontReq is the request a front-end connection is serving.
type frontReq struct {
	start     time.Time
	headLen   int
	headGone  bool // the head was discarded from the buffer (to read the body)
	method    span
	target    span
	host      span
	length    int64 // body length
	closeConn bool  // the client asked to close the connection
	isHead    bool
	nFields   int
	fields    [maxFields]frontField

	// the answer
	chunking bool // its body goes to the client in chunks
	zeroSent bool // the last chunk went out (trailer fields follow)
}

// bytes returns a piece of the head of the request being served.
func (c *frontConn) bytes(s span) []byte {
	h, _ := c.br.Peek(c.rq.headLen)
	return h[s.off:s.end]
}

// parse parses the request head of length end at the start of the buffer
// and reports whether the fast path takes it: an HTTP/1.1 request with an
// origin-form target of plain characters, one Host, no transfer coding,
// upgrade, Expect or TE field, a Connection field that says at most close
// or keep-alive, and a body of known length up to maxFastBody. net/http
// serves anything else, and decides what is malformed.
func (c *frontConn) parse(end int) bool {
	head, _ := c.br.Peek(end)
	rq := &c.rq
	*rq = frontReq{start: time.Now(), headLen: end, nFields: 0}
	ls := lines{b: head}
	line, _, ok := ls.next()
	if !ok {
		return false
	}
	// method SP origin-form SP HTTP/1.1
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 || !validFieldName(string(line[:sp1])) {
		return false
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ') + sp1 + 1
	if sp2 <= sp1+1 || string(line[sp2+1:]) != "HTTP/1.1" || !plainTarget(line[sp1+1:sp2]) {
		return false
	}
	rq.method = span{0, uint16(sp1)}
	rq.target = span{uint16(sp1 + 1), uint16(sp2)}
	rq.isHead = string(line[:sp1]) == http.MethodHead
	hostSeen, lengthSeen := false, false
	for {
		line, off, ok := ls.next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validFieldName(string(line[:colon])) || rq.nFields == maxFields {
			return false
		}
		raw := line[colon+1:]
		v := trimOWS(raw)
		if !validValue(v) {
			return false
		}
		vs := off + colon + 1 + (len(raw) - len(trimLeftOWS(raw)))
		f := frontField{line: span{uint16(off), uint16(off + len(line))}, value: span{uint16(vs), uint16(vs + len(v))}, kind: fieldKind(line[:colon])}
		switch f.kind {
		case kHost:
			if hostSeen || len(v) == 0 || !validHost(v) {
				return false
			}
			hostSeen, rq.host = true, f.value
		case kContentLength:
			n, ok := parseLength(string(v))
			if lengthSeen || !ok || n > maxFastBody {
				return false
			}
			lengthSeen, rq.length = true, n
		case kTransferEncoding, kUpgrade, kExpect, kTE:
			return false
		case kConnection:
			fast := true
			eachToken(v, func(tok []byte) bool {
				switch {
				case foldEq(tok, "close"):
					rq.closeConn = true
				case foldEq(tok, "keep-alive"):
				default:
					fast = false // upgrade, or fields to drop: net/http's way
				}
				return fast
			})
			if !fast {
				return false
			}
		}
		rq.fields[rq.nFields] = f
		rq.nFields++
	}
	return hostSeen
}

func trimLeftOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// plainTarget reports whether an origin-form request target holds only
// characters a URI allows, with well-formed escapes, and no semicolon
// (which httputil.ReverseProxy would re-encode) or fragment.
func plainTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '%':
			if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
				return false
			}
		case !uriChars[c]:
			return false
		}
	}
	return true
}

var uriChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-._~!$&'()*+,=:@/?" {
		t[c] = true
	}
	return t
}()

// validHost reports whether a Host value holds only the bytes net/http
// accepts in one.
func validHost(h []byte) bool {
	for _, c := range h {
		if !hostChars[c] {
			return false
		}
	}
	return true
}

var hostChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

// fieldIs implements requestInfo: name is canonical, such as "X-Canary".
func (c *frontConn) fieldIs(name, value string) bool {
	head, _ := c.br.Peek(c.rq.headLen)
	for _, f := range c.rq.fields[:c.rq.nFields] {
		line := head[f.line.off:f.line.end]
		if colon := bytes.IndexByte(line, ':'); colon == len(name) && bytes.EqualFold(line[:colon], []byte(name)) {
			return string(head[f.value.off:f.value.end]) == value
		}
	}
	return false
}

// cookieSlot implements requestInfo, reading the Cookie fields as
// http.Request.Cookie does: the first cookie named name counts.
func (c *frontConn) cookieSlot(name string) int {
	head, _ := c.br.Peek(c.rq.headLen)
	for _, f := range c.rq.fields[:c.rq.nFields] {
		if f.kind != kCookie {
			continue
		}
		v := head[f.value.off:f.value.end]
		for len(v) > 0 {
			part := v
			if i := bytes.IndexByte(v, ';'); i >= 0 {
				part, v = v[:i], v[i+1:]
			} else {
				v = nil
			}
			k, val, ok := bytes.Cut(bytes.TrimSpace(part), []byte("="))
			if !ok || string(k) != name {
				continue
			}
			if len(val) > 1 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return slotOfValue(string(val))
		}
	}
	return -1
}

// writeRequest implements side: the request line, the client's fields but
// the hop-by-hop and forwarding ones, X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded sets them (keeping the client's For
// and Proto values when Options.TrustForwarded is set), the body's length,
// and the body.
func (c *frontConn) writeRequest(w *bufio.Writer) error {
	rq := &c.rq
	head, _ := c.br.Peek(rq.headLen)
	method := head[rq.method.off:rq.method.end]
	w.Write(method)
	w.WriteByte(' ')
	w.Write(head[rq.target.off:rq.target.end])
	w.WriteString(" HTTP/1.1\r\n")
	trust := c.s.p.opts.TrustForwarded
	hasProto := false
	for _, f := range rq.fields[:rq.nFields] {
		switch f.kind {
		case kOther, kHost, kCookie, kContentType, kDate:
			w.Write(head[f.line.off:f.line.end])
			w.WriteString("\r\n")
		case kXForwardedProto:
			hasProto = true
		}
	}
	w.WriteString("X-Forwarded-For: ")
	if trust {
		for _, f := range rq.fields[:rq.nFields] {
			if f.kind == kXForwardedFor {
				w.Write(head[f.value.off:f.value.end])
				w.WriteString(", ")
			}
		}
	}
	w.WriteString(c.ip)
	w.WriteString("\r\nX-Forwarded-Host: ")
	w.Write(head[rq.host.off:rq.host.end])
	if trust && hasProto {
		for _, f := range rq.fields[:rq.nFields] {
			if f.kind == kXForwardedProto {
				w.WriteString("\r\nX-Forwarded-Proto: ")
				w.Write(head[f.value.off:f.value.end])
			}
		}
	} else {
		w.WriteString("\r\nX-Forwarded-Proto: http")
	}
	switch m := string(method); {
	case rq.length > 0:
		w.WriteString("\r\nContent-Length: ")
		var buf [20]byte
		w.Write(appendInt(buf[:0], rq.length))
	case m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch:
		w.WriteString("\r\nContent-Length: 0") // as net/http's Transport sends it
	}
	w.WriteString("\r\n\r\n")
	if rq.length == 0 {
		return nil
	}
	c.br.Discard(rq.headLen)
	rq.headGone = true
	c.nc.SetReadDeadline(time.Time{}) // as net/http: no deadline for a body
	for n := rq.length; n > 0; {
		if c.br.Buffered() == 0 {
			if _, err := c.br.Peek(1); err != nil {
				rq.closeConn = true
				return errClient
			}
		}
		k := min(int64(c.br.Buffered()), n)
		b, _ := c.br.Peek(int(k))
		if _, err := w.Write(b); err != nil {
			rq.closeConn = true
			return err
		}
		c.br.Discard(int(k))
		n -= k
	}
	return nil
}

// replayable implements side.
func (c *frontConn) replayable() bool {
	if c.rq.length > 0 {
		return false
	}
	switch string(c.bytes(c.rq.method)) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// head implements side.
func (c *frontConn) head() bool { return c.rq.isHead }

// gone implements side: whether the client closed its connection, seen
// without reading from it.
func (c *frontConn) gone() bool { return peekConn(c.nc) == connClosed }
