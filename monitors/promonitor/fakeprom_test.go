package promonitor_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// answer is what the fake Prometheus answers a query with: a vector (the
// samples, with labels), a scalar, or an error (Prometheus's errorType).
type answer struct {
	vector    []sample
	scalar    *float64
	errorType string
	err       string
}

type sample struct {
	labels map[string]string
	value  float64
}

func vector(values ...float64) answer {
	a := answer{vector: []sample{}}
	for i, v := range values {
		a.vector = append(a.vector, sample{map[string]string{"instance": fmt.Sprintf("10.0.0.%d:8080", i+1)}, v})
	}
	return a
}

func scalar(v float64) answer { return answer{scalar: &v} }

// fakeProm is a fake of Prometheus's instant query API: it reads the form
// values query and time as Prometheus does (URL query and, for POST, the
// form-encoded body), answers each query with the function registered for
// its exact text, evaluated at the request's time, and writes Prometheus's
// JSON shapes. An unknown query is a parse error (bad_data, 400), as an
// unknown function would be.
type fakeProm struct {
	mu       sync.Mutex
	queries  map[string]func(at time.Time) answer
	requests []request
	// user/password or token, if set, are required.
	user, password, token string
}

// request is what the fake saw of one request.
type request struct {
	method, query, timeout string
	at                     time.Time
	header                 http.Header
}

func newFakeProm() *fakeProm { return &fakeProm{queries: map[string]func(time.Time) answer{}} }

// set makes query answer fn(at).
func (f *fakeProm) set(query string, fn func(at time.Time) answer) {
	f.mu.Lock()
	f.queries[query] = fn
	f.mu.Unlock()
}

// setAnswer makes query answer a.
func (f *fakeProm) setAnswer(query string, a answer) {
	f.set(query, func(time.Time) answer { return a })
}

func (f *fakeProm) seen() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

// serve starts the fake on 127.0.0.1 for the test.
func (f *fakeProm) serve(t testing.TB) string {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if f.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.password {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, "bad_data", err.Error())
		return
	}
	at := time.Now()
	if ts := r.FormValue("time"); ts != "" {
		var err error
		if at, err = parseTime(ts); err != nil {
			writeError(w, "bad_data", fmt.Sprintf("invalid parameter \"time\": %v", err))
			return
		}
	}
	q := r.FormValue("query")
	f.mu.Lock()
	f.requests = append(f.requests, request{r.Method, q, r.FormValue("timeout"), at, r.Header.Clone()})
	fn, ok := f.queries[q]
	f.mu.Unlock()
	if q == "" {
		writeError(w, "bad_data", "invalid parameter \"query\": unknown position: parse error: no expression found in input")
		return
	}
	if !ok {
		writeError(w, "bad_data", fmt.Sprintf("invalid parameter \"query\": 1:1: parse error: unknown query %q", q))
		return
	}
	a := fn(at)
	if a.errorType != "" {
		writeError(w, a.errorType, a.err)
		return
	}
	ts := json.Number(strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', -1, 64))
	var data any
	if a.scalar != nil {
		data = map[string]any{"resultType": "scalar", "result": []any{ts, formatSample(*a.scalar)}}
	} else {
		result := []any{}
		for _, s := range a.vector {
			result = append(result, map[string]any{"metric": s.labels, "value": []any{ts, formatSample(s.value)}})
		}
		data = map[string]any{"resultType": "vector", "result": result}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}

// parseTime reads a time parameter as Prometheus does: Unix seconds with
// an optional fraction, or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// formatSample writes a value as Prometheus does: NaN, +Inf, -Inf or a
// decimal.
func formatSample(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// writeError writes a status: error answer with the HTTP status Prometheus
// uses for its errorType.
func writeError(w http.ResponseWriter, typ, msg string) {
	status := map[string]int{"bad_data": 400, "execution": 422, "canceled": 503, "timeout": 503, "internal": 500,
		"unavailable": 503, "not_found": 404}[typ]
	if status == 0 {
		status = 500
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": typ, "error": msg})
}

// inProcess is an http.RoundTripper that hands requests to a handler in
// the calling goroutine, without a socket, for tests in a synctest bubble.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// newServer serves h on 127.0.0.1 for the test.
func newServer(t testing.TB, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
