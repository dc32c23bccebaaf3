package bluegreentest

import (
	"context"
	"slices"
	"sync"

	"github.com/bluegreen-go/bluegreen"
)

// RouterOptions configure a fake Router. The zero value is usable.
type RouterOptions struct {
	// VerifyLag is how many Verify calls after each SetRoutes report false
	// before the new routes count as in force, as a load balancer whose data
	// plane lags its API.
	VerifyLag int
	// Initial are routes already in force per service before any SetRoutes
	// (not part of History).
	Initial map[string]bluegreen.Routes
}

// Router is an in-memory bluegreen.Router and bluegreen.Verifier. It is safe
// for concurrent use, records every call (see Recorder) and fails the
// operations "SetRoutes", "Routes" and "Verify" on demand.
//
// SetRoutes refuses routes that fail bluegreen.Routes.Validate with that
// error unchanged (a *bluegreen.ConfigError, so errors.Is(err,
// bluegreen.ErrInvalid) holds) and changes nothing. Every routes it applies,
// even when unchanged, are appended to the service's History.
type Router struct {
	Recorder

	lag int

	mu       sync.Mutex
	services map[string]*routed
}

type routed struct {
	routes  bluegreen.Routes
	history []bluegreen.Routes
	lag     int // Verify calls still to answer false
}

// NewRouter returns a fake Router.
func NewRouter(opts RouterOptions) *Router {
	r := &Router{lag: opts.VerifyLag, services: map[string]*routed{}}
	for s, routes := range opts.Initial {
		r.services[s] = &routed{routes: routes}
	}
	return r
}

// service returns the state of s, creating it. Call with r.mu held.
func (r *Router) service(s string) *routed {
	st, ok := r.services[s]
	if !ok {
		st = &routed{}
		r.services[s] = st
	}
	return st
}

// SetRoutes validates and applies routes for service.
func (r *Router) SetRoutes(ctx context.Context, service string, routes bluegreen.Routes) error {
	if err := r.record(ctx, Call{Op: "SetRoutes", Service: service, Detail: routes.String(), Arg: routes}); err != nil {
		return err
	}
	if err := routes.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.service(service)
	st.routes = routes
	st.history = append(st.history, routes)
	st.lag = r.lag
	return nil
}

// Routes returns the routes of service; the zero Routes if none were set.
func (r *Router) Routes(ctx context.Context, service string) (bluegreen.Routes, error) {
	if err := r.record(ctx, Call{Op: "Routes", Service: service}); err != nil {
		return bluegreen.Routes{}, err
	}
	return r.Current(service), nil
}

// Verify reports whether routes are the routes of service and the verify
// lag since they were set has passed.
func (r *Router) Verify(ctx context.Context, service string, routes bluegreen.Routes) (bool, error) {
	if err := r.record(ctx, Call{Op: "Verify", Service: service, Detail: routes.String(), Arg: routes}); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.service(service)
	if st.lag > 0 {
		st.lag--
		return false, nil
	}
	return st.routes == routes, nil
}

// Current returns the routes of service without recording a call.
func (r *Router) Current(service string) bluegreen.Routes {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.services[service]; ok {
		return st.routes
	}
	return bluegreen.Routes{}
}

// History returns every routes SetRoutes applied for service, in order.
func (r *Router) History(service string) []bluegreen.Routes {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.services[service]; ok {
		return slices.Clone(st.history)
	}
	return nil
}

var (
	_ bluegreen.Router   = (*Router)(nil)
	_ bluegreen.Verifier = (*Router)(nil)
)
