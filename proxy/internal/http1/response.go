package http1

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/textproto"
	"strconv"
)

// ErrMalformed is an instance's answer that breaks RFC 9112 (or that this
// package is not sure of): the client gets 502 when nothing was sent yet,
// and a broken-off answer otherwise, as from httputil.ReverseProxy.
var ErrMalformed = errors.New("http1: malformed response from instance")

// ErrWrite is a failure to send the answer on: the client's connection
// failed.
var ErrWrite = errors.New("http1: client connection failed")

// Response is what the proxy needs to know about a response head.
type Response struct {
	Status     int
	Length     int64 // body length; -1 when delimited by chunks or the connection's end
	Chunked    bool
	KeepAlive  bool // the connection may carry another request
	HasDate    bool
	ConnNames  bool // the Connection field names other fields, to drop
	CloseNamed bool // the Connection field says close (a field named Close is dropped too)

	// fieldsOff and fieldsEnd are where the field lines start and end in
	// the head (after the status line, before the empty line), and
	// verbatim reports that they pass on to the client as they are: every
	// one ends in CRLF and none is dropped (no hop-by-hop field, at most
	// one Content-Length), so Writer.Head copies them in one piece.
	fieldsOff, fieldsEnd int
	verbatim             bool
}

// Status returns the status code of a response head that starts with a
// well-formed status line, or 0.
func Status(b []byte) int {
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

// ScanResponse checks a response head b (as found by HeadEnd) and reads
// its framing, as net/http's Transport would, but strictly: one status line
// of HTTP/1.0 or 1.1 with a reason of valid bytes, fields of a token name
// and a value without control characters, only the chunked transfer coding
// (and only on HTTP/1.1), and no conflicting lengths. head says whether the
// request was HEAD (no body follows).
func ScanResponse(b []byte, head bool) (Response, error) {
	rh := Response{Length: -1}
	ls := NewLines(b)
	line, _, _ := ls.Next()
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') || !ValidValue(line[12:]) {
		return rh, ErrMalformed
	}
	if rh.Status = Status(line); rh.Status < 100 {
		return rh, ErrMalformed
	}
	http11 := line[7] == '1'
	rh.KeepAlive = http11
	rh.verbatim = true
	rh.fieldsOff = ls.off
	var length []byte // the first Content-Length value, trimmed
	for {
		line, off, ok := ls.Next()
		if !ok {
			rh.fieldsEnd = off
			break
		}
		if b[off+len(line)] != '\r' {
			rh.verbatim = false // a bare LF: the client gets CRLF
		}
		name, v, ok := CutField(line)
		if !ok {
			return rh, ErrMalformed
		}
		switch kind := FieldKind(name); kind {
		case KindKeepAlive, KindProxyConnection, KindProxyAuthenticate, KindProxyAuthorization, KindTE, KindUpgrade:
			rh.verbatim = false
		case KindConnection:
			rh.verbatim = false
			EachToken(v, func(tok []byte) bool {
				switch {
				case FoldEq(tok, "close"):
					rh.KeepAlive = false
					rh.CloseNamed = true
				case FoldEq(tok, "keep-alive"):
				default:
					rh.ConnNames = true
				}
				return true
			})
		case KindTransferEncoding:
			// As net/http's Transport: only chunked, once; and (where
			// net/http ignores the field on HTTP/1.0) refused on HTTP/1.0.
			if !FoldEq(v, "chunked") || rh.Chunked || !http11 {
				return rh, ErrMalformed
			}
			rh.Chunked = true
			rh.verbatim = false
		case KindContentLength:
			// Repeated lengths must be the same text, as net/http requires.
			if length != nil {
				if !bytes.Equal(length, v) {
					return rh, ErrMalformed
				}
				rh.verbatim = false
				continue
			}
			n, ok := ParseLength(v)
			if !ok {
				return rh, ErrMalformed
			}
			length, rh.Length = v, n
		case KindDate:
			rh.HasDate = true
		}
	}
	if rh.Chunked {
		rh.Length = -1
	}
	switch {
	case head || rh.Status == http.StatusNoContent || rh.Status == http.StatusNotModified || rh.Status < 200:
		rh.Length, rh.Chunked = 0, false
	case rh.Length < 0 && !rh.Chunked:
		rh.KeepAlive = false // the body ends when the connection does
	}
	return rh, nil
}

