package proxy

import (
	"context"
	"errors"
	"testing"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

// fixedWindow is a WindowReader returning one window.
type fixedWindow struct {
	w   Window
	err error
	n   int // the n asked for
}

func (f *fixedWindow) ErrorWindow(_ context.Context, _ string, _ bluegreen.Slot, n int) (Window, error) {
	f.n = n
	return f.w, f.err
}

func TestErrorRateMonitor(t *testing.T) {
	in := bluegreen.MonitorInput{Green: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:3"}}}
	rule := ErrorRate{MaxRate: 0.01, Window: 500, MinRequests: 100}
	tests := []struct {
		name   string
		rule   ErrorRate
		window Window
		want   bluegreen.Verdict
	}{
		{"too few requests", rule, Window{Requests: 99, Errors: 99},
			bluegreen.Inconclusive("green (web:3 in slot B) has answered 99 requests (99 with 5xx); 100 are needed to judge its error rate")},
		{"no requests", rule, Window{},
			bluegreen.Inconclusive("green (web:3 in slot B) has answered 0 requests (0 with 5xx); 100 are needed to judge its error rate")},
		{"at the limit", rule, Window{Requests: 500, Errors: 5}, bluegreen.Healthy()},
		{"above the limit", rule, Window{Requests: 500, Errors: 6}, bluegreen.Alarmed(bluegreen.Alarm{
			Name:   "green-5xx-rate",
			Reason: "green (web:3 in slot B) answered 6 of its last 500 requests with 5xx (1.20%), above 1.00%",
		})},
		{"named rule", ErrorRate{Name: "canary-errors", MaxRate: 0.5, Window: 10, MinRequests: 1}, Window{Requests: 1, Errors: 1}, bluegreen.Alarmed(bluegreen.Alarm{
			Name:   "canary-errors",
			Reason: "green (web:3 in slot B) answered 1 of its last 1 requests with 5xx (100.00%), above 50.00%",
		})},
		{"default rule, quiet", ErrorRate{}, Window{Requests: 1000, Errors: 10}, bluegreen.Healthy()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fixedWindow{w: tt.window}
			m := &ErrorRateMonitor{Source: src, Rule: tt.rule}
			got, err := m.Check(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			if m.Name() != tt.rule.withDefaults().Name {
				t.Errorf("Name() = %q, want the rule's name", m.Name())
			}
			if want := tt.rule.withDefaults().Window; src.n != want {
				t.Errorf("asked for a window of %d, want %d", src.n, want)
			}
		})
	}
}

func TestErrorRateMonitorErrors(t *testing.T) {
	in := bluegreen.MonitorInput{Green: bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB}}
	boom := errors.New("boom")
	if _, err := (&ErrorRateMonitor{Source: &fixedWindow{err: boom}}).Check(context.Background(), in); !errors.Is(err, boom) {
		t.Errorf("source error: %v, want it returned", err)
	}
	for _, tt := range []struct {
		name string
		m    *ErrorRateMonitor
	}{
		{"no source", &ErrorRateMonitor{}},
		{"rate above 1", &ErrorRateMonitor{Source: &fixedWindow{}, Rule: ErrorRate{MaxRate: 2}}},
		{"min above window", &ErrorRateMonitor{Source: &fixedWindow{}, Rule: ErrorRate{Window: 10, MinRequests: 11}}},
	} {
		if _, err := tt.m.Check(context.Background(), in); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestOutcomeWindow(t *testing.T) {
	w := newOutcomeWindow(10)
	for i := range 25 {
		w.add(i%5 == 0) // failures at 0, 5, 10, 15, 20
	}
	tests := []struct {
		n    int
		want Window
	}{
		{0, Window{10, 2}},   // 15..24
		{5, Window{5, 1}},    // 20..24
		{100, Window{10, 2}}, // capped at the ring's size
		{-1, Window{10, 2}},
	}
	for _, tt := range tests {
		if got := w.last(tt.n); got != tt.want {
			t.Errorf("last(%d) = %+v, want %+v", tt.n, got, tt.want)
		}
	}
	w.reset()
	w.add(true)
	if got := w.last(0); got != (Window{1, 1}) {
		t.Errorf("after reset and one failure: %+v, want {1 1}", got)
	}
}
