package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"

	"github.com/bluegreen-go/bluegreen/proxy/internal/http1"
)

// rawUpstream is an instance speaking raw HTTP/1.1: it records each request
// it reads and answers with the raw response its path names, so tests can
// send the proxy any framing an instance may use.
type rawUpstream struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []seenRequest
}

// seenRequest is what an instance saw of a request.
type seenRequest struct {
	Method, URI, Proto, Host string
	Header                   http.Header
	Body                     string
}

// rawResponses are the answers of rawUpstream, by path. Those marked with
// a trailing "\x00" close the connection after the answer.
var rawResponses = map[string]string{
	"/plain":        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\nhello",
	"/chunked":      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
	"/trailers":     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n",
	"/eof":          "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\x00",
	"/close":        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok\x00",
	"/nocontent":    "HTTP/1.1 204 No Content\r\nX-Up: 1\r\n\r\n",
	"/notmodified":  "HTTP/1.1 304 Not Modified\r\nEtag: \"x\"\r\n\r\n",
	"/continue":     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
	"/early":        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
	"/hop":          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nok",
	"/dup-length":   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"/bad-length":   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
	"/bad-encoding": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
	"/garbage":      "NOT HTTP AT ALL\r\n\r\n",
	"/switch":       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
	"/big-head": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Big: " + strings.Repeat("b", 40<<10) +
		"\r\nContent-Length: 2\r\n\r\nok",
}

func newRawUpstream(t testing.TB) *rawUpstream {
	t.Helper()
	u := &rawUpstream{}
	u.ln = serveLoopback(t, func(c net.Conn) { u.serve(c) })
	return u
}

func (u *rawUpstream) addr() string { return u.ln.Addr().String() }

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Expect") == "100-continue" {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		body, _ := io.ReadAll(req.Body)
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{req.Method, req.RequestURI, req.Proto, req.Host, req.Header, string(body)})
		u.mu.Unlock()
		res, ok := rawResponses[req.URL.Path]
		if !ok {
			res = rawResponses["/plain"]
		}
		res, closeAfter := strings.CutSuffix(res, "\x00")
		if req.Method == http.MethodHead {
			res = res[:http1.HeadEnd([]byte(res))]
		}
		if _, err := io.WriteString(c, res); err != nil || closeAfter {
			return
		}
	}
}

// last returns the last request the instance saw.
func (u *rawUpstream) last() seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return seenRequest{}
	}
	return u.seen[len(u.seen)-1]
}

// count returns how many requests the instance saw.
func (u *rawUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// since returns the requests the instance saw after the first n.
func (u *rawUpstream) since(n int) []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen[n:]...)
}

// exchangeRaw sends raw on a new connection to addr and reads n responses.
func exchangeRaw(t *testing.T, addr, raw string, n int, method string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []string
	for range n {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			out = append(out, "error: "+err.Error())
			break
		}
		out = append(out, describe(res))
	}
	return out
}

// describe renders a response for comparison: status, fields (without
// Date and the framing fields, which may differ between equally correct
// answers), body and trailer fields.
func describe(res *http.Response) string {
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%d", res.StatusCode)
	keys := make([]string, 0, len(res.Header))
	for k := range res.Header {
		switch k {
		case "Date", "Content-Length", "Connection":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, res.Header[k])
	}
	fmt.Fprintf(&b, " body=%q", body)
	if err != nil {
		fmt.Fprintf(&b, " bodyErr=%v", err)
	}
	if len(res.Trailer) > 0 {
		fmt.Fprintf(&b, " trailer=%v", res.Trailer)
	}
	return b.String()
}

