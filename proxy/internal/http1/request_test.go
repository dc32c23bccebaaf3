package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseCases are request heads, and whether ParseRequest takes them.
var parseCases = []struct {
	head string
	fast bool
}{
	{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
	{"GET / HTTP/1.1\nHost: a\n\n", true},
	{"DELETE /x?y=%41 HTTP/1.1\r\nHost: a:1\r\nX: \t v \t\r\n\r\n", true},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", true},
	{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true},
	{"GET / HTTP/1.1\r\nHost: a\r\nCookie: bg=A; x=\"B\"\r\nX-Canary: yes\r\n\r\n", true},
	{"GET / HTTP/1.0\r\nHost: a\r\n\r\n", false},
	{"GET * HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: \r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", false},
	{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n", false},
	{"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", false},
	{"G T / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	{"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", false},
}

func TestParseRequest(t *testing.T) {
	for _, tt := range parseCases {
		var rq Request
		if got := ParseRequest([]byte(tt.head), &rq); got != tt.fast {
			t.Errorf("ParseRequest(%q) = %v, want %v", tt.head, got, tt.fast)
		}
	}
}

func TestRequestCookieAndField(t *testing.T) {
	head := []byte("GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1; bg=\"B\"\r\nCookie: bg=A\r\nx-canary: yes\r\n\r\n")
	var rq Request
	if !ParseRequest(head, &rq) {
		t.Fatal("ParseRequest refused the head")
	}
	v, ok := rq.Cookie(head, "bg")
	if string(v) != "B" || !ok {
		t.Errorf("Cookie(bg) = %q, %v; want B, true", v, ok)
	}
	if _, ok := rq.Cookie(head, "none"); ok {
		t.Errorf("Cookie(none) found")
	}
	if !rq.FieldIs(head, "X-Canary", "yes") || rq.FieldIs(head, "X-Canary", "no") {
		t.Errorf("FieldIs(X-Canary) wrong")
	}
}

// captured is what httputil.ReverseProxy would send an instance for req:
// the outgoing request, caught at its Transport.
func captured(t *testing.T, req *http.Request) *http.Request {
	var out *http.Request
	u, _ := url.Parse("http://instance")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			out = r
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
		}),
	}
	rp.ServeHTTP(httptest.NewRecorder(), req)
	if out == nil {
		t.Fatalf("httputil.ReverseProxy sent nothing for %+v", req)
	}
	return out
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// sentHeader is the header an instance reads from a request's fields, the
// framing and empty User-Agent (which the Transport does not send) left
// out.
func sentHeader(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Content-Length")
	if v, ok := h["User-Agent"]; ok && len(v) == 1 && v[0] == "" {
		delete(h, "User-Agent")
	}
	return h
}

// FuzzRequest is a differential test of the request side against net/http:
// a head ParseRequest takes, net/http's server reads the same way; and what
// WriteRequest and WriteRequestHead send on for it, an instance reads as
// what httputil.ReverseProxy would have sent.
func FuzzRequest(f *testing.F) {
	f.Add("POST /x?y=1 HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nForwarded: for=x\r\nKeep-Alive: 1\r\nProxy-Authorization: x\r\nA: 1\r\na: 2\r\n\r\n")
	for _, tt := range parseCases {
		f.Add(tt.head)
	}
	f.Fuzz(func(t *testing.T, head string) {
		end := HeadEnd([]byte(head))
		if end < 0 {
			return
		}
		b := []byte(head[:end])
		var rq Request
		if !ParseRequest(b, &rq) {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("ParseRequest took %q, which net/http refuses: %v", b, err)
		}
		got := []any{string(rq.Method.Of(b)), string(rq.Target.Of(b)), string(rq.Host.Of(b)), rq.Length, rq.CloseConn}
		want := []any{req.Method, req.RequestURI, req.Host, max(req.ContentLength, 0), req.Close}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ParseRequest(%q) reads otherwise than net/http (-net/http +ours):\n%s", b, diff)
		}
		req.RemoteAddr = "192.0.2.1:1234"
		req.Body = http.NoBody
		oracle := captured(t, req)
		fw := Forwarding{ClientIP: "192.0.2.1"}

		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		WriteRequest(w, b, &rq, fw)
		w.Flush()
		checkSent(t, "WriteRequest", b, out.Bytes(), oracle)

		if Eligible(req) {
			out.Reset()
			WriteRequestHead(w, req, fw)
			w.Flush()
			checkSent(t, "WriteRequestHead", b, out.Bytes(), oracle)
		}
	})
}

// checkSent checks that the request head sent reads, at the instance, as
// httputil.ReverseProxy's request oracle.
func checkSent(t *testing.T, what string, in, sent []byte, oracle *http.Request) {
	t.Helper()
	got, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(sent)))
	if err != nil {
		t.Fatalf("%s for %q sent a head net/http refuses: %v\n%q", what, in, err, sent)
	}
	if got.Method != oracle.Method || got.RequestURI != oracle.URL.RequestURI() || got.Host != oracle.Host {
		t.Errorf("%s for %q: %s %s Host %s; httputil.ReverseProxy sends %s %s Host %s",
			what, in, got.Method, got.RequestURI, got.Host, oracle.Method, oracle.URL.RequestURI(), oracle.Host)
	}
	if got.ContentLength != max(oracle.ContentLength, 0) {
		t.Errorf("%s for %q: length %d; httputil.ReverseProxy sends %d", what, in, got.ContentLength, oracle.ContentLength)
	}
	if diff := cmp.Diff(sentHeader(oracle.Header), sentHeader(got.Header)); diff != "" {
		t.Errorf("%s for %q: fields at the instance (-httputil.ReverseProxy +ours):\n%s", what, in, diff)
	}
}
