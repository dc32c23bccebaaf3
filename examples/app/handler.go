package main

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxSlow bounds /slow?d=, so a typo cannot hold a connection for days.
const maxSlow = 10 * time.Minute

// app is the HTTP handler and its counters.
type app struct {
	version   string
	instance  string
	failPPM   uint64 // share of requests to fail, in millionths
	slow      time.Duration
	unhealthy bool

	requests atomic.Uint64 // requests subject to failure injection, counted from 1
	inFlight atomic.Int64

	stopping chan struct{}
	stopOnce sync.Once
}

func newApp(cfg config) *app {
	return &app{
		version:   cfg.version,
		instance:  cfg.instance,
		failPPM:   uint64(cfg.failRate*1e6 + 0.5),
		slow:      cfg.slow,
		unhealthy: cfg.unhealthy,
		stopping:  make(chan struct{}),
	}
}

// stop marks the app as shutting down: health checks fail and event
// streams end. It may be called more than once.
func (a *app) stop() { a.stopOnce.Do(func() { close(a.stopping) }) }

func (a *app) stopped() bool {
	select {
	case <-a.stopping:
		return true
	default:
		return false
	}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.health)
	mux.Handle("GET /{$}", a.faults(http.HandlerFunc(a.index)))
	mux.Handle("GET /slow", a.faults(http.HandlerFunc(a.slowHandler)))
	mux.Handle("GET /sse", a.faults(http.HandlerFunc(a.sse)))
	return a.common(mux)
}

// common sets the headers every response carries and counts requests in flight.
func (a *app) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		w.Header().Set("X-Version", a.version)
		w.Header().Set("X-Instance", a.instance)
		next.ServeHTTP(w, r)
	})
}

// shouldFail decides whether request number n (from 1) fails. It is a
// counter, not a coin: exactly floor(n*rate) of the first n requests fail,
// evenly spread, so tests can count on the share.
func (a *app) shouldFail(n uint64) bool {
	return n*a.failPPM/1e6 != (n-1)*a.failPPM/1e6
}

// faults applies the configured delay and failure share.
func (a *app) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.slow > 0 {
			t := time.NewTimer(a.slow)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if a.shouldFail(a.requests.Add(1)) {
			http.Error(w, "injected failure (fail-rate "+strconv.FormatFloat(float64(a.failPPM)/1e6, 'g', -1, 64)+")",
				http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *app) health(w http.ResponseWriter, _ *http.Request) {
	switch {
	case a.unhealthy:
		http.Error(w, "unhealthy, as told", http.StatusServiceUnavailable)
	case a.stopped():
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
	default:
		fmt.Fprintln(w, "ok")
	}
}

func (a *app) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, a.version)
}

// slowHandler answers after ?d (default 1s), or when the client leaves;
// with ?flush it sends the headers at once and the body after d. Shutdown
// does not cut it short: finishing it is what draining is about.
func (a *app) slowHandler(w http.ResponseWriter, r *http.Request) {
	d, err := durationParam(r, "d", time.Second)
	if err != nil || d > maxSlow {
		http.Error(w, fmt.Sprintf("bad d: want a duration from 0 to %v, such as 2s", maxSlow), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.URL.Query().Has("flush") {
		// Headers first, so that a client can tell the request is in flight.
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	fmt.Fprintf(w, "%s slept %v\n", a.version, d)
}

// sse streams an event every ?every (default 1s), ?n of them (default 0:
// until the client leaves or the server shuts down).
func (a *app) sse(w http.ResponseWriter, r *http.Request) {
	every, err := durationParam(r, "every", time.Second)
	if err != nil || every < time.Millisecond {
		http.Error(w, "bad every: want a duration of at least 1ms, such as 100ms", http.StatusBadRequest)
		return
	}
	n := 0
	if v := r.URL.Query().Get("n"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			http.Error(w, "bad n: want a count of events, 0 for no end", http.StatusBadRequest)
			return
		}
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; n == 0 || i <= n; i++ {
		if _, err := fmt.Fprintf(w, "id: %d\ndata: %s %d\n\n", i, a.version, i); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if n != 0 && i == n {
			return
		}
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		case <-a.stopping:
			fmt.Fprint(w, "event: bye\ndata: shutting down\n\n")
			_ = rc.Flush()
			return
		}
	}
}

func durationParam(r *http.Request, name string, def time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative")
	}
	return d, err
}