// TestFrontMatchesHandler sends the same raw requests to the front end
// (Start's production listener) and to Handler served by net/http, and
// checks that the instance sees the same requests and the clients get the
// same answers: the fast paths behave as httputil.ReverseProxy.
func TestFrontMatchesHandler(t *testing.T) {
	up := newRawUpstream(t)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{up.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	viaHandler := httptest.NewServer(p.Handler())
	t.Cleanup(viaHandler.Close)
	fronts := map[string]string{"front": p.Addr(), "handler": viaHandler.Listener.Addr().String()}

	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: web\r\nUser-Agent: t\r\n\r\n" }
	tests := []struct {
		name, raw, method string
		responses         int
	}{
		{"plain", get("/plain?a=1&b=%20"), "GET", 1},
		{"head", "HEAD /plain HTTP/1.1\r\nHost: web\r\n\r\n", "HEAD", 1},
		{"chunked answer", get("/chunked"), "GET", 1},
		{"trailers", get("/trailers"), "GET", 1},
		{"answer until EOF", get("/eof"), "GET", 1},
		{"instance closes", get("/close") + get("/plain"), "GET", 2},
		{"no content", get("/nocontent"), "GET", 1},
		{"not modified", get("/notmodified"), "GET", 1},
		{"early hints", get("/early"), "GET", 2},
		{"100 nobody asked for", get("/continue") + get("/plain"), "GET", 2},
		{"hop-by-hop answer fields", get("/hop"), "GET", 1},
		{"repeated length", get("/dup-length"), "GET", 1},
		{"conflicting lengths", get("/bad-length"), "GET", 1},
		{"unknown coding", get("/bad-encoding"), "GET", 1},
		{"garbage", get("/garbage"), "GET", 1},
		{"unasked switch", get("/switch"), "GET", 1},
		{"big answer head", get("/big-head"), "GET", 1},
		{"post", "POST /plain HTTP/1.1\r\nHost: web\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\npayload", "POST", 1},
		{"empty post", "POST /plain HTTP/1.1\r\nHost: web\r\n\r\n", "POST", 1},
		{"chunked post", "POST /plain HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "POST", 1},
		{"expect continue", "PUT /plain HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", "PUT", 2},
		{"http/1.0", "GET /plain HTTP/1.0\r\nHost: web\r\n\r\n", "GET", 1},
		{"client closes", "GET /plain HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n", "GET", 1},
		{"pipelined", get("/plain") + get("/chunked") + get("/plain"), "GET", 3},
		{"hop-by-hop request fields", "GET /plain HTTP/1.1\r\nHost: web\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n" +
			"Keep-Alive: 5\r\nProxy-Connection: x\r\nProxy-Authorization: Basic x\r\nTe: trailers, deflate\r\nX-Keep: 1\r\n\r\n", "GET", 1},
		{"spoofed forwarding", "GET /plain HTTP/1.1\r\nHost: Web:80\r\nX-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Host: evil\r\n" +
			"X-Forwarded-Proto: https\r\nForwarded: for=1.2.3.4\r\n\r\n", "GET", 1},
		{"repeated fields", "GET /plain HTTP/1.1\r\nHost: web\r\nAccept: a\r\naccept: b\r\nCookie: x=1\r\nCookie: y=2\r\n\r\n", "GET", 1},
		{"odd target", "GET /a;b/%7e?x=1;y=2 HTTP/1.1\r\nHost: web\r\n\r\n", "GET", 1},
		{"absolute target", "GET http://web/plain HTTP/1.1\r\nHost: web\r\n\r\n", "GET", 1},
		{"big request head", "GET /plain HTTP/1.1\r\nHost: web\r\nX-Big: " + strings.Repeat("a", 10<<10) + "\r\n\r\n", "GET", 1},
		{"missing host", "GET /plain HTTP/1.1\r\n\r\n", "GET", 1},
		{"two hosts", "GET /plain HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET", 1},
		{"bad field name", "GET /plain HTTP/1.1\r\nHost: web\r\nBad Name: x\r\n\r\n", "GET", 1},
		{"folded field", "GET /plain HTTP/1.1\r\nHost: web\r\nX-A: 1\r\n  2\r\n\r\n", "GET", 1},
		{"control character", "GET /plain HTTP/1.1\r\nHost: web\r\nX-A: 1\x01\r\n\r\n", "GET", 1},
		{"body too large for the fast path", "POST /plain HTTP/1.1\r\nHost: web\r\nContent-Type: text/plain\r\nContent-Length: 70000\r\n\r\n" +
			strings.Repeat("x", 70000), "POST", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string][]string{}
			saw := map[string][]seenRequest{}
			for name, addr := range fronts {
				n := up.count()
				got[name] = exchangeRaw(t, addr, tt.raw, tt.responses, tt.method)
				saw[name] = up.since(n)
			}
			if diff := cmp.Diff(got["handler"], got["front"]); diff != "" {
				t.Errorf("answers differ (-handler +front):\n%s", diff)
			}
			if diff := cmp.Diff(saw["handler"], saw["front"]); diff != "" {
				t.Errorf("what the instance saw differs (-handler +front):\n%s", diff)
			}
			for _, r := range got["front"] {
				if strings.HasPrefix(r, "error") {
					t.Errorf("front answer: %s", r)
				}
			}
		})
	}
}

// TestHTTPSInstanceSpokenToOverTLS: the fast paths speak plain HTTP/1.1, so
// requests to an https instance take httputil.ReverseProxy, which speaks
// TLS: here it distrusts the test certificate (502), where plain text sent
// to a TLS port would get the instance's 400.
func TestHTTPSInstanceSpokenToOverTLS(t *testing.T) {
	inst := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	inst.Config.ErrorLog = log.New(io.Discard, "", 0)
	inst.StartTLS()
	t.Cleanup(inst.Close)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{inst.URL}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	viaHandler := httptest.NewServer(p.Handler())
	t.Cleanup(viaHandler.Close)
	for _, addr := range []string{p.Addr(), viaHandler.Listener.Addr().String()} {
		if status, _ := get(t, newClient(t), "http://"+addr+"/", nil); status != http.StatusBadGateway {
			t.Errorf("through %s: status %d, want 502 from a TLS handshake", addr, status)
		}
	}
}

