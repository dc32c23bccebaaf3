package proxy

import (
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// latencyBounds are the upper bounds of the latency histogram's buckets; a
// last bucket counts what is slower.
var latencyBounds = [...]time.Duration{
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// statusClientGone is recorded for requests whose client went away before an
// answer; like nginx's 499 it is neither a success nor a server error.
const statusClientGone = 499

// Metrics are the counters of one environment (a service's slot), since the
// proxy started.
type Metrics struct {
	// Service and Slot name the environment.
	Service string         `json:"service"`
	Slot    bluegreen.Slot `json:"slot"`
	// Requests counts the requests answered.
	Requests uint64 `json:"requests"`
	// Errors counts the requests answered with a 5xx status, by the instance
	// or by the proxy (502 when no instance could be reached).
	Errors uint64 `json:"errors"`
	// InFlight is the number of requests being served now.
	InFlight int64 `json:"inFlight"`
	// Unsolicited counts the answers of the environment's instances that
	// were followed by bytes nobody asked for (a HEAD, 204 or 304 answer
	// with a body, or a second answer): the connection they came on was
	// closed instead of reused, so no other request could take them for its
	// answer.
	Unsolicited uint64 `json:"unsolicited"`
	// Latency is the distribution of the time to serve a request, until its
	// response body ended.
	Latency Histogram `json:"latency"`
}

// Histogram is a latency distribution.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending.
	Bounds []time.Duration `json:"bounds"`
	// Counts holds the number of observations per bucket (not cumulative):
	// Counts[i] are those at most Bounds[i] and above the bound before;
	// the last, extra element counts those above every bound.
	Counts []uint64 `json:"counts"`
	// Sum is the total of all observations.
	Sum time.Duration `json:"sum"`
}

// Window is the recent outcome of an environment's requests, as error-rate
// monitors read it.
type Window struct {
	// Requests is the number of requests in the window: the latest ones,
	// since the environment's instances were last replaced.
	Requests int `json:"requests"`
	// Errors is how many of them were answered with a 5xx status.
	Errors int `json:"errors"`
}

// envMetrics holds an environment's counters; every field is updated with
// atomics so the request path never takes a lock.
type envMetrics struct {
	requests    atomic.Uint64
	errors      atomic.Uint64
	unsolicited atomic.Uint64
	sum         atomic.Int64
	buckets     [len(latencyBounds) + 1]atomic.Uint64
	window      outcomeWindow
}

func (m *envMetrics) record(status int, d time.Duration) {
	m.requests.Add(1)
	failed := status >= 500 && status <= 599
	if failed {
		m.errors.Add(1)
	}
	m.sum.Add(int64(d))
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	m.buckets[i].Add(1)
	if status != statusClientGone {
		m.window.add(failed)
	}
}

func (m *envMetrics) histogram() Histogram {
	h := Histogram{Bounds: latencyBounds[:], Counts: make([]uint64, len(m.buckets)), Sum: time.Duration(m.sum.Load())}
	for i := range m.buckets {
		h.Counts[i] = m.buckets[i].Load()
	}
	return h
}

// outcomeWindow is a ring of the latest request outcomes. Each cell holds
// (sequence number+1)<<1 | failed, so a reader can tell a cell written in
// this lap from one that is stale or still being written, without locks.
type outcomeWindow struct {
	cells []atomic.Uint64
	next  atomic.Uint64 // sequence number of the next outcome
	start atomic.Uint64 // sequence number of the first outcome counted
}

func newOutcomeWindow(size int) outcomeWindow {
	return outcomeWindow{cells: make([]atomic.Uint64, size)}
}

func (w *outcomeWindow) add(failed bool) {
	i := w.next.Add(1) - 1
	v := (i + 1) << 1
	if failed {
		v |= 1
	}
	w.cells[i%uint64(len(w.cells))].Store(v)
}

// reset forgets every outcome so far: the environment's instances changed.
func (w *outcomeWindow) reset() { w.start.Store(w.next.Load()) }

// last returns the outcomes of the latest n requests since the last reset;
// n is capped by the window's size, and 0 or less means the whole window.
func (w *outcomeWindow) last(n int) Window {
	size := uint64(len(w.cells))
	end := w.next.Load()
	from := w.start.Load()
	if n <= 0 || uint64(n) > size {
		n = int(size)
	}
	if end > uint64(n) && end-uint64(n) > from {
		from = end - uint64(n)
	}
	var out Window
	for i := from; i < end; i++ {
		v := w.cells[i%size].Load()
		if v>>1 != i+1 {
			continue // not written yet, or overwritten by a later lap
		}
		out.Requests++
		out.Errors += int(v & 1)
	}
	return out
}