// dropField reports whether a field of an instance's answer stays behind:
// hop-by-hop fields, and a Content-Length that a chunked body overrides or
// that repeats.
func dropField(kind Kind, rh *Response, lengthSent *bool) bool {
	switch kind {
	case KindConnection, KindKeepAlive, KindProxyConnection, KindProxyAuthenticate, KindProxyAuthorization, KindTE, KindTransferEncoding, KindUpgrade:
		return true
	case KindContentLength:
		if rh.Chunked || *lengthSent {
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
	ls := NewLines(head)
	ls.Next()
	for {
		line, _, ok := ls.Next()
		if !ok {
			return names
		}
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && FieldKind(line[:colon]) == KindConnection {
			EachToken(line[colon+1:], func(tok []byte) bool {
				if !FoldEq(tok, "close") && !FoldEq(tok, "keep-alive") {
					names = append(names, tok)
				}
				return true
			})
		}
	}
}

// named reports whether the field name is dropped for being named by the
// Connection field: in names, or "close" when the Connection field says
// close (as httputil.ReverseProxy deletes every field it names).
func named(rh *Response, names [][]byte, name []byte) bool {
	if rh.CloseNamed && FoldEq(name, "close") {
		return true
	}
	for _, n := range names {
		if bytes.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// ParseResponseHead parses the head in b (as found by HeadEnd) into h, the
// header of the response to the client, without hop-by-hop fields. It
// allocates one string for all the fields, and one slice for their values.
func ParseResponseHead(b []byte, head bool, h http.Header) (Response, error) {
	rh, err := ScanResponse(b, head)
	if err != nil {
		return rh, err
	}
	var dropNames [][]byte
	if rh.ConnNames {
		dropNames = connectionNames(b)
	}
	s := string(b)
	vals := make([]string, bytes.Count(b, []byte("\n")))
	nv := 0
	lengthSent := false
	ls := NewLines(b)
	ls.Next()
	for {
		line, off, ok := ls.Next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if dropField(FieldKind(line[:colon]), &rh, &lengthSent) || named(&rh, dropNames, line[:colon]) {
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

// Writer relays an answer to a client: its head (HTTP/1.1 whatever the
// instance spoke, without hop-by-hop fields), and its body, in chunks when
// the instance gave no length. It implements Sink.
type Writer struct {
	W        *bufio.Writer
	chunking bool // the body goes in chunks
	zeroSent bool // the last chunk went out (trailer fields follow)
}

// Head writes the status line and the fields of the instance's head b to
// the client, and the framing of the body; the caller adds its own fields
// and the empty line that ends the head.
func (w *Writer) Head(b []byte, rh *Response) {
	w.chunking, w.zeroSent = false, false
	bw := w.W
	ls := NewLines(b)
	status, _, _ := ls.Next()
	bw.WriteString("HTTP/1.1")
	bw.Write(status[8:])
	bw.WriteString("\r\n")
	if rh.verbatim {
		bw.Write(b[rh.fieldsOff:rh.fieldsEnd])
		w.chunkIfUnframed(rh)
		return
	}
	var dropNames [][]byte
	if rh.ConnNames {
		dropNames = connectionNames(b)
	}
	lengthSent := false
	for {
		line, _, ok := ls.Next()
		if !ok {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if dropField(FieldKind(line[:colon]), rh, &lengthSent) || named(rh, dropNames, line[:colon]) {
			continue
		}
		bw.Write(line)
		bw.WriteString("\r\n")
	}
	w.chunkIfUnframed(rh)
}

// chunkIfUnframed adds the chunked coding to the head of an answer whose
// body is chunked, or ends with the instance's connection: chunks tell the
// client where it ends, so its connection lives on.
func (w *Writer) chunkIfUnframed(rh *Response) {
	if rh.Length < 0 && rh.Status >= 200 {
		w.chunking = true
		w.W.WriteString("Transfer-Encoding: chunked\r\n")
	}
}

// Data implements Sink.
func (w *Writer) Data(p []byte) error {
	if !w.chunking {
		_, err := w.W.Write(p)
		return err
	}
	if len(p) == 0 {
		return nil
	}
	var buf [16]byte
	w.W.Write(strconv.AppendInt(buf[:0], int64(len(p)), 16))
	w.W.WriteString("\r\n")
	w.W.Write(p)
	_, err := w.W.WriteString("\r\n")
	return err
}

// Flush implements Sink.
func (w *Writer) Flush() error { return w.W.Flush() }

// Trailer implements Sink: trailer fields, checked already, pass on as
// they are.
func (w *Writer) Trailer(line []byte) error {
	if !w.chunking {
		return nil
	}
	if !w.zeroSent {
		w.zeroSent = true
		w.W.WriteString("0\r\n")
	}
	w.W.Write(line)
	_, err := w.W.WriteString("\r\n")
	return err
}

// End implements Sink.
func (w *Writer) End() error {
	if !w.chunking {
		return nil
	}
	if !w.zeroSent {
		w.W.WriteString("0\r\n")
	}
	_, err := w.W.WriteString("\r\n")
	return err
}
