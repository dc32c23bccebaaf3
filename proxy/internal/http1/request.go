package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// MaxFields is the most header fields a request ParseRequest takes has;
// requests with more go to net/http.
const MaxFields = 64

// MaxBody is the largest request body the fast path carries. It sends the
// whole body before it reads the answer, so it keeps to bodies that fit
// the socket buffers: an instance that answers early never leaves it stuck
// writing.
const MaxBody = 64 << 10

// Span is a piece of a request head: offsets from its start. A head stays
// in its connection's buffer while its request is served, but may move
// within it, so pieces are kept as offsets.
type Span struct{ Off, End uint16 }

// Of returns the piece of head s spans.
func (s Span) Of(head []byte) []byte { return head[s.Off:s.End] }

// Field is one field line of a request head.
type Field struct {
	Line  Span // the whole line, without its line ending
	Value Span // the value, without surrounding spaces
	Kind  Kind
}

// Request is a request head the fast path takes, as offsets into it.
type Request struct {
	Method    Span
	Target    Span
	Host      Span
	Length    int64 // body length
	CloseConn bool  // the client asked to close the connection
	IsHead    bool
	NFields   int
	Fields    [MaxFields]Field
}

// ParseRequest parses the request head (as found by HeadEnd) into rq and
// reports whether the fast path takes it: an HTTP/1.1 request with an
// origin-form target of plain characters, one Host, no transfer coding,
// upgrade, Expect or TE field, a Connection field that says at most close
// or keep-alive, at most MaxFields fields of valid names and values, and a
// body of known length up to MaxBody. net/http serves anything else, and
// decides what is malformed.
func ParseRequest(head []byte, rq *Request) bool {
	rq.Length, rq.CloseConn, rq.IsHead, rq.NFields = 0, false, false, 0
	if len(head) > 0xffff {
		return false
	}
	ls := NewLines(head)
	line, _, ok := ls.Next()
	if !ok {
		return false
	}
	// method SP origin-form SP HTTP/1.1
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 || !ValidName(line[:sp1]) {
		return false
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ') + sp1 + 1
	if sp2 <= sp1+1 || string(line[sp2+1:]) != "HTTP/1.1" || !PlainTarget(line[sp1+1:sp2]) {
		return false
	}
	rq.Method = Span{0, uint16(sp1)}
	rq.Target = Span{uint16(sp1 + 1), uint16(sp2)}
	rq.IsHead = string(line[:sp1]) == http.MethodHead
	hostSeen, lengthSeen := false, false
	for {
		line, off, ok := ls.Next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !ValidName(line[:colon]) || rq.NFields == MaxFields {
			return false
		}
		raw := line[colon+1:]
		v := TrimOWS(raw)
		if !ValidValue(v) {
			return false
		}
		vs := off + colon + 1 + (len(raw) - len(TrimLeftOWS(raw)))
		f := Field{Line: Span{uint16(off), uint16(off + len(line))}, Value: Span{uint16(vs), uint16(vs + len(v))}, Kind: FieldKind(line[:colon])}
		switch f.Kind {
		case KindHost:
			if hostSeen || len(v) == 0 || !validHost(v) {
				return false
			}
			hostSeen, rq.Host = true, f.Value
		case KindContentLength:
			n, ok := ParseLength(v)
			if lengthSeen || !ok || n > MaxBody {
				return false
			}
			lengthSeen, rq.Length = true, n
		case KindTransferEncoding, KindUpgrade, KindExpect, KindTE:
			return false
		case KindConnection:
			fast := true
			EachToken(v, func(tok []byte) bool {
				switch {
				case FoldEq(tok, "close"):
					rq.CloseConn = true
				case FoldEq(tok, "keep-alive"):
				default:
					fast = false // upgrade, or fields to drop: net/http's way
				}
				return fast
			})
			if !fast {
				return false
			}
		}
		rq.Fields[rq.NFields] = f
		rq.NFields++
	}
	return hostSeen
}

// PlainTarget reports whether an origin-form request target holds only
// characters a URI allows, with well-formed escapes, and no semicolon
// (which httputil.ReverseProxy would re-encode) or fragment.
func PlainTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '%':
			if i+2 >= len(t) || !IsHex(t[i+1]) || !IsHex(t[i+2]) {
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

// FieldIs reports whether the first field named name (canonical, such as
// "X-Canary") of the request in head has value value.
func (rq *Request) FieldIs(head []byte, name, value string) bool {
	for _, f := range rq.Fields[:rq.NFields] {
		line := f.Line.Of(head)
		if colon := bytes.IndexByte(line, ':'); colon == len(name) && bytes.EqualFold(line[:colon], []byte(name)) {
			return string(f.Value.Of(head)) == value
		}
	}
	return false
}

// Cookie returns the value of the first cookie named name, as
// http.Request.Cookie reads it (quotes removed), and whether there is one.
func (rq *Request) Cookie(head []byte, name string) ([]byte, bool) {
	for _, f := range rq.Fields[:rq.NFields] {
		if f.Kind != KindCookie {
			continue
		}
		v := f.Value.Of(head)
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
			return val, true
		}
	}
	return nil, false
}

// Forwarding is what WriteRequest adds to a request on its way to an
// instance.
type Forwarding struct {
	ClientIP string // for X-Forwarded-For
	Trust    bool   // keep the client's X-Forwarded-For and -Proto values (Options.TrustForwarded)
	TLS      bool   // the client came over TLS: X-Forwarded-Proto https
}

// WriteRequest writes the head of the request rq in head as it goes to an
// instance: the request line, the client's fields in their order but the
// hop-by-hop and forwarding ones, X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded sets them, and the body's length.
func WriteRequest(w *bufio.Writer, head []byte, rq *Request, fw Forwarding) {
	method := rq.Method.Of(head)
	w.Write(method)
	w.WriteByte(' ')
	w.Write(rq.Target.Of(head))
	w.WriteString(" HTTP/1.1\r\n")
	hasProto := false
	for _, f := range rq.Fields[:rq.NFields] {
		switch f.Kind {
		case KindOther, KindHost, KindCookie, KindContentType, KindDate:
			w.Write(f.Line.Of(head))
			w.WriteString("\r\n")
		case KindXForwardedProto:
			hasProto = true
		}
	}
	w.WriteString("X-Forwarded-For: ")
	if fw.Trust {
		for _, f := range rq.Fields[:rq.NFields] {
			if f.Kind == KindXForwardedFor {
				w.Write(f.Value.Of(head))
				w.WriteString(", ")
			}
		}
	}
	w.WriteString(fw.ClientIP)
	w.WriteString("\r\nX-Forwarded-Host: ")
	w.Write(rq.Host.Of(head))
	if fw.Trust && hasProto {
		for _, f := range rq.Fields[:rq.NFields] {
			if f.Kind == KindXForwardedProto {
				w.WriteString("\r\nX-Forwarded-Proto: ")
				w.Write(f.Value.Of(head))
			}
		}
	} else {
		writeProto(w, fw.TLS)
	}
	writeLength(w, rq.Length, string(method))
}

func writeProto(w *bufio.Writer, tls bool) {
	if tls {
		w.WriteString("\r\nX-Forwarded-Proto: https")
	} else {
		w.WriteString("\r\nX-Forwarded-Proto: http")
	}
}

func writeLength(w *bufio.Writer, n int64, method string) {
	switch {
	case n > 0:
		w.WriteString("\r\nContent-Length: ")
		var buf [20]byte
		w.Write(AppendInt(buf[:0], n))
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		w.WriteString("\r\nContent-Length: 0") // as net/http's Transport sends it
	}
	w.WriteString("\r\n\r\n")
}

// hopByHop reports whether a request field is dropped on its way to the
// instance: hop-by-hop fields, and the forwarding fields the proxy sets
// itself. The message framing is written separately.
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// Eligible reports whether r, read by net/http's server, can be written
// with WriteRequestHead: HTTP/1.x, no upgrade, no Expect, at most
// MaxFields fields, a body of known length up to MaxBody, an origin-form
// target, and a query httputil.ReverseProxy would not re-encode.
func Eligible(r *http.Request) bool {
	if r.ProtoMajor != 1 || r.Host == "" || len(r.RequestURI) == 0 || r.RequestURI[0] != '/' ||
		r.ContentLength < 0 || r.ContentLength > MaxBody || r.TransferEncoding != nil || len(r.Header) > MaxFields {
		return false
	}
	if _, ok := r.Header["Upgrade"]; ok {
		return false
	}
	if _, ok := r.Header["Expect"]; ok {
		return false
	}
	return plainQuery(r.URL.RawQuery)
}

// plainQuery reports whether a query has no semicolon and no bad escape,
// so that httputil.ReverseProxy would send it as it is.
func plainQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !IsHex(q[i+1]) || !IsHex(q[i+2]) {
				return false
			}
		}
	}
	return true
}

