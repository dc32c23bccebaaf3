package main

import (
	"bufio"
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