// TestFrontForwardedFields checks the request the instance sees from the
// front end, field by field.
func TestFrontForwardedFields(t *testing.T) {
	up := newRawUpstream(t)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{up.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	exchangeRaw(t, p.Addr(), "GET /plain?q=1 HTTP/1.1\r\nHost: App.Example:8080\r\nConnection: keep-alive\r\n"+
		"X-Forwarded-For: 6.6.6.6\r\nKeep-Alive: 1\r\nX-App: v\r\n\r\n", 1, "GET")
	want := seenRequest{Method: "GET", URI: "/plain?q=1", Proto: "HTTP/1.1", Host: "App.Example:8080", Header: http.Header{
		"X-App":             {"v"},
		"X-Forwarded-For":   {"127.0.0.1"},
		"X-Forwarded-Host":  {"App.Example:8080"},
		"X-Forwarded-Proto": {"http"},
	}}
	if diff := cmp.Diff(want, up.last()); diff != "" {
		t.Errorf("request at the instance (-want +got):\n%s", diff)
	}
}

// TestFrontHandsOverMidConnection: one connection carries a request of the
// fast path, then one that only net/http serves (a chunked body), then
// another; all are answered, in order.
func TestFrontHandsOverMidConnection(t *testing.T) {
	up := newRawUpstream(t)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{up.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	raw := "GET /plain HTTP/1.1\r\nHost: web\r\n\r\n" +
		"POST /chunked HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" +
		"GET /plain HTTP/1.1\r\nHost: web\r\n\r\n"
	got := exchangeRaw(t, p.Addr(), raw, 3, "GET")
	want := []string{
		`200 Content-Type=["text/plain"] X-Up=["1"] body="hello"`,
		`200 Content-Type=["text/plain"] body="hello world"`,
		`200 Content-Type=["text/plain"] X-Up=["1"] body="hello"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if b := up.last().Body; b != "" {
		t.Errorf("last request's body = %q, want none", b)
	}
}

// TestStaleInstanceConnection: after an instance closed its idle
// connections, requests (a GET, and a POST that cannot be retried) still
// get through on new ones.
func TestStaleInstanceConnection(t *testing.T) {
	for _, mode := range []string{"front", "handler"} {
		t.Run(mode, func(t *testing.T) {
			inst := newBackend(t, "inst", nil)
			p := startProxy(t, Options{})
			mustSetup(t, p, []string{inst.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
			addr := p.Addr()
			if mode == "handler" {
				srv := httptest.NewServer(p.Handler())
				t.Cleanup(srv.Close)
				addr = srv.Listener.Addr().String()
			}
			c := newClient(t)
			for i, method := range []string{http.MethodGet, http.MethodGet, http.MethodPost, http.MethodPost} {
				if i > 0 {
					inst.CloseClientConnections()
				}
				req, _ := http.NewRequest(method, "http://"+addr+"/", strings.NewReader("x"))
				res, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s #%d: %v", method, i, err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || string(b) != "inst" {
					t.Errorf("%s #%d after the instance closed its connections: %d %q, want 200 inst", method, i, res.StatusCode, b)
				}
			}
		})
	}
}

// TestClientGoneCancelsInstanceRequest: when a client leaves while its
// instance is still working, the proxy closes the instance's connection
// (the instance sees its request canceled), and counts the request as
// neither success nor failure.
func TestClientGoneCancelsInstanceRequest(t *testing.T) {
	for _, mode := range []string{"front", "handler"} {
		t.Run(mode, func(t *testing.T) {
			started, canceled := make(chan struct{}), make(chan struct{})
			inst := newBackend(t, "inst", func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-r.Context().Done()
				close(canceled)
			})
			p := startProxy(t, Options{})
			mustSetup(t, p, []string{inst.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
			addr := p.Addr()
			if mode == "handler" {
				srv := httptest.NewServer(p.Handler())
				t.Cleanup(srv.Close)
				addr = srv.Listener.Addr().String()
			}
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET /wait HTTP/1.1\r\nHost: web\r\n\r\n")
			<-started
			c.Close()
			select {
			case <-canceled:
			case <-time.After(testTimeout):
				t.Fatal("the instance's request was not canceled after the client left")
			}
			eventually(t, "the request leaves the in-flight count", func() bool {
				m, _ := p.Metrics(context.Background(), "web", bluegreen.SlotA)
				return m.InFlight == 0 && m.Requests == 1
			})
			if m, _ := p.Metrics(context.Background(), "web", bluegreen.SlotA); m.Errors != 0 {
				t.Errorf("a client leaving counted as %d errors, want 0", m.Errors)
			}
		})
	}
}

// TestShutdownLetsRequestsFinish: Shutdown closes idle connections at once
// and lets a request in flight finish before it returns.
func TestShutdownLetsRequestsFinish(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	inst := newBackend(t, "inst", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "done")
	})
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{inst.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	idle, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	slow := make(chan string, 1)
	go func() {
		_, body := get(t, newClient(t), "http://"+p.Addr()+"/slow", nil)
		slow <- body
	}()
	<-started
	done := make(chan error, 1)
	go func() { done <- p.Shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := idle.Read(make([]byte, 1)); err == nil {
		t.Errorf("idle connection read %d bytes during Shutdown, want it closed", n)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	default:
	}
	close(release)
	if body := <-slow; body != "done" {
		t.Errorf("request in flight during Shutdown got %q, want done", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Errorf("the listener still accepts after Shutdown")
	}
}
