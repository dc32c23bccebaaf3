package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/textproto"
	"strings"
)

// This file reads and writes the HTTP/1.1 messages of the fast path:
// response heads parsed straight from the connection's buffer, and request
// heads written straight to it, with the hop-by-hop rules of
// httputil.ReverseProxy.

// errMalformed is an instance's answer the fast path does not understand;
// the client gets 502, as from httputil.ReverseProxy.
var errMalformed = errors.New("proxy: malformed response from instance")

// respHead is what the fast path needs to know about a response head.
type respHead struct {
	status    int
	length    int64 // body length; -1 when delimited by chunks or the connection's end
	chunked   bool
	keepAlive bool // the connection may carry another request
	hasDate   bool
	connNames bool // the Connection field names other fields, to drop
}

// headEnd returns the length of the message head at the start of b (up to
// and including its empty line), or -1 when b does not hold all of it.
func headEnd(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		line := b[i : i+j]
		i += j + 1
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i
		}
	}
}

// scanResponse checks a response head b (as found by headEnd) and reads
// its framing, as net/http's Transport would: one status line, well-formed
// fields, only the chunked transfer coding, and no conflicting lengths.
// head says whether the request was HEAD (no body follows).
func scanResponse(b []byte, head bool) (respHead, error) {
	rh := respHead{length: -1}
	ls := lines{b: b}
	line, _, _ := ls.next()
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return rh, errMalformed
	}
	if rh.status = headStatus(line); rh.status < 100 {
		return rh, errMalformed
	}
	rh.keepAlive = line[7] == '1'
	lengthSeen := false
	for {
		line, _, ok := ls.next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validFieldName(string(line[:colon])) {
			return rh, errMalformed
		}
		v := trimOWS(line[colon+1:])
		switch fieldKind(line[:colon]) {
		case kConnection:
			eachToken(v, func(tok []byte) bool {
				switch {
				case foldEq(tok, "close"):
					rh.keepAlive = false
				case foldEq(tok, "keep-alive"):
				default:
					rh.connNames = true
				}
				return true
			})
		case kTransferEncoding:
			if !foldEq(v, "chunked") || rh.chunked {
				return rh, errMalformed // as net/http's Transport: only chunked, once
			}
			rh.chunked = true
		case kContentLength:
			n, ok := parseLength(string(v))
			if !ok || (lengthSeen && n != rh.length) {
				return rh, errMalformed
			}
			lengthSeen, rh.length = true, n
		case kDate:
			rh.hasDate = true
		}
	}
	if rh.chunked {
		rh.length = -1
	}
	switch {
	case head || rh.status == http.StatusNoContent || rh.status == http.StatusNotModified || rh.status < 200:
		rh.length, rh.chunked = 0, false
	case rh.length < 0 && !rh.chunked:
		rh.keepAlive = false // the body ends when the connection does
	}
	return rh, nil
}

// dropResponseField reports whether a field of an instance's answer stays
// behind: hop-by-hop fields, and a Content-Length that a chunked body
// overrides or that repeats.
func dropResponseField(kind uint8, rh *respHead, lengthSent *bool) bool {
	switch kind {
	case kConnection, kKeepAlive, kProxyConnection, kProxyAuthenticate, kProxyAuthorization, kTE, kTransferEncoding, kUpgrade:
		return true
	case kContentLength:
		if rh.chunked || *lengthSent {
			return true
		}
		*lengthSent = true
	}
	return false
}

// connectionNames returns the field names the Connection fields of head
// list, besides close and keep-alive.
func connectionNames(head []byte) [][]byte {
	var names [][]byte
	ls := lines{b: head}
	ls.next()
	for {
		line, _, ok := ls.next()
		if !ok {
			return names
		}
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && fieldKind(line[:colon]) == kConnection {
			eachToken(line[colon+1:], func(tok []byte) bool {
				if !foldEq(tok, "close") && !foldEq(tok, "keep-alive") {
					names = append(names, tok)
				}
				return true
			})
		}
	}
}

