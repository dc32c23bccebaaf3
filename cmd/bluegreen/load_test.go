package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync"
	"time"
)

// load sends requests through the proxy at a steady rate and counts the
// versions that answer and the requests that fail. A request fails if it
// gets no answer, or a 5xx answer without an X-Version header (one the proxy
// made, not the app).
type load struct {
	url    string
	client *http.Client

	mu        sync.Mutex
	total     int
	failed    int
	failures  []string // the first few, for the report
	byVersion map[string]int
	// appErrors counts 5xx answers an instance gave on purpose (they carry
	// X-Version): not failures of the deployment, but what a bad green did
	// to users.
	appErrors int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// loadStats is a snapshot of a load's counters.
type loadStats struct {
	total, failed, appErrors int
	byVersion                map[string]int
}

func newLoad(url string) *load {
	return &load{url: url, byVersion: map[string]int{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// once sends one request and returns the version that answered.
func (l *load) once(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url, nil)
	if err != nil {
		return "", err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	v := resp.Header.Get("X-Version")
	if resp.StatusCode >= 500 && v == "" {
		return "", fmt.Errorf("HTTP %d without X-Version: %q", resp.StatusCode, body)
	}
	if resp.StatusCode >= 500 {
		l.mu.Lock()
		l.appErrors++
		l.mu.Unlock()
	}
	return v, nil
}

// start sends rate requests per second from workers concurrent loops until stop.
func (l *load) start(rate, workers int) {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	every := time.Duration(workers) * time.Second / time.Duration(rate)
	for range workers {
		l.wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				v, err := l.once(ctx)
				if ctx.Err() != nil {
					return // stopped mid-request: not the service's fault
				}
				l.mu.Lock()
				l.total++
				if err != nil {
					l.failed++
					if len(l.failures) < 10 {
						l.failures = append(l.failures, time.Now().Format("15:04:05.000")+" "+err.Error())
					}
				} else {
					l.byVersion[v]++
				}
				l.mu.Unlock()
			}
		})
	}
}

// stop stops the load and waits for its requests in flight.
func (l *load) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
}

func (l *load) snapshot() loadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadStats{total: l.total, failed: l.failed, appErrors: l.appErrors, byVersion: maps.Clone(l.byVersion)}
}

func (l *load) failureSamples() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.failures...)
}

// since returns the requests counted between s0 and s.
func (s loadStats) since(s0 loadStats) loadStats {
	d := loadStats{total: s.total - s0.total, failed: s.failed - s0.failed, byVersion: map[string]int{}}
	for v, n := range s.byVersion {
		if n -= s0.byVersion[v]; n > 0 {
			d.byVersion[v] = n
		}
	}
	return d
}

// waitRequests waits until the load has sent n more requests than in s0.
func (l *load) waitRequests(s0 loadStats, n int, timeout time.Duration) (loadStats, bool) {
	deadline := time.Now().Add(timeout)
	for {
		s := l.snapshot()
		if s.total-s0.total >= n {
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(20 * time.Millisecond) // polling counters; the deadline bounds it
	}
}
