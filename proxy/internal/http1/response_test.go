package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// answers are instance answers, well-formed and not, the seeds of
// FuzzResponse and the cases of TestRelay.
var answers = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
	"HTTP/1.1 200 OK\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nClose: c\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 204 No Content\r\nX-Up: 1\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\nContent-Length: 9\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
	"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;x\r\nhello\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: a\x00\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
	"NOT HTTP AT ALL\r\n\r\n",
}

// bufFiller reads more from its reader into r, as an upstream connection
// does.
type bufFiller struct{ r *bufio.Reader }

func (f bufFiller) Fill() error {
	_, err := f.r.Peek(f.r.Buffered() + 1)
	return err
}

// relay passes the answer raw on as the proxy's front end does, and
// returns what the client receives, or the error that ends the exchange.
func relay(raw []byte, head bool) ([]byte, error) {
	end := HeadEnd(raw)
	if end < 0 {
		return nil, io.ErrUnexpectedEOF
	}
	rh, err := ScanResponse(raw[:end], head)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	w := Writer{W: bufio.NewWriterSize(&out, 4096)}
	w.Head(raw[:end], &rh)
	w.W.WriteString("\r\n")
	br := bufio.NewReaderSize(bytes.NewReader(raw[end:]), 16<<10)
	if err := CopyBody(br, bufFiller{br}, &w, &rh); err != nil {
		return nil, err
	}
	w.Flush()
	return out.Bytes(), nil
}

// checkVerbatim checks that a head whose fields Writer.Head copies in one
// piece comes out as the field-by-field copy would write it.
func checkVerbatim(t *testing.T, raw []byte, head bool) {
	t.Helper()
	end := HeadEnd(raw)
	if end < 0 {
		return
	}
	rh, err := ScanResponse(raw[:end], head)
	if err != nil || !rh.verbatim {
		return
	}
	write := func(rh Response) string {
		var out bytes.Buffer
		w := Writer{W: bufio.NewWriter(&out)}
		w.Head(raw[:end], &rh)
		w.W.Flush()
		return out.String()
	}
	slow := rh
	slow.verbatim = false
	if got, want := write(rh), write(slow); got != want {
		t.Fatalf("head of %q copied in one piece as %q, field by field as %q", raw, got, want)
	}
}

// seen is an answer as a client reads it with net/http: what is compared.
type seen struct {
	Status  int
	Header  http.Header
	Body    string
	Trailer http.Header
}

// read reads an answer with net/http as a client of a proxy sees it:
// fields that only frame or only concern one hop left out, as
// httputil.ReverseProxy leaves them.
func read(raw []byte, method string) (seen, error) {
	res, err := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(raw), 4096), &http.Request{Method: method})
	if err != nil {
		return seen{}, err
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return seen{}, err
	}
	h := res.Header.Clone()
	// The fields the Connection field names are hop-by-hop (RFC 9110,
	// 7.6.1). net/http deletes a Connection field that says close before
	// httputil.ReverseProxy can read the names in it, so they are read
	// from the head here.
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	tp.ReadLine()
	mh, _ := tp.ReadMIMEHeader()
	for _, v := range mh["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			h.Del(strings.TrimSpace(f))
		}
	}
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Date"} {
		delete(h, k)
	}
	s := seen{Status: res.StatusCode, Header: h, Body: string(body)}
	for k, v := range res.Trailer {
		if v != nil { // (announced fields that never came are nil)
			if s.Trailer == nil {
				s.Trailer = http.Header{}
			}
			s.Trailer[k] = v
		}
	}
	return s, nil
}

// FuzzResponse is a differential test of the response side against
// net/http: an answer that ScanResponse and CopyBody pass on, net/http's
// Transport reads without error, and a client of the proxy reads it as a
// client of httputil.ReverseProxy would (status, fields, body, trailers);
// anything else the proxy refuses (502, or a broken-off answer).
func FuzzResponse(f *testing.F) {
	for _, a := range answers {
		f.Add([]byte(a), false)
		f.Add([]byte(a), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		if end := HeadEnd(raw); end < 0 || Status(raw) < 200 {
			return // no answer, or an informational one: the caller reads on
		}
		checkVerbatim(t, raw, head)
		got, err := relay(raw, head)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("relay(%q) = %v, want ErrMalformed or a short answer", raw, err)
			}
			return // refused: nothing reaches the client as it came
		}
		want, err := read(raw, method)
		if err != nil {
			t.Fatalf("the proxy passed on %q, which net/http refuses: %v", raw, err)
		}
		client, err := read(got, method)
		if err != nil {
			t.Fatalf("for %q the proxy sent %q, which a client cannot read: %v", raw, got, err)
		}
		if diff := cmp.Diff(want, client); diff != "" {
			t.Fatalf("for %q the proxy sent %q, read otherwise than net/http reads the instance (-net/http +client):\n%s", raw, got, diff)
		}
	})
}

// TestRelay checks what a client gets for each answer: the same as from
// net/http, or a refusal.
func TestRelay(t *testing.T) {
	refused := 0
	verbatim := 0
	for _, a := range answers {
		checkVerbatim(t, []byte(a), false)
		if end := HeadEnd([]byte(a)); end > 0 {
			if rh, err := ScanResponse([]byte(a)[:end], false); err == nil && rh.verbatim {
				verbatim++
			}
		}
		got, err := relay([]byte(a), false)
		if err != nil {
			refused++
			continue
		}
		want, err := read([]byte(a), http.MethodGet)
		if err != nil {
			t.Errorf("relayed %q, which net/http refuses: %v", a, err)
			continue
		}
		client, err := read(got, http.MethodGet)
		if err != nil {
			t.Errorf("relayed %q as %q, unreadable: %v", a, got, err)
			continue
		}
		if diff := cmp.Diff(want, client); diff != "" {
			t.Errorf("relayed %q as %q (-net/http +client):\n%s", a, got, diff)
		}
	}
	if want := 12; refused != want { // the malformed ones, and the one cut short
		t.Errorf("refused %d answers, want %d", refused, want)
	}
	if verbatim == 0 {
		t.Errorf("no answer's fields were copied in one piece")
	}
}
