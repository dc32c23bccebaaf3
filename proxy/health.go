package proxy

import (
	"context"
	"io"
	"net/http"
	"time"
)

// startChecks starts the active health checker of t if its service has a
// health check path. Call with Proxy.mu held.
func (p *Proxy) startChecks(t *target) {
	hc := t.pool.healthCheck()
	if hc.Path == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone.Load() || t.checkStop != nil {
		return
	}
	stop := make(chan struct{})
	t.checkStop = stop
	p.checkers.Add(1)
	go func() {
		defer p.checkers.Done()
		p.runChecks(t, hc, stop)
	}()
}

// runChecks checks t every hc.Interval, starting at once, and flips its
// health after HealthyThreshold consecutive successes or UnhealthyThreshold
// consecutive failures, as an ALB target group does.
func (p *Proxy) runChecks(t *target, hc HealthCheck, stop <-chan struct{}) {
	ticker := time.NewTicker(hc.Interval)
	defer ticker.Stop()
	url := t.addr + hc.Path
	// ctx ends a probe in progress when the checker stops.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		select {
		case <-stop:
		case <-p.done:
		case <-ctx.Done():
		}
	}()
	var successes, failures int
	for {
		ok := p.probe(ctx, url, hc.Timeout)
		if t.refused.Swap(false) {
			// A refused connection took t out; it must earn its way back.
			successes = 0
		}
		if ok {
			successes, failures = successes+1, 0
			if successes >= hc.HealthyThreshold && !t.up.Load() {
				t.up.Store(true)
				p.log.Info("proxy: instance healthy", "service", t.pool.service, "slot", t.pool.slot, "target", t.addr)
			}
		} else {
			successes, failures = 0, failures+1
			if failures >= hc.UnhealthyThreshold && t.up.Load() {
				t.up.Store(false)
				p.log.Warn("proxy: instance unhealthy", "service", t.pool.service, "slot", t.pool.slot, "target", t.addr)
			}
		}
		select {
		case <-stop:
			return
		case <-p.done:
			return
		case <-ticker.C:
		}
	}
}

// probe reports whether url answers a GET with a 2xx or 3xx status within
// timeout.
func (p *Proxy) probe(ctx context.Context, url string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "bluegreen-proxy/health")
	res, err := p.health.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode >= 200 && res.StatusCode < 400
}
