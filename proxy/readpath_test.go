package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// gatedUpstream is an instance that reports each request head it reads on
// heads before it reads the body, holds requests to /gate until release
// receives, and answers "path:body length".
type gatedUpstream struct {
	ln      net.Listener
	heads   chan string
	release chan struct{}
}

func newGatedUpstream(t *testing.T) *gatedUpstream {
	u := &gatedUpstream{heads: make(chan string, 16), release: make(chan struct{}, 16)}
	u.ln = serveLoopback(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			u.heads <- req.URL.Path
			if req.URL.Path == "/gate" {
				<-u.release
			}
			body, _ := io.ReadAll(req.Body)
			msg := fmt.Sprintf("%s:%d", req.URL.Path, len(body))
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
		}
	})
	return u
}

// TestFrontReadsRequestsAsTheyArrive: the front end reads its client
// connections inside the poller and, after a request, waits for the next
// without reading first. Whatever the moment a request's bytes arrive
// (with the head, in pieces, while the previous request is served, after
// its head went to the instance), every request is answered, in order.
func TestFrontReadsRequestsAsTheyArrive(t *testing.T) {
	body := strings.Repeat("b", 20000)
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: web\r\n\r\n" }
	post := "POST /post HTTP/1.1\r\nHost: web\r\nContent-Length: 20000\r\n\r\n"
	// A step writes to the client connection, or waits until the
	// instance has read a request head, or lets a gated request go.
	type step struct{ write, head string }
	release := step{head: "release"}
	closeWrite := step{head: "close"}
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{"head in pieces", []step{{write: "GET /a HTTP/1.1\r\nHo"}, {write: "st: web\r\n"}, {write: "\r\n"}, {head: "/a"}},
			[]string{"/a:0"}},
		{"next request while one is served", []step{{write: get("/gate")}, {head: "/gate"}, {write: get("/b")}, release, {head: "/b"}},
			[]string{"/gate:0", "/b:0"}},
		{"next request in pieces while one is served", []step{{write: get("/gate")}, {head: "/gate"}, {write: "GET /b HT"}, release, {write: "TP/1.1\r\nHost: web\r\n\r\n"}, {head: "/b"}},
			[]string{"/gate:0", "/b:0"}},
		{"body after its head went on", []step{{write: post + body[:10000]}, {head: "/post"}, {write: body[10000:] + get("/after")}, {head: "/after"}},
			[]string{"/post:20000", "/after:0"}},
		{"body whole, then more", []step{{write: post + body + get("/after")}, {head: "/post"}, {head: "/after"}},
			[]string{"/post:20000", "/after:0"}},
		{"last requests, then the client's half closed", []step{{write: get("/a") + get("/b")}, closeWrite, {head: "/a"}, {head: "/b"}},
			[]string{"/a:0", "/b:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newGatedUpstream(t)
			p := startProxy(t, Options{})
			mustSetup(t, p, []string{up.ln.Addr().String()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
			c, err := net.DialTimeout("tcp", p.Addr(), testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			for _, s := range tt.steps {
				switch {
				case s == release:
					up.release <- struct{}{}
				case s == closeWrite:
					if err := c.(*net.TCPConn).CloseWrite(); err != nil {
						t.Fatal(err)
					}
				case s.write != "":
					if _, err := io.WriteString(c, s.write); err != nil {
						t.Fatal(err)
					}
				default:
					select {
					case h := <-up.heads:
						if h != s.head {
							t.Fatalf("instance read %s, want %s", h, s.head)
						}
					case <-time.After(testTimeout):
						t.Fatalf("instance never read %s", s.head)
					}
				}
			}
			br := bufio.NewReader(c)
			var got []string
			for range tt.want {
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				b, _ := io.ReadAll(res.Body)
				got = append(got, string(b))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFrontRandomSegmentation sends, for each seed, pipelined requests with
// bodies of assorted sizes (some longer than the connection's buffer, some
// longer than the fast path carries, which hands the connection to
// net/http) as one byte stream cut at random places; after some pieces it
// waits until the instance has read every request so far, so that the
// front end sees requests arrive at every point of its reading. Every
// request must reach the instance once, in order, and every answer come
// back in order.
func TestFrontRandomSegmentation(t *testing.T) {
	sizes := []int{0, 0, 1, 17, 300, frontReadSize - 40, frontReadSize + 100, 20000, 64 << 10, 64<<10 + 1}
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			up := newGatedUpstream(t)
			up.heads = make(chan string, 1024)
			p := startProxy(t, Options{})
			mustSetup(t, p, []string{up.ln.Addr().String()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
			rng := rand.New(rand.NewPCG(seed, 9))
			var stream []byte
			var ends []int // where each request ends in stream
			var want []string
			for i := range 2 + rng.IntN(10) {
				path := fmt.Sprintf("/r%d", i)
				n := sizes[rng.IntN(len(sizes))]
				if n == 0 && rng.IntN(2) == 0 {
					stream = fmt.Appendf(stream, "GET %s HTTP/1.1\r\nHost: web\r\n\r\n", path)
				} else {
					stream = fmt.Appendf(stream, "POST %s HTTP/1.1\r\nHost: web\r\nContent-Length: %d\r\n\r\n", path, n)
					stream = append(stream, bytes.Repeat([]byte{'x'}, n)...)
				}
				ends = append(ends, len(stream))
				want = append(want, fmt.Sprintf("%s:%d", path, n))
			}
			c, err := net.DialTimeout("tcp", p.Addr(), testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			answers := make(chan []string, 1)
			go func() {
				br := bufio.NewReader(c)
				var got []string
				for range want {
					res, err := http.ReadResponse(br, nil)
					if err != nil {
						got = append(got, "error: "+err.Error())
						break
					}
					b, _ := io.ReadAll(res.Body)
					got = append(got, string(b))
				}
				answers <- got
			}()
			seen := 0 // requests the instance has read
			awaitNext := func() {
				t.Helper()
				select {
				case h := <-up.heads:
					if h != fmt.Sprintf("/r%d", seen) {
						t.Fatalf("instance read %s, want /r%d", h, seen)
					}
					seen++
				case <-time.After(testTimeout):
					t.Fatalf("instance never read /r%d", seen)
				}
			}
			for off := 0; off < len(stream); {
				n := 1 + rng.IntN(min(len(stream)-off, 3*frontReadSize))
				if _, err := c.Write(stream[off : off+n]); err != nil {
					t.Fatal(err)
				}
				off += n
				if rng.IntN(3) > 0 {
					continue
				}
				for seen < len(ends) && ends[seen] <= off {
					awaitNext()
				}
			}
			got := <-answers // bounded by the connection's deadline
			for seen < len(ends) {
				awaitNext()
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExpectContinueAnsweredOnce: a client that sends Expect:
// 100-continue gets exactly one 100 Continue before the answer, through
// the front end and through Handler, though the instance sends its own
// 100 too. net/http's server sends one when the body is first read, and
// the transport may read it before ReverseProxy hears of the instance's:
// passed on, that made two, about one exchange in twenty.
func TestExpectContinueAnsweredOnce(t *testing.T) {
	up := newRawUpstream(t)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{up.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	viaHandler := httptest.NewServer(p.Handler())
	t.Cleanup(viaHandler.Close)
	for name, addr := range map[string]string{"front": p.Addr(), "handler": viaHandler.Listener.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, testTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			br := bufio.NewReader(c)
			for i := range 200 {
				io.WriteString(c, "PUT /plain HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
				res, err := http.ReadResponse(br, nil)
				if err != nil || res.StatusCode != http.StatusContinue {
					t.Fatalf("exchange %d: first answer %v, %v; want 100 Continue", i, res, err)
				}
				io.WriteString(c, "hi")
				continues := 1
				for {
					res, err = http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("exchange %d: %v", i, err)
					}
					if res.StatusCode != http.StatusContinue {
						break
					}
					continues++
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if continues != 1 || res.StatusCode != http.StatusOK {
					t.Fatalf("exchange %d: %d 100 Continue, then %d; want one, then 200", i, continues, res.StatusCode)
				}
			}
		})
	}
}

// TestUnaskedContinueNotPassedOn: a 100 Continue an instance sends to a
// request without Expect is dropped on every path (the fast paths of the
// front end and of Handler, and ReverseProxy's for what they do not
// carry); the answer that follows comes through.
func TestUnaskedContinueNotPassedOn(t *testing.T) {
	up := newRawUpstream(t)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{up.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	viaHandler := httptest.NewServer(p.Handler())
	t.Cleanup(viaHandler.Close)
	get := "GET /continue HTTP/1.1\r\nHost: web\r\n\r\n"
	chunked := "POST /continue HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
	want := []string{`200 Content-Type=["text/plain"] body="ok"`}
	for _, tt := range []struct{ name, addr, raw, method string }{
		{"front, fast path", p.Addr(), get, "GET"},
		{"handler, fast path", viaHandler.Listener.Addr().String(), get, "GET"},
		{"front, ReverseProxy", p.Addr(), chunked, "POST"},
		{"handler, ReverseProxy", viaHandler.Listener.Addr().String(), chunked, "POST"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(want, exchangeRaw(t, tt.addr, tt.raw, 1, tt.method)); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}
