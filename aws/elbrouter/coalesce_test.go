package elbrouter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/bluegreen-go/bluegreen"
	"github.com/bluegreen-go/bluegreen/aws/awsfake"
	"github.com/bluegreen-go/bluegreen/aws/elbrouter"
)

// gatedELB records the ARNs of every DescribeRules and DescribeListeners
// call and holds each call until gate is closed (or its context is done),
// so that a test can line reads up behind a call in flight.
type gatedELB struct {
	elbrouter.API
	gate chan struct{}

	mu        sync.Mutex
	rules     [][]string // RuleArns, by call
	listeners [][]string // ListenerArns, by call
}

func (g *gatedELB) wait(ctx context.Context) error {
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gatedELB) DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	g.mu.Lock()
	g.rules = append(g.rules, slices.Clone(in.RuleArns))
	g.mu.Unlock()
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.API.DescribeRules(ctx, in, optFns...)
}

func (g *gatedELB) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	g.mu.Lock()
	g.listeners = append(g.listeners, slices.Clone(in.ListenerArns))
	g.mu.Unlock()
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.API.DescribeListeners(ctx, in, optFns...)
}

// calls returns the ARN lists of the DescribeRules and DescribeListeners
// calls made so far.
func (g *gatedELB) calls() (rules, listeners [][]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.rules), slices.Clone(g.listeners)
}

// readResult is what one Routes call returned.
type readResult struct {
	routes bluegreen.Routes
	err    error
}

// concurrentReads reads the routes of primer and waits until its call is
// held at g's gate; then it reads those of others at once, waits until
// they all wait (for the call in flight), runs between, opens the gate and
// returns every read's result. ctxs gives a read's context (Background if
// missing). Run it in a synctest bubble.
func concurrentReads(t *testing.T, r *elbrouter.Router, g *gatedELB, primer string, others []string, ctxs map[string]context.Context, between func()) map[string]readResult {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]readResult{}
	read := func(name string) {
		ctx := ctxs[name]
		if ctx == nil {
			ctx = context.Background()
		}
		wg.Go(func() {
			rt, err := r.Routes(ctx, name)
			mu.Lock()
			out[name] = readResult{rt, err}
			mu.Unlock()
		})
	}
	read(primer)
	synctest.Wait()
	for _, name := range others {
		read(name)
	}
	synctest.Wait()
	if between != nil {
		between()
		synctest.Wait()
	}
	close(g.gate)
	wg.Wait()
	return out
}

// names returns n service names.
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc%02d", i)
	}
	return out
}

// newListenerStack is an ELBv2 fake with one listener per service whose
// default action routes its production traffic to slot A.
func newListenerStack(t *testing.T, names ...string) *stack {
	t.Helper()
	fake := awsfake.NewELBv2(t, awsfake.ELBv2Options{})
	s := &stack{fake: fake, client: elbv2.NewFromConfig(awsfake.Config(fake.URL)), services: map[string]elbrouter.Service{}}
	for i, name := range names {
		tgA, tgB := fake.CreateTargetGroup(name+"-a", 8080), fake.CreateTargetGroup(name+"-b", 8080)
		listener, err := fake.CreateListener(name, 80+i, []awsfake.ELBAction{{Type: "forward", TargetGroupARN: tgA}})
		if err != nil {
			t.Fatal(err)
		}
		s.services[name] = elbrouter.Service{ProductionListenerARN: listener, TargetGroupA: tgA, TargetGroupB: tgB}
	}
	return s
}

