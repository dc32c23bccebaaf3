package http1

import "bytes"

// Kind classifies a field name the proxy treats specially.
type Kind uint8

// The field kinds; KindOther is every field without a role in framing,
// routing or forwarding.
const (
	KindOther Kind = iota
	KindHost
	KindContentLength
	KindTransferEncoding
	KindConnection
	KindUpgrade
	KindExpect
	KindTE
	KindKeepAlive
	KindProxyConnection
	KindProxyAuthenticate
	KindProxyAuthorization
	KindTrailer
	KindForwarded
	KindXForwardedFor
	KindXForwardedHost
	KindXForwardedProto
	KindCookie
	KindContentType
	KindDate
)

// FieldKind classifies a field name, ignoring its case, without allocating.
func FieldKind(name []byte) Kind {
	switch len(name) {
	case 2:
		if FoldEq(name, "te") {
			return KindTE
		}
	case 4:
		switch {
		case FoldEq(name, "host"):
			return KindHost
		case FoldEq(name, "date"):
			return KindDate
		}
	case 6:
		switch {
		case FoldEq(name, "cookie"):
			return KindCookie
		case FoldEq(name, "expect"):
			return KindExpect
		}
	case 7:
		switch {
		case FoldEq(name, "upgrade"):
			return KindUpgrade
		case FoldEq(name, "trailer"):
			return KindTrailer
		}
	case 9:
		if FoldEq(name, "forwarded") {
			return KindForwarded
		}
	case 10:
		switch {
		case FoldEq(name, "connection"):
			return KindConnection
		case FoldEq(name, "keep-alive"):
			return KindKeepAlive
		}
	case 12:
		if FoldEq(name, "content-type") {
			return KindContentType
		}
	case 14:
		if FoldEq(name, "content-length") {
			return KindContentLength
		}
	case 15:
		if FoldEq(name, "x-forwarded-for") {
			return KindXForwardedFor
		}
	case 16:
		switch {
		case FoldEq(name, "x-forwarded-host"):
			return KindXForwardedHost
		case FoldEq(name, "proxy-connection"):
			return KindProxyConnection
		}
	case 17:
		switch {
		case FoldEq(name, "transfer-encoding"):
			return KindTransferEncoding
		case FoldEq(name, "x-forwarded-proto"):
			return KindXForwardedProto
		}
	case 18:
		if FoldEq(name, "proxy-authenticate") {
			return KindProxyAuthenticate
		}
	case 19:
		if FoldEq(name, "proxy-authorization") {
			return KindProxyAuthorization
		}
	}
	return KindOther
}

// FoldEq reports whether b equals the lower-case ASCII string s, ignoring
// the case of b.
func FoldEq(b []byte, s string) bool {
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

// Lines iterates over the lines of a message head, without their CRLF or
// LF, up to the empty line that ends it.
type Lines struct {
	b   []byte
	off int
}

// NewLines returns the lines of head.
func NewLines(head []byte) Lines { return Lines{b: head} }

// Next returns the next line and its offset in the head; ok is false at
// the empty line or the end.
func (l *Lines) Next() (line []byte, off int, ok bool) {
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

// TrimOWS trims spaces and tabs around a field value.
func TrimOWS(b []byte) []byte {
	return TrimRightOWS(TrimLeftOWS(b))
}

// TrimLeftOWS trims spaces and tabs before a field value.
func TrimLeftOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// TrimRightOWS trims spaces and tabs after a field value.
func TrimRightOWS(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ValidValue reports whether v holds only the bytes RFC 9110 allows in a
// field value (VCHAR, obs-text, space and tab): no control character, as
// net/http's textproto requires.
func ValidValue(v []byte) bool {
	for _, c := range v {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// ValidName reports whether s is a token, as a field name must be.
func ValidName(s []byte) bool {
	for _, c := range s {
		if !tokenChars[c] {
			return false
		}
	}
	return len(s) > 0
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

// CutField splits a field line into its name and trimmed value, and
// reports whether the line is a valid field: a token, a colon right after
// it, and a value of valid bytes.
func CutField(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !ValidName(line[:colon]) {
		return nil, nil, false
	}
	v := TrimOWS(line[colon+1:])
	if !ValidValue(v) {
		return nil, nil, false
	}
	return line[:colon], v, true
}

// EachToken calls fn with each comma-separated token of v, trimmed; it
// stops when fn returns false.
func EachToken(v []byte, fn func(tok []byte) bool) {
	for len(v) > 0 {
		tok := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if tok = TrimOWS(tok); len(tok) > 0 && !fn(tok) {
			return
		}
	}
}

// ParseLength parses a Content-Length value: decimal digits only.
func ParseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// IsHex reports whether c is a hexadecimal digit.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// AppendInt appends the decimal form of n >= 0.
func AppendInt(b []byte, n int64) []byte {
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

// HeadEnd returns the length of the message head at the start of b (up to
// and including its empty line), or -1 when b does not hold all of it.
func HeadEnd(b []byte) int {
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