// namedBy reports whether name is one of names, ignoring case.
func namedBy(names [][]byte, name []byte) bool {
	for _, n := range names {
		if bytes.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// parseResponseHead parses the head in b (as found by headEnd) into h, the
// header of the response to the client, without hop-by-hop fields. It
// allocates one string for all the fields, and one slice for their values.
func parseResponseHead(b []byte, head bool, h http.Header) (respHead, error) {
	rh, err := scanResponse(b, head)
	if err != nil {
		return rh, err
	}
	var dropNames [][]byte
	if rh.connNames {
		dropNames = connectionNames(b)
	}
	s := string(b)
	vals := make([]string, bytes.Count(b, []byte("\n")))
	nv := 0
	lengthSent := false
	ls := lines{b: b}
	ls.next()
	for {
		line, off, ok := ls.next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if dropResponseField(fieldKind(line[:colon]), &rh, &lengthSent) || (dropNames != nil && namedBy(dropNames, line[:colon])) {
			continue
		}
		key := s[off : off+colon]
		if !canonical(key) {
			key = textproto.CanonicalMIMEHeaderKey(key)
		}
		vs, ve := colon+1, len(line)
		for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
			vs++
		}
		for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
			ve--
		}
		vals[nv] = s[off+vs : off+ve]
		if old, ok := h[key]; ok {
			h[key] = append(old, vals[nv])
		} else {
			h[key] = vals[nv : nv+1 : nv+1]
		}
		nv++
	}
	return rh, nil
}

// cutField splits a field line into its name and trimmed value.
func cutField(line []byte) (name, value string, ok bool) {
	k, v, ok := bytes.Cut(line, []byte(":"))
	if !ok || !validFieldName(string(k)) {
		return "", "", false
	}
	return string(k), string(trimOWS(v)), true
}

// canonical reports whether a field name is in canonical form already, as
// it almost always is: then it needs no new string.
func canonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// validFieldName reports whether s is a token, as a field name must be.
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenChars[s[i]] {
			return false
		}
	}
	return s != ""
}

var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

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

// writeRequestHead writes the head of r as it goes to an instance: the
// request line, the client's fields without hop-by-hop ones (and those the
// Connection field names), X-Forwarded-For, -Host and -Proto as
// httputil.ProxyRequest.SetXForwarded sets them (keeping the client's
// For and Proto values when trust is set), and the body's length.
func writeRequestHead(w *bufio.Writer, r *http.Request, trust bool) {
	w.WriteString(r.Method)
	w.WriteByte(' ')
	w.WriteString(r.RequestURI)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(r.Host)
	w.WriteString("\r\n")
	conn := r.Header["Connection"]
	for k, vs := range r.Header {
		if hopByHop(k) || (len(conn) > 0 && namedIn(conn, k)) {
			continue
		}
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if te := r.Header["Te"]; len(te) > 0 && hasToken(te, "trailers") {
		w.WriteString("Te: trailers\r\n")
	}
	w.WriteString("X-Forwarded-For: ")
	if prior := r.Header["X-Forwarded-For"]; trust && len(prior) > 0 {
		for _, v := range prior {
			w.WriteString(v)
			w.WriteString(", ")
		}
	}
	w.WriteString(clientIP(r.RemoteAddr))
	w.WriteString("\r\nX-Forwarded-Host: ")
	w.WriteString(r.Host)
	if proto := r.Header["X-Forwarded-Proto"]; trust && len(proto) > 0 {
		for _, v := range proto {
			w.WriteString("\r\nX-Forwarded-Proto: ")
			w.WriteString(v)
		}
	} else if r.TLS != nil {
		w.WriteString("\r\nX-Forwarded-Proto: https")
	} else {
		w.WriteString("\r\nX-Forwarded-Proto: http")
	}
	switch {
	case r.ContentLength > 0:
		w.WriteString("\r\nContent-Length: ")
		var buf [20]byte
		w.Write(appendInt(buf[:0], r.ContentLength))
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		w.WriteString("\r\nContent-Length: 0") // as net/http's Transport sends it
	}
	w.WriteString("\r\n\r\n")
}

func appendInt(b []byte, n int64) []byte {
	if n == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	for n > 0 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

// clientIP returns the host part of a RemoteAddr ("ip:port").
func clientIP(remote string) string {
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

// hasToken reports whether a comma-separated field holds token tok.
func hasToken(vs []string, tok string) bool {
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
