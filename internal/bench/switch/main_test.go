package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		in     string
		status int
		ok     bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 503 X\r\ncontent-length: 0\r\n\r\n", 200, true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, false},
		{"HTTP/1.1 2", 0, false},
	}
	for _, tt := range tests {
		status, err := readResponse(bufio.NewReader(strings.NewReader(tt.in)))
		if (err == nil) != tt.ok || status != tt.status {
			t.Errorf("readResponse(%q) = %d, %v; want %d, ok=%v", tt.in, status, err, tt.status, tt.ok)
		}
	}
}

func TestBlastCountsAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	rps, failed, err := blast(srv.Listener.Addr().String(), 2, 100*time.Millisecond)
	if err != nil || failed != 0 || rps <= 0 {
		t.Errorf("blast = %v req/s, %d failures, %v; want answers and no failure", rps, failed, err)
	}
}

func TestRatio(t *testing.T) {
	for _, tt := range []struct{ a, b, want float64 }{{3, 2, 1.5}, {1, 3, 0.33}, {1, 0, 0}} {
		if got := ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRunLoadgen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	for _, spec := range []string{
		`{"kind":"blast","addr":"` + srv.Listener.Addr().String() + `","conns":2,"for":100000000}`,
		`{"kind":"rate","url":"` + srv.URL + `/","rate":100,"for":100000000}`,
	} {
		var out strings.Builder
		if err := runLoadgen(spec, &out); err != nil {
			t.Fatalf("runLoadgen(%s): %v", spec, err)
		}
		var res loadResult
		if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
			t.Fatalf("output %q: %v", out.String(), err)
		}
		if res.Failures != 0 || res.Error != "" || (res.RPS <= 0 && (res.Stats == nil || res.Stats.Requests == 0)) {
			t.Errorf("runLoadgen(%s) = %+v; want answers and no failure", spec, res)
		}
	}
	if err := runLoadgen(`{"kind":"nope"}`, io.Discard); err == nil {
		t.Errorf("unknown kind: no error")
	}
}

// TestRunFront serves each Go front before an instance, as the speed runs
// do, and checks that it proxies and stops when its stdin closes.
func TestRunFront(t *testing.T) {
	inst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "inst") }))
	defer inst.Close()
	for _, kind := range []string{"plain", "proxy"} {
		t.Run(kind, func(t *testing.T) {
			inR, inW := io.Pipe()
			outR, outW := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- runFront(kind, inst.URL, "", inR, outW) }()
			addr, err := bufio.NewReader(outR).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Timeout: 10 * time.Second}
			res, err := c.Get("http://" + strings.TrimSpace(addr) + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || string(b) != "inst" {
				t.Errorf("through %s: %d %q, want 200 inst", kind, res.StatusCode, b)
			}
			inW.Close()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("runFront: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("runFront did not return after stdin closed")
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRunFrontRoutes checks that the proxy front, given two instances,
// moves all traffic to the slot each line of stdin names and acknowledges
// each change, as the switch runs rely on.
func TestRunFrontRoutes(t *testing.T) {
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "a") }))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "b") }))
	defer b.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- runFront("proxy", a.URL+","+b.URL, "", inR, outW) }()
	out := bufio.NewReader(outR)
	addr, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	for _, slot := range []string{"B", "A", "B"} {
		if _, err := io.WriteString(inW, slot+"\n"); err != nil {
			t.Fatal(err)
		}
		if ack, err := out.ReadString('\n'); err != nil || ack != "ok\n" {
			t.Fatalf("route %s: ack %q, %v", slot, ack, err)
		}
		res, err := c.Get("http://" + strings.TrimSpace(addr) + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := strings.ToLower(slot); string(body) != want {
			t.Errorf("after route %s: answer %q, want %q", slot, body, want)
		}
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runFront: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runFront did not return after stdin closed")
	}
}
