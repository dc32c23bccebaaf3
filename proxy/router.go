package proxy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bluegreen-go/bluegreen"
)

// SetRoutes applies r to service in one atomic step: requests that arrive
// after SetRoutes returns are routed by r; requests already in flight finish
// where they are. A service not seen before is created with
// Options.Defaults. An environment that gets production weight or the test
// route is back in service if it was draining.
//
// Invalid routes are refused with the bluegreen.Routes.Validate error and
// change nothing.
func (p *Proxy) SetRoutes(ctx context.Context, service string, r bluegreen.Routes) error {
	if err := checkServiceName("service", service); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	svc, created := p.getService(service)
	old := svc.routes
	svc.routes = r
	if err := p.save(); err != nil {
		svc.routes = old
		if created {
			delete(p.services, service)
		}
		return err
	}
	for i, s := range slots {
		if r.Production.Of(s) > 0 || r.Test == s {
			svc.pools[i].undrain()
		}
	}
	if old.Production.B != r.Production.B {
		svc.next.Store(firstPick(uint64(old.Production.B), uint64(r.Production.B)))
	}
	p.publish()
	if old != r {
		p.log.Info("proxy: routes set", "service", service, "routes", r.String(), "gen", p.gen)
	}
	return nil
}

// Routes returns the routes in force for service; the zero Routes for a
// service never routed.
func (p *Proxy) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	if err := checkServiceName("service", service); err != nil {
		return bluegreen.Routes{}, err
	}
	if e := p.table.Load().byName[service]; e != nil {
		return e.routes, nil
	}
	return bluegreen.Routes{}, nil
}

// Verify reports whether r is what the request path uses for service: the
// routes of the routing table requests read now. SetRoutes publishes its
// table before it returns, so in one process Verify confirms at once; through
// a Client it confirms that the daemon's data plane, not only its admin API,
// has the routes.
func (p *Proxy) Verify(ctx context.Context, service string, r bluegreen.Routes) (bool, error) {
	cur, err := p.Routes(ctx, service)
	if err != nil {
		return false, err
	}
	return cur == r, nil
}

// ConfigureService sets how service is served, creating it if needed. Zero
// fields of cfg take the values of Options.Defaults (so a default header rule
// or sticky cookie cannot be turned off for one service). Hosts must not be
// claimed by another service. Health checks of the service's instances
// restart with the new settings.
func (p *Proxy) ConfigureService(ctx context.Context, service string, cfg ServiceConfig) error {
	if err := checkServiceName("service", service); err != nil {
		return err
	}
	resolved := cfg.withDefaults(p.opts.Defaults)
	resolved.Hosts = normalizeHosts(cfg.Hosts)
	if err := resolved.validate("ServiceConfig"); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	for name, other := range p.services {
		if name == service {
			continue
		}
		for _, h := range other.config.Load().Hosts {
			if slices.Contains(resolved.Hosts, h) {
				return fieldError("ServiceConfig.Hosts", fmt.Sprintf("host %q already routes to service %q", h, name),
					"give each host to one service")
			}
		}
	}
	svc, created := p.getService(service)
	oldExplicit, oldCfg := svc.explicit, svc.config.Load()
	explicit := cfg
	explicit.Hosts = resolved.Hosts
	svc.explicit = &explicit
	svc.config.Store(&resolved)
	if err := p.save(); err != nil {
		svc.explicit = oldExplicit
		svc.config.Store(oldCfg)
		if created {
			delete(p.services, service)
		}
		return err
	}
	p.publish()
	for _, pl := range svc.pools {
		for _, t := range *pl.targets.Load() {
			t.stopChecks()
			p.startChecks(t)
		}
	}
	return nil
}

// ServiceConfig returns the configuration in force for service, with
// defaults filled in; Options.Defaults for a service not configured.
func (p *Proxy) ServiceConfig(ctx context.Context, service string) (ServiceConfig, error) {
	if err := checkServiceName("service", service); err != nil {
		return ServiceConfig{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if svc := p.services[service]; svc != nil {
		return *svc.config.Load(), nil
	}
	cfg := p.opts.Defaults
	cfg.Hosts = nil
	return cfg, nil
}

// Services returns the names of the services the proxy knows, sorted.
func (p *Proxy) Services(ctx context.Context) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := make([]string, 0, len(p.services))
	for n := range p.services {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func normalizeHosts(hosts []string) []string {
	if len(hosts) == 0 {
		return nil
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
