package proxy

import "bytes"

// Field names the fast path treats specially, classified without
// allocating (names are compared case-insensitively, in place).
const (
	kOther uint8 = iota
	kHost
	kContentLength
	kTransferEncoding
	kConnection
	kUpgrade
	kExpect
	kTE
	kKeepAlive
	kProxyConnection
	kProxyAuthenticate
	kProxyAuthorization
	kTrailer
	kForwarded
	kXForwardedFor
	kXForwardedHost
	kXForwardedProto
	kCookie
	kContentType
	kDate
)

// fieldKind classifies a field name.
func fieldKind(name []byte) uint8 {
	switch len(name) {
	case 2:
		if foldEq(name, "te") {
			return kTE
		}
	case 4:
		switch {
		case foldEq(name, "host"):
			return kHost
		case foldEq(name, "date"):
			return kDate
		}
	case 6:
		switch {
		case foldEq(name, "cookie"):
			return kCookie
		case foldEq(name, "expect"):
			return kExpect
		}
	case 7:
		switch {
		case foldEq(name, "upgrade"):
			return kUpgrade
		case foldEq(name, "trailer"):
			return kTrailer
		}
	case 9:
		if foldEq(name, "forwarded") {
			return kForwarded
		}
	case 10:
		switch {
		case foldEq(name, "connection"):
			return kConnection
		case foldEq(name, "keep-alive"):
			return kKeepAlive
		}
	case 12:
		if foldEq(name, "content-type") {
			return kContentType
		}
	case 14:
		if foldEq(name, "content-length") {
			return kContentLength
		}
	case 15:
		if foldEq(name, "x-forwarded-for") {
			return kXForwardedFor
		}
	case 16:
		switch {
		case foldEq(name, "x-forwarded-host"):
			return kXForwardedHost
		case foldEq(name, "proxy-connection"):
			return kProxyConnection
		}
	case 17:
		switch {
		case foldEq(name, "transfer-encoding"):
			return kTransferEncoding
		case foldEq(name, "x-forwarded-proto"):
			return kXForwardedProto
		}
	case 18:
		if foldEq(name, "proxy-authenticate") {
			return kProxyAuthenticate
		}
	case 19:
		if foldEq(name, "proxy-authorization") {
			return kProxyAuthorization
		}
	}
	return kOther
}

// foldEq reports whether b equals the lower-case ASCII string s, ignoring
// the case of b.
func foldEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// lines iterates over the lines of a message head, without their CRLF or
// LF, up to the empty line that ends it.
type lines struct {
	b   []byte
	off int
}

// next returns the next line and its offset in the head; ok is false at
// the empty line or the end.
func (l *lines) next() (line []byte, off int, ok bool) {
	if l.off >= len(l.b) {
		return nil, l.off, false
	}
	off = l.off
	i := bytes.IndexByte(l.b[off:], '\n')
	if i < 0 {
		line, l.off = l.b[off:], len(l.b)
	} else {
		line, l.off = l.b[off:off+i], off+i+1
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, off, len(line) > 0
}

// trimOWS trims spaces and tabs around a field value.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// validValue reports whether a field value holds no control character but
// tab, as net/http requires.
func validValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// eachToken calls fn with each comma-separated token of v, trimmed; it
// stops when fn returns false.
func eachToken(v []byte, fn func(tok []byte) bool) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if tok = trimOWS(tok); len(tok) > 0 && !fn(tok) {
			return
		}
	}
}
