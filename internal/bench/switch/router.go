package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy"
)

// timedRouter is the proxy, timing how soon an environment serves its first
// request after SetRoutes gives it production weight it did not have.
type timedRouter struct {
	*proxy.Proxy
	measure atomic.Bool

	mu    sync.Mutex
	delay []time.Duration
}

// SetRoutes applies r and, when a slot gains production weight, watches for
// its first request.
func (t *timedRouter) SetRoutes(ctx context.Context, service string, r bluegreen.Routes) error {
	before, err := t.Proxy.Routes(ctx, service)
	if err != nil {
		return err
	}
	type watch struct {
		slot bluegreen.Slot
		n    uint64
	}
	var watches []watch
	if t.measure.Load() {
		for _, s := range []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB} {
			if before.Production.Of(s) == 0 && r.Production.Of(s) > 0 {
				m, _ := t.Proxy.Metrics(ctx, service, s)
				watches = append(watches, watch{s, m.Requests})
			}
		}
	}
	if err := t.Proxy.SetRoutes(ctx, service, r); err != nil {
		return err
	}
	changed := time.Now()
	for _, w := range watches {
		go t.watch(service, w.slot, w.n, changed)
	}
	return nil
}

// watch polls the slot's request count until it grows.
func (t *timedRouter) watch(service string, slot bluegreen.Slot, n uint64, since time.Time) {
	ctx := context.Background()
	deadline := since.Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := t.Proxy.Metrics(ctx, service, slot); m.Requests+uint64(m.InFlight) > n {
			t.mu.Lock()
			t.delay = append(t.delay, time.Since(since))
			t.mu.Unlock()
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// distribution summarizes durations, in milliseconds.
type distribution struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	Max   float64 `json:"max"`
}

func (t *timedRouter) firstGreen() distribution {
	t.mu.Lock()
	d := slices.Clone(t.delay)
	t.mu.Unlock()
	if len(d) == 0 {
		return distribution{}
	}
	slices.Sort(d)
	return distribution{Count: len(d), P50: ms(d[len(d)/2]), Max: ms(d[len(d)-1])}
}
