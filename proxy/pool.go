package proxy

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen"
)

// pool is the environment in one slot of a service: its instances, the
// requests in flight on them, and its metrics. A pool lives as long as its
// service; the instances in it change with SetTargets.
type pool struct {
	proxy   *Proxy
	svc     *service
	service string
	slot    bluegreen.Slot

	targets  atomic.Pointer[[]*target] // never nil; replaced whole, never changed in place
	next     atomic.Uint64             // round-robin position
	inflight atomic.Int64
	draining atomic.Bool          // no new requests; set by Drain, cleared when the slot returns to service
	idle     chan struct{}        // receives when inflight drops to 0 while draining
	kill     atomic.Pointer[kill] // parent of the targets' kills; canceled when a drain's deadline passes

	metrics envMetrics
}

// kill cancels the requests in flight on a pool when its drain runs out of time.
type kill struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newKill() *kill { return newKillUnder(context.Background()) }

func newKillUnder(parent context.Context) *kill {
	ctx, cancel := context.WithCancel(parent)
	return &kill{ctx, cancel}
}

func newPool(px *Proxy, svc *service, slot bluegreen.Slot) *pool {
	pl := &pool{proxy: px, svc: svc, service: svc.name, slot: slot, idle: make(chan struct{}, 1)}
	pl.targets.Store(&[]*target{})
	pl.kill.Store(newKill())
	pl.metrics.window = newOutcomeWindow(px.opts.ErrorWindow)
	return pl
}

// acquire counts a new request in flight, unless the pool is draining.
// Incrementing before checking the flag (and Drain setting the flag before
// reading the count) means that either the request sees the drain and backs
// off, or the drain sees the request and waits for it.
func (pl *pool) acquire() bool {
	pl.inflight.Add(1)
	if pl.draining.Load() {
		pl.release()
		return false
	}
	return true
}

func (pl *pool) release() {
	if pl.inflight.Add(-1) == 0 && pl.draining.Load() {
		select {
		case pl.idle <- struct{}{}:
		default:
		}
	}
}

// pick returns the next healthy instance in round-robin order. When none is
// healthy it returns one anyway, failing open as an ALB target group does:
// health checks lag, and an answer may still come. Nil when there are no
// instances.
func (pl *pool) pick() *target {
	ts := *pl.targets.Load()
	n := uint64(len(ts))
	if n == 0 {
		return nil
	}
	start := pl.next.Add(1)
	for i := range n {
		if t := ts[(start+i)%n]; t.up.Load() {
			return t
		}
	}
	return ts[start%n]
}

// pickExcept returns a healthy instance not in tried, or nil.
func (pl *pool) pickExcept(tried []*target) *target {
	ts := *pl.targets.Load()
	n := uint64(len(ts))
	start := pl.next.Add(1)
next:
	for i := range n {
		t := ts[(start+i)%n]
		if !t.up.Load() {
			continue
		}
		for _, x := range tried {
			if x == t {
				continue next
			}
		}
		return t
	}
	return nil
}

func (pl *pool) healthCheck() HealthCheck { return pl.svc.config.Load().HealthCheck }

// undrain puts the pool back in service. Call with Proxy.mu held.
func (pl *pool) undrain() {
	if !pl.draining.Swap(false) {
		return
	}
	if pl.kill.Load().ctx.Err() != nil {
		// The last drain ran out of time and canceled everything under
		// the old kill; the instances kept need fresh ones.
		k := newKill()
		pl.kill.Store(k)
		for _, t := range *pl.targets.Load() {
			t.kill.Store(newKillUnder(k.ctx))
		}
	}
	pl.proxy.log.Info("proxy: environment back in service", "service", pl.service, "slot", pl.slot)
}

// waitIdle waits until no request is in flight on the draining pool. When
// delay passes first, the requests still in flight are canceled (their
// connections, WebSockets included, are closed), as ALB does at the end of a
// deregistration delay; waitIdle then gives them a moment to unwind.
func (pl *pool) waitIdle(ctx context.Context, delay time.Duration) error {
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for pl.inflight.Load() > 0 {
		select {
		case <-pl.idle:
		case <-ctx.Done():
			return fmt.Errorf("proxy: drain %s slot %s: %d requests still in flight: %w", pl.service, pl.slot, pl.inflight.Load(), ctx.Err())
		case <-pl.proxy.done:
			return fmt.Errorf("proxy: drain %s slot %s: %w", pl.service, pl.slot, ErrClosed)
		case <-timer.C:
			n := pl.inflight.Load()
			pl.proxy.log.Warn("proxy: deregistration delay passed; canceling requests still in flight",
				"service", pl.service, "slot", pl.slot, "delay", delay, "inFlight", n)
			pl.cut()
			return waitZero(ctx, &pl.inflight, pl.idle)
		}
	}
	return nil
}

// cut ends the requests in flight on pl: its drain ran out of time.
// Canceling the pool's kill cancels its targets' (the ReverseProxy path);
// closing their connections ends the fast path's requests.
func (pl *pool) cut() {
	pl.kill.Load().cancel()
	for _, t := range *pl.targets.Load() {
		t.conns.closeAll()
	}
}

// unwindTimeout bounds the wait for canceled requests to return.
const unwindTimeout = 2 * time.Second

// waitZero waits, up to unwindTimeout, for a count of requests in flight
// to drop to zero; idle receives when it does.
func waitZero(ctx context.Context, n *atomic.Int64, idle <-chan struct{}) error {
	timer := time.NewTimer(unwindTimeout)
	defer timer.Stop()
	for n.Load() > 0 {
		select {
		case <-idle:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (pl *pool) status() []TargetStatus {
	ts := *pl.targets.Load()
	out := make([]TargetStatus, len(ts))
	for i, t := range ts {
		out[i] = TargetStatus{Addr: t.addr, Healthy: t.up.Load()}
	}
	return out
}

func (pl *pool) snapshot() Metrics {
	return Metrics{
		Service:     pl.service,
		Slot:        pl.slot,
		Requests:    pl.metrics.requests.Load(),
		Errors:      pl.metrics.errors.Load(),
		InFlight:    pl.inflight.Load(),
		Unsolicited: pl.metrics.unsolicited.Load(),
		Latency:     pl.metrics.histogram(),
	}
}