// separate returns a router over s that reads each service on its own.
func (s *stack) separate(t *testing.T) *elbrouter.Router {
	t.Helper()
	r, err := elbrouter.New(elbrouter.Options{Client: s.client, Services: s.services, Logger: quiet, SeparateReads: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// spread gives each service of s different routes and returns the routes
// and errors a router reading each service on its own reads back.
func (s *stack) spread(t *testing.T, withTest bool) map[string]readResult {
	t.Helper()
	r := s.separate(t)
	want := map[string]readResult{}
	for i, name := range names(len(s.services)) {
		rt := bluegreen.Routes{Production: bluegreen.Weights{A: bluegreen.Full - bluegreen.Weight(10*i), B: bluegreen.Weight(10 * i)}}
		if withTest {
			rt.Test = []bluegreen.Slot{bluegreen.SlotA, bluegreen.SlotB}[i%2]
		}
		if err := r.SetRoutes(context.Background(), name, rt); err != nil {
			t.Fatal(err)
		}
		got, err := r.Routes(context.Background(), name)
		want[name] = readResult{got, err}
	}
	return want
}

// inProcess returns a router over s's fake, reached in process through g
// (for a synctest bubble).
func (s *stack) inProcess(t *testing.T) (*elbrouter.Router, *gatedELB) {
	t.Helper()
	g := &gatedELB{API: elbv2.NewFromConfig(awsfake.InProcessConfig(s.fake)), gate: make(chan struct{})}
	r, err := elbrouter.New(elbrouter.Options{Client: g, Services: s.services, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r, g
}

// sameResults compares each read's routes and error text with want's.
func sameResults(t *testing.T, want, got map[string]readResult) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: not read", name)
		case fmt.Sprint(g.err) != fmt.Sprint(w.err):
			t.Errorf("%s: error %v, want %v", name, g.err, w.err)
		case g.routes != w.routes:
			t.Errorf("%s: routes %+v, want %+v (as read on its own)", name, g.routes, w.routes)
		}
	}
}

func TestConcurrentReadsShareCalls(t *testing.T) {
	tests := []struct {
		name          string
		services      int
		listeners     bool // production on listeners' default actions instead of rules
		wantRules     int  // DescribeRules calls
		wantListeners int  // DescribeListeners calls
	}{
		{"one service", 1, false, 1, 0},
		{"ten services: 2 rules each, 18 behind the first in one call", 10, false, 2, 0},
		{"25 services: 48 rules behind the first in calls of 20", 25, false, 1 + 3, 0},
		{"ten listeners", 10, true, 0, 2},
		{"45 listeners: 44 behind the first in calls of 20", 45, true, 0, 1 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := names(tt.services)
			s := newStack(t, all...)
			if tt.listeners {
				s = newListenerStack(t, all...)
			}
			want := s.spread(t, !tt.listeners)
			synctest.Test(t, func(t *testing.T) {
				r, g := s.inProcess(t)
				got := concurrentReads(t, r, g, all[0], all[1:], nil, nil)
				sameResults(t, want, got)
				rules, listeners := g.calls()
				if len(rules) != tt.wantRules || len(listeners) != tt.wantListeners {
					t.Errorf("%d DescribeRules and %d DescribeListeners calls for %d concurrent reads, want %d and %d",
						len(rules), len(listeners), tt.services, tt.wantRules, tt.wantListeners)
				}
				for _, arns := range slices.Concat(rules, listeners) {
					if len(arns) > 20 {
						t.Errorf("a call for %d ARNs, want at most 20", len(arns))
					}
				}
			})
		})
	}
}

func TestMissingRuleFailsOnlyItsService(t *testing.T) {
	tests := []struct {
		name      string
		missing   string // the service whose production rule is gone
		wantRules int
	}{
		// The first read's call is its own: its error is its own.
		{"the read in flight", "svc00", 1 + 1},
		// The shared call fails; each read it served makes its own.
		{"a read in the shared batch", "svc02", 1 + 1 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := names(5)
			s := newStack(t, all...)
			want := s.spread(t, true)
			gone := s.services[tt.missing]
			gone.ProductionRuleARN += "-deleted"
			s.services[tt.missing] = gone
			want[tt.missing] = func() readResult {
				rt, err := s.separate(t).Routes(context.Background(), tt.missing)
				return readResult{rt, err}
			}()
			if want[tt.missing].err == nil {
				t.Fatal("reading a deleted rule on its own did not fail")
			}
			synctest.Test(t, func(t *testing.T) {
				r, g := s.inProcess(t)
				got := concurrentReads(t, r, g, all[0], all[1:], nil, nil)
				sameResults(t, want, got)
				if rules, _ := g.calls(); len(rules) != tt.wantRules {
					t.Errorf("%d DescribeRules calls, want %d", len(rules), tt.wantRules)
				}
			})
		})
	}
}

func TestCancelledReadLeavesOthers(t *testing.T) {
	tests := []struct {
		name      string
		cancel    []string // the reads whose context is cancelled while they wait
		wantRules int
	}{
		// svc00's call is in flight alone: cancelling it stops the call.
		{"the read in flight", []string{"svc00"}, 2},
		{"one read of the batch waiting", []string{"svc02"}, 2},
		// Nobody waits for the next batch any more: it never runs.
		{"every read of the batch waiting", []string{"svc01", "svc02", "svc03"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := names(4)
			s := newStack(t, all...)
			want := s.spread(t, true)
			synctest.Test(t, func(t *testing.T) {
				r, g := s.inProcess(t)
				ctxs := map[string]context.Context{}
				var cancels []context.CancelFunc
				for _, name := range tt.cancel {
					ctx, cancel := context.WithCancel(context.Background())
					ctxs[name], cancels = ctx, append(cancels, cancel)
				}
				got := concurrentReads(t, r, g, all[0], all[1:], ctxs, func() {
					for _, cancel := range cancels {
						cancel()
					}
				})
				for _, name := range tt.cancel {
					if err := got[name].err; !errors.Is(err, context.Canceled) {
						t.Errorf("%s: error %v, want context.Canceled", name, err)
					}
					delete(want, name)
				}
				sameResults(t, want, got)
				if rules, _ := g.calls(); len(rules) != tt.wantRules {
					t.Errorf("%d DescribeRules calls, want %d", len(rules), tt.wantRules)
				}
			})
		})
	}
}
