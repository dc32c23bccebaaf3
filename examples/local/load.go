package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts the requests of one deployment by the version that served
// them.
type tally struct {
	mu        sync.Mutex
	byVersion map[string]int
	appErrors int // 5xx answered by an application (it set X-Version)
	failed    int // requests the proxy failed: refused, reset, or a 5xx of its own
	total     int
}

func newTally() *tally { return &tally{byVersion: map[string]int{}} }

func (t *tally) add(version string, status int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	switch {
	case err != nil || (status >= 500 && version == ""):
		t.failed++
	case status >= 500:
		t.appErrors++
		t.byVersion[version]++
	default:
		t.byVersion[version]++
	}
}

func (t *tally) snapshot() (total, failed, appErrors int, byVersion map[string]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]int, len(t.byVersion))
	for k, v := range t.byVersion {
		m[k] = v
	}
	return t.total, t.failed, t.appErrors, m
}

// load sends GET requests to url at a constant rate until ctx is done,
// counting each answer in the current tally. Requests are not retried, so
// every refused or dropped request counts as failed.
type load struct {
	url     string
	host    string // the Host header, for the proxy's host routing; url's if empty
	rate    int
	client  *http.Client
	current atomic.Pointer[tally]
	sent    atomic.Int64
	wg      sync.WaitGroup
}

func newLoad(url, host string, rate int) *load {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	l := &load{url: url, host: host, rate: rate, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	l.current.Store(newTally())
	return l
}

// run fires requests at the rate until ctx is done, then waits for those in
// flight. Each request is counted in the tally current when it was sent.
func (l *load) run(ctx context.Context) {
	interval := time.Second / time.Duration(l.rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			l.wg.Wait()
			return
		case <-tick.C:
			t := l.current.Load()
			l.sent.Add(1)
			l.wg.Go(func() { l.one(t) })
		}
	}
}

func (l *load) one(t *tally) {
	req, err := http.NewRequest(http.MethodGet, l.url, nil)
	if err != nil {
		t.add("", 0, err)
		return
	}
	req.Host = l.host
	resp, err := l.client.Do(req)
	if err != nil {
		t.add("", 0, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.add(resp.Header.Get("X-Version"), resp.StatusCode, nil)
}

// start runs l in the background until the returned stop is called; stop
// waits for the requests in flight.
func (l *load) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx) }()
	return func() { cancel(); <-done }
}

// loads are the load generators running at once, seen together.
type loads []*load

// snapshot adds up the current tallies of ls.
func (ls loads) snapshot() (total, failed, appErrors int) {
	for _, l := range ls {
		t, f, a, _ := l.current.Load().snapshot()
		total, failed, appErrors = total+t, failed+f, appErrors+a
	}
	return total, failed, appErrors
}

// sent counts the requests sent by ls so far.
func (ls loads) sent() int64 {
	var n int64
	for _, l := range ls {
		n += l.sent.Load()
	}
	return n
}
