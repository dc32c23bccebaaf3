package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestWeightsThroughProxyAreExact(t *testing.T) {
	t.Parallel()
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p := startProxy(t, Options{})
	c := newClient(t)
	for _, w := range []bluegreen.Weight{1, 100} {
		t.Run(w.String(), func(t *testing.T) {
			mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, w)})
			counts := map[string]int{}
			for range 1000 {
				status, body := get(t, c, "http://"+p.Addr()+"/", nil)
				if status != http.StatusOK {
					t.Fatalf("status %d (%s)", status, body)
				}
				counts[body]++
			}
			want := map[string]int{"green": int(w)}
			if w < bluegreen.Full {
				want["blue"] = int(bluegreen.Full - w)
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("requests per environment over 1000 at green=%v (-want +got):\n%s", w, diff)
			}
		})
	}
}

func TestBalancesAcrossInstances(t *testing.T) {
	a1, a2, a3 := newBackend(t, "a1", nil), newBackend(t, "a2", nil), newBackend(t, "a3", nil)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{a1.addr(), a2.addr(), a3.addr()}, nil, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	counts := map[string]int{}
	for range 300 {
		_, body := get(t, c, "http://"+p.Addr()+"/", nil)
		counts[body]++
	}
	if diff := cmp.Diff(map[string]int{"a1": 100, "a2": 100, "a3": 100}, counts); diff != "" {
		t.Errorf("round robin across instances (-want +got):\n%s", diff)
	}
}

// TestNoFailedRequestWhileShifting runs concurrent load while the weights
// sweep from blue to green and back, over and over: not one request may fail.
func TestNoFailedRequestWhileShifting(t *testing.T) {
	t.Parallel()
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	p := startProxy(t, Options{})
	mustSetup(t, p, []string{blue.addr()}, []string{green.addr()}, bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)})
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				res, err := c.Get("http://" + p.Addr() + "/")
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if err == nil && res.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		})
	}
	for round := range 4 {
		for w := bluegreen.Weight(0); w <= bluegreen.Full; w += 50 {
			g := w
			if round%2 == 1 {
				g = bluegreen.Full - w
			}
			if err := p.SetRoutes(ctx, "web", bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, g)}); err != nil {
				t.Fatal(err)
			}
			// Let some requests through at each step.
			n := ok.Load()
			eventually(t, "requests pass at this step", func() bool { return ok.Load() >= n+20 || failed.Load() > 0 })
		}
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed while shifting; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if blue.hits.Load() == 0 || green.hits.Load() == 0 {
		t.Errorf("blue served %d, green %d: both should have served", blue.hits.Load(), green.hits.Load())
	}
}

func TestSetRoutesRefusesInvalidRoutes(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	tests := []struct {
		name    string
		service string
		routes  bluegreen.Routes
	}{
		{"weights do not sum to 100%", "web", bluegreen.Routes{Production: bluegreen.Weights{A: 500, B: 400}}},
		{"negative weight", "web", bluegreen.Routes{Production: bluegreen.Weights{A: -1, B: 1001}}},
		{"unknown test slot", "web", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA), Test: "C"}},
		{"empty service", "", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}},
		{"service with a slash", "a/b", bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.SetRoutes(ctx, tt.service, tt.routes); !errors.Is(err, bluegreen.ErrInvalid) {
				t.Errorf("SetRoutes(%q, %v) = %v, want an ErrInvalid error", tt.service, tt.routes, err)
			}
		})
	}
	if got, _ := p.Services(ctx); len(got) != 0 {
		t.Errorf("refused calls created services %q", got)
	}
}

func TestVerifyComparesPublishedTable(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	r := bluegreen.Routes{Production: bluegreen.Split(bluegreen.SlotB, 100), Test: bluegreen.SlotB}
	if ok, err := p.Verify(ctx, "web", r); err != nil || ok {
		t.Fatalf("Verify before SetRoutes = %v, %v; want false", ok, err)
	}
	gen := p.table.Load().gen
	if err := p.SetRoutes(ctx, "web", r); err != nil {
		t.Fatal(err)
	}
	if p.table.Load().gen <= gen {
		t.Errorf("SetRoutes did not publish a new table")
	}
	if ok, err := p.Verify(ctx, "web", r); err != nil || !ok {
		t.Errorf("Verify after SetRoutes = %v, %v; want true", ok, err)
	}
	other := bluegreen.Routes{Production: bluegreen.AllTo(bluegreen.SlotA)}
	if ok, _ := p.Verify(ctx, "web", other); ok {
		t.Errorf("Verify(%v) = true while %v is in force", other, r)
	}
}
