package bluegreentest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	gocmp "github.com/google/go-cmp/cmp"
)

// RouterHarness is what TestRouter needs of a router, built fresh for every
// subtest.
type RouterHarness struct {
	// Router is the router under test.
	Router bluegreen.Router
	// Services are one or more services already set up to be routed (two
	// or more enable the subtest of their independence).
	Services []string
	// Initial are the routes every service reports before any SetRoutes:
	// the zero Routes for a router that starts with nothing routed.
	Initial bluegreen.Routes
	// VerifyTimeout bounds the wait for Verify to report true, if Router
	// implements bluegreen.Verifier; 30s if zero.
	VerifyTimeout time.Duration
	// PollInterval is the time between Verify calls; 50ms if zero.
	PollInterval time.Duration
}

// TestRouter runs the conformance tests of bluegreen.Router (and of
// bluegreen.Verifier, if the router implements it) against the router
// newHarness builds; it calls newHarness once per subtest. The contract:
//
//   - Routes reports the harness's initial routes before any SetRoutes.
//   - Routes returns exactly what SetRoutes applied, at 0.1% resolution
//     (A=99.9% B=0.1% stays that), with the test route.
//   - SetRoutes refuses routes that fail bluegreen.Routes.Validate (weights
//     outside 0..1000, weights not summing to 1000, an unknown test slot)
//     with an error for which errors.Is(err, bluegreen.ErrInvalid) holds,
//     and leaves the routes as they were.
//   - SetRoutes is idempotent.
//   - A Verifier eventually reports true for the routes last set, and
//     false for routes not in force.
//   - Services are independent.
func TestRouter(t *testing.T, newHarness func(t *testing.T) RouterHarness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*routerSuite, *testing.T)
	}{
		{"InitialRoutes", (*routerSuite).initialRoutes},
		{"RoundTrip", (*routerSuite).roundTrip},
		{"InvalidRoutesRefused", (*routerSuite).invalidRoutesRefused},
		{"SetRoutesIsIdempotent", (*routerSuite).setRoutesIsIdempotent},
		{"Verify", (*routerSuite).verify},
		{"ServicesAreIndependent", (*routerSuite).servicesAreIndependent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if len(h.Services) == 0 {
				t.Fatal("RouterHarness.Services is empty: give at least one service set up for routing")
			}
			tt.fn(&routerSuite{h: h, ctx: t.Context()}, t)
		})
	}
}

type routerSuite struct {
	h   RouterHarness
	ctx context.Context
}

// routeCases are valid routes, including the 0.1% extremes.
var routeCases = []struct {
	name   string
	routes bluegreen.Routes
}{
	{"CanaryOnB", bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotB}},
	{"CanaryOnA", bluegreen.Routes{Production: bluegreen.Weights{A: 1, B: 999}, Test: bluegreen.SlotA}},
	{"Half", bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 500}, Test: bluegreen.SlotB}},
	{"AllToA", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}},
	{"AllToB", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}},
	{"AllToATestOnB", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: bluegreen.SlotB}},
	{"AllToBTestOnA", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotA}},
}

// set applies r to service and, for a Verifier, waits until it is in force.
func (s *routerSuite) set(t *testing.T, service string, r bluegreen.Routes) {
	t.Helper()
	if err := s.h.Router.SetRoutes(s.ctx, service, r); err != nil {
		t.Fatalf("SetRoutes(%s, %v): %v", service, r, err)
	}
	v, ok := s.h.Router.(bluegreen.Verifier)
	if !ok {
		return
	}
	err := poll(s.ctx, s.h.VerifyTimeout, s.h.PollInterval, func(ctx context.Context) (bool, error) {
		return v.Verify(ctx, service, r)
	})
	if err != nil {
		t.Fatalf("Verify(%s, %v) never reported true after SetRoutes: %v", service, r, err)
	}
}

// check fails the test unless service's routes are want.
func (s *routerSuite) check(t *testing.T, service string, want bluegreen.Routes) {
	t.Helper()
	got, err := s.h.Router.Routes(s.ctx, service)
	if err != nil {
		t.Fatalf("Routes(%s): %v", service, err)
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("Routes(%s) mismatch (-want +got):\n%s", service, diff)
	}
}

func (s *routerSuite) initialRoutes(t *testing.T) {
	for _, svc := range s.h.Services {
		s.check(t, svc, s.h.Initial)
	}
}

func (s *routerSuite) roundTrip(t *testing.T) {
	svc := s.h.Services[0]
	for _, tc := range routeCases {
		t.Run(tc.name, func(t *testing.T) {
			s.set(t, svc, tc.routes)
			s.check(t, svc, tc.routes)
		})
	}
}

func (s *routerSuite) invalidRoutesRefused(t *testing.T) {
	svc := s.h.Services[0]
	before := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotB}
	s.set(t, svc, before)
	for _, tc := range []struct {
		name   string
		routes bluegreen.Routes
	}{
		{"SumBelow1000", bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 400}}},
		{"SumAbove1000", bluegreen.Routes{Production: bluegreen.Weights{A: 600, B: 500}}},
		{"OnlyOneSlotPartial", bluegreen.Routes{Production: bluegreen.Weights{A: 1}}},
		{"Negative", bluegreen.Routes{Production: bluegreen.Weights{A: -1, B: 1001}}},
		{"AboveFull", bluegreen.Routes{Production: bluegreen.Weights{A: 1001, B: -1}}},
		{"UnknownTestSlot", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: "C"}},
		{"LowerCaseTestSlot", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.h.Router.SetRoutes(s.ctx, svc, tc.routes)
			if !errors.Is(err, bluegreen.ErrInvalid) {
				t.Errorf("SetRoutes(%s, %v) = %v, want an error matching bluegreen.ErrInvalid", svc, tc.routes, err)
			}
			s.check(t, svc, before)
		})
	}
}

func (s *routerSuite) setRoutesIsIdempotent(t *testing.T) {
	svc := s.h.Services[0]
	r := bluegreen.Routes{Production: bluegreen.Weights{A: 250, B: 750}, Test: bluegreen.SlotB}
	for range 3 {
		s.set(t, svc, r)
		s.check(t, svc, r)
	}
}

func (s *routerSuite) verify(t *testing.T) {
	v, ok := s.h.Router.(bluegreen.Verifier)
	if !ok {
		t.Skip("the router does not implement bluegreen.Verifier")
	}
	svc := s.h.Services[0]
	r := bluegreen.Routes{Production: bluegreen.Weights{A: 100, B: 900}, Test: bluegreen.SlotB}
	s.set(t, svc, r) // waits for Verify to report true
	other := bluegreen.Routes{Production: bluegreen.Weights{A: 900, B: 100}, Test: bluegreen.SlotA}
	if ok, err := v.Verify(s.ctx, svc, other); err != nil || ok {
		t.Errorf("with %v in force, Verify(%s, %v) = %v, %v; want false, nil", r, svc, other, ok, err)
	}
}

func (s *routerSuite) servicesAreIndependent(t *testing.T) {
	if len(s.h.Services) < 2 {
		t.Skip("the harness gives one service")
	}
	first, second := s.h.Services[0], s.h.Services[1]
	r1 := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotB), Test: bluegreen.SlotB}
	s.set(t, first, r1)
	s.check(t, second, s.h.Initial)
	r2 := bluegreen.Routes{Production: bluegreen.Weights{A: 999, B: 1}, Test: bluegreen.SlotA}
	s.set(t, second, r2)
	s.check(t, first, r1)
	s.check(t, second, r2)
}
