package proxy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/proxy/internal/check"
)

// TargetRegistrar is what a compute backend needs from a proxy: to say where
// an environment's instances listen, and to take them out of service before
// stopping them. *Proxy and *Client implement it; a backend declares the
// methods it uses in an interface of its own (local.Targets is SetTargets
// alone), so it need not import this package.
//
// The order a backend follows:
//
//	ScaleUp:   start instances, wait until they listen, then SetTargets(ctx, svc, slot, addrs)
//	ScaleDown: SetTargets(ctx, svc, slot, nil), then stop the instances
//
// SetTargets(nil) returns once the instances' requests in flight have
// finished (or the deregistration delay cut them), so stopping them loses
// nothing. Drain does the same for a whole slot while leaving its instances
// registered. The Deployer has already set the environment's production
// weight to 0 before it calls ScaleDown.
type TargetRegistrar interface {
	// SetTargets replaces the instances of a service's slot with addrs
	// ("host:port" or "http://host:port"). Instances kept keep their health
	// state. Instances removed get no new requests at once, and SetTargets
	// returns when their requests in flight have finished, or when the
	// deregistration delay has passed and they were canceled. An empty list
	// removes every instance. It is idempotent.
	SetTargets(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error
	// Drain takes the slot out of service (no new requests, test traffic
	// included) and waits until its requests in flight finish, or until the
	// service's deregistration delay passes and they are canceled. It fails
	// with bluegreen.ErrFailedPrecondition while the slot still has
	// production weight. Draining a slot with nothing in flight, or of an
	// unknown service, returns at once.
	Drain(ctx context.Context, service string, slot bluegreen.Slot) error
}

// SetTargets replaces the instances of service's slot with addrs, creating
// the service if needed. Instances removed get no new requests at once, and
// SetTargets returns when their requests in flight have finished, or when
// the deregistration delay has passed and they were canceled; so a compute
// backend may stop them as soon as it returns. When the new instances share
// none with the old (a new environment in the slot), the slot's error-rate
// window starts afresh and a drain of the slot ends.
func (p *Proxy) SetTargets(ctx context.Context, service string, slot bluegreen.Slot, addrs []string) error {
	if err := checkServiceName("service", service); err != nil {
		return err
	}
	if err := checkSlot("slot", slot); err != nil {
		return err
	}
	norm, err := normalizeTargets(addrs)
	if err != nil {
		return err
	}
	removed, delay, err := p.setTargets(service, slot, norm)
	if err != nil || len(removed) == 0 {
		return err
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for _, t := range removed {
		if err := t.waitGone(ctx, timer.C); err != nil {
			return err
		}
	}
	return nil
}

// setTargets installs the instances and returns those removed, with the
// service's deregistration delay.
func (p *Proxy) setTargets(service string, slot bluegreen.Slot, norm []string) ([]*target, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, ErrClosed
	}
	svc, created := p.getService(service)
	i := slotIndex(slot)
	oldAddrs := svc.addrs[i]
	svc.addrs[i] = norm
	if err := p.save(); err != nil {
		svc.addrs[i] = oldAddrs
		if created {
			delete(p.services, service)
		}
		return nil, 0, err
	}
	pl := svc.pools[i]
	old := *pl.targets.Load()
	next := make([]*target, 0, len(norm))
	var added, removed []*target
	for _, a := range norm {
		j := slices.IndexFunc(old, func(t *target) bool { return t.addr == a })
		if j >= 0 {
			next = append(next, old[j])
			continue
		}
		t := newTarget(pl, a)
		next = append(next, t)
		added = append(added, t)
	}
	pl.targets.Store(&next)
	for _, t := range old {
		if !slices.Contains(next, t) {
			t.remove()
			removed = append(removed, t)
		}
	}
	for _, t := range added {
		p.startChecks(t)
	}
	if len(norm) > 0 && len(added) == len(norm) {
		pl.metrics.window.reset()
		pl.undrain()
	}
	if created {
		p.publish()
	}
	if len(added) > 0 || len(removed) > 0 {
		p.log.Info("proxy: targets set", "service", service, "slot", slot, "targets", norm)
	}
	return removed, svc.config.Load().DeregistrationDelay, nil
}

func normalizeTargets(addrs []string) ([]string, error) { return check.Targets(addrs) }

// Drain takes service's slot out of service and waits for its requests in
// flight, up to the deregistration delay (see TargetRegistrar).
func (p *Proxy) Drain(ctx context.Context, service string, slot bluegreen.Slot) error {
	if err := checkServiceName("service", service); err != nil {
		return err
	}
	if err := checkSlot("slot", slot); err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	svc := p.services[service]
	if svc == nil {
		p.mu.Unlock()
		return nil
	}
	if w := svc.routes.Production.Of(slot); w > 0 {
		p.mu.Unlock()
		return bluegreen.NewError(bluegreen.CodeFailedPrecondition, fmt.Errorf(
			"proxy: drain %s slot %s: it still has %v of production traffic; set its weight to 0 first", service, slot, w))
	}
	pl := svc.pools[slotIndex(slot)]
	if !pl.draining.Swap(true) {
		p.log.Info("proxy: draining", "service", service, "slot", slot, "inFlight", pl.inflight.Load())
	}
	delay := svc.config.Load().DeregistrationDelay
	p.mu.Unlock()
	return pl.waitIdle(ctx, delay)
}

// Targets reports the instances of service's slot and their health.
func (p *Proxy) Targets(ctx context.Context, service string, slot bluegreen.Slot) ([]TargetStatus, error) {
	pl, err := p.pool(service, slot)
	if pl == nil || err != nil {
		return []TargetStatus{}, err
	}
	return pl.status(), nil
}

// Metrics returns the metrics of service's slot; zero counters for an
// unknown service.
func (p *Proxy) Metrics(ctx context.Context, service string, slot bluegreen.Slot) (Metrics, error) {
	pl, err := p.pool(service, slot)
	if err != nil {
		return Metrics{}, err
	}
	if pl == nil {
		return Metrics{Service: service, Slot: slot, Latency: (&envMetrics{}).histogram()}, nil
	}
	return pl.snapshot(), nil
}

// ErrorWindow returns the outcome of the latest n requests (at most
// Options.ErrorWindow; 0 for all it holds) served by service's slot since its instances were
// last replaced. Error-rate monitors read it.
func (p *Proxy) ErrorWindow(ctx context.Context, service string, slot bluegreen.Slot, n int) (Window, error) {
	pl, err := p.pool(service, slot)
	if pl == nil || err != nil {
		return Window{}, err
	}
	return pl.metrics.window.last(n), nil
}

func (p *Proxy) pool(service string, slot bluegreen.Slot) (*pool, error) {
	if err := checkServiceName("service", service); err != nil {
		return nil, err
	}
	if err := checkSlot("slot", slot); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if svc := p.services[service]; svc != nil {
		return svc.pools[slotIndex(slot)], nil
	}
	return nil, nil
}
