package proxy

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// The benchmarks send the same load through this proxy (its own listener,
// and Handler served by net/http) and through the reference of the issue:
// a plain httputil.ReverseProxy behind an atomic pointer, with
// http.DefaultTransport's settings and MaxIdleConnsPerHost 256. The client
// and the instance speak raw HTTP/1.1 over keep-alive connections and
// allocate nothing per request, so allocs/op is what the proxy allocates
// per proxied request:
//
//	go test -run XXX -bench . -benchmem ./proxy

// benchResponse is the instance's answer, shaped like examples/app's.
var benchResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
	"X-Instance: 1\r\nX-Version: v1\r\nContent-Length: 3\r\n\r\nv1\n")

// benchUpstream starts an instance that answers every request with
// benchResponse, and returns its address.
func benchUpstream(b *testing.B) string {
	ln := serveLoopback(b, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReaderSize(c, 16<<10)
		for {
			b, err := br.Peek(max(br.Buffered(), 1))
			if err != nil {
				return
			}
			end := http1.HeadEnd(b)
			if end < 0 {
				if _, err := br.Peek(len(b) + 1); err != nil {
					return
				}
				continue
			}
			br.Discard(end)
			if _, err := c.Write(benchResponse); err != nil {
				return
			}
		}
	})
	return ln.Addr().String()
}

// benchLoad sends GET / to addr from parallel clients, each on its own
// keep-alive connection, and checks every answer.
func benchLoad(b *testing.B, addr string) {
	req := []byte("GET / HTTP/1.1\r\nHost: web\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		br := bufio.NewReaderSize(c, 16<<10)
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			if status, err := readBenchResponse(br); err != nil || status != http.StatusOK {
				b.Errorf("answer: %d, %v", status, err)
				return
			}
		}
	})
}

// readBenchResponse reads one answer with a Content-Length or chunked
// body, without allocating, and returns its status.
func readBenchResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil || len(line) < 12 {
		return 0, err
	}
	status := int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	length, chunked := 0, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length = atoiBytes(bytes.TrimSpace(v))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = true
		}
	}
	if !chunked {
		_, err = br.Discard(length)
		return status, err
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		n, _ := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 64)
		if _, err := br.Discard(int(n) + 2); err != nil || n == 0 {
			return status, err
		}
	}
}

func atoiBytes(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func benchProxy(b *testing.B) *Proxy {
	p := startProxy(b, Options{TestAddr: "off"})
	mustSetup(b, p, []string{benchUpstream(b)}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	return p
}

// BenchmarkProxy measures the proxy as Start serves it.
func BenchmarkProxy(b *testing.B) {
	benchLoad(b, benchProxy(b).Addr())
}

// BenchmarkProxyHandler measures Handler served by a net/http server, as a
// program serving the proxy from servers of its own does.
func BenchmarkProxyHandler(b *testing.B) {
	p := benchProxy(b)
	benchLoad(b, benchServe(b, p.Handler()))
}

// BenchmarkPlainReverseProxy measures the reference.
func BenchmarkPlainReverseProxy(b *testing.B) {
	u, _ := url.Parse("http://" + benchUpstream(b))
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	rp.Transport = tr
	b.Cleanup(tr.CloseIdleConnections)
	var cur atomic.Pointer[httputil.ReverseProxy]
	cur.Store(rp)
	benchLoad(b, benchServe(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur.Load().ServeHTTP(w, r)
	})))
}

// benchServe serves h on a loopback port with a default http.Server.
func benchServe(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// benchWriter is a reusable http.ResponseWriter for
// BenchmarkProxyHandlerDirect: its header map and body buffer are kept
// from one request to the next, as net/http's server keeps neither but
// allocates them itself (those allocations are net/http's, not the
// proxy's).
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.h }

func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

func (w *benchWriter) Flush() {}

// BenchmarkProxyHandlerDirect calls Handler().ServeHTTP directly, on one
// goroutine, with the same *http.Request each time and a reusable
// ResponseWriter whose header map is cleared (not replaced) between
// requests: allocs/op counts only what the proxy allocates per request
// through Handler, none of what a net/http server allocates around it
// (the Request, its header map and context, the response and its header
// map, which BenchmarkProxyHandler counts as well).
func BenchmarkProxyHandlerDirect(b *testing.B) {
	p := benchProxy(b)
	h := p.Handler()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader([]byte(
		"GET / HTTP/1.1\r\nHost: web\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"))))
	if err != nil {
		b.Fatal(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, r)
		if w.status != http.StatusOK || w.n != 3 {
			b.Fatalf("answer: %d, %d bytes", w.status, w.n)
		}
	}
}

// BenchmarkNetHTTPFloor measures what the net/http server allocates around
// a handler that answers as the instance does (the same five fields, set
// through Header from values made once, and the same body) without
// proxying: the floor under BenchmarkProxyHandler, which includes the
// header map's storage and net/http's copy of it at WriteHeader.
// BenchmarkProxyHandler's allocs/op minus this one's is what the proxy
// allocates per request through Handler.
func BenchmarkNetHTTPFloor(b *testing.B) {
	body := []byte("v1\n")
	vals := [][]string{{"text/plain; charset=utf-8"}, {"Mon, 02 Jan 2006 15:04:05 GMT"}, {"1"}, {"v1"}, {"3"}}
	benchLoad(b, benchServe(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = vals[0]
		h["Date"] = vals[1]
		h["X-Instance"] = vals[2]
		h["X-Version"] = vals[3]
		h["Content-Length"] = vals[4]
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})))
}