// WriteRequestHead writes the head of r (Eligible) as it goes to an
// instance: the request line, the client's fields sorted by name (as
// net/http's Transport writes them) without hop-by-hop ones and those the
// Connection field names, X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded sets them (keeping the client's For
// and Proto values when fw.Trust is set), and the body's length.
func WriteRequestHead(w *bufio.Writer, r *http.Request, fw Forwarding) {
	w.WriteString(r.Method)
	w.WriteByte(' ')
	w.WriteString(r.RequestURI)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(r.Host)
	w.WriteString("\r\n")
	conn := r.Header["Connection"]
	var keyBuf [MaxFields]string
	keys := keyBuf[:0]
	for k := range r.Header {
		if len(keys) == len(keyBuf) {
			break // Eligible keeps to MaxFields
		}
		if !hopByHop(k) && (len(conn) == 0 || !namedIn(conn, k)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if te := r.Header["Te"]; len(te) > 0 && HasToken(te, "trailers") {
		w.WriteString("Te: trailers\r\n")
	}
	w.WriteString("X-Forwarded-For: ")
	if prior := r.Header["X-Forwarded-For"]; fw.Trust && len(prior) > 0 {
		for _, v := range prior {
			w.WriteString(v)
			w.WriteString(", ")
		}
	}
	w.WriteString(fw.ClientIP)
	w.WriteString("\r\nX-Forwarded-Host: ")
	w.WriteString(r.Host)
	if proto := r.Header["X-Forwarded-Proto"]; fw.Trust && len(proto) > 0 {
		for _, v := range proto {
			w.WriteString("\r\nX-Forwarded-Proto: ")
			w.WriteString(v)
		}
	} else {
		writeProto(w, r.TLS != nil || fw.TLS)
	}
	writeLength(w, r.ContentLength, r.Method)
}

// ClientIP returns the host part of a RemoteAddr ("ip:port").
func ClientIP(remote string) string {
	if i := strings.LastIndexByte(remote, ':'); i >= 0 {
		remote = remote[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(remote, "["), "]")
}

// namedIn reports whether the Connection field values conn name field k.
func namedIn(conn []string, k string) bool {
	for _, v := range conn {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(tok), k) {
				return true
			}
		}
	}
	return false
}

// HasToken reports whether a comma-separated field holds token tok.
func HasToken(vs []string, tok string) bool {
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			t, _, _ = strings.Cut(t, ";")
			if strings.EqualFold(textproto.TrimString(t), tok) {
				return true
			}
		}
	}
	return false
}
