package proxy

import (
	"context"
	"errors"
	"math"
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

// slotWindows is a WindowReader with one window per slot; a slot without
// one is an error, so a test sees which slots were read.
type slotWindows struct {
	w    map[bluegreen.Slot]Window
	read []bluegreen.Slot
}

func (s *slotWindows) ErrorWindow(_ context.Context, service string, slot bluegreen.Slot, _ int) (Window, error) {
	s.read = append(s.read, slot)
	w, ok := s.w[slot]
	if !ok {
		return Window{}, errors.New("no window for slot " + string(slot))
	}
	return w, nil
}

func TestErrorRateMonitorCompareToBlue(t *testing.T) {
	blue := &bluegreen.Environment{Service: "web", Slot: bluegreen.SlotA, Revision: bluegreen.Revision{Name: "web:2"}}
	green := bluegreen.Environment{Service: "web", Slot: bluegreen.SlotB, Revision: bluegreen.Revision{Name: "web:3"}}
	rule := ErrorRate{MaxRate: 0.01, Window: 1000, MinRequests: 100, CompareToBlue: true, BlueMargin: 0.02}
	tests := []struct {
		name     string
		rule     ErrorRate
		blue     *bluegreen.Environment
		windows  map[bluegreen.Slot]Window
		want     bluegreen.Verdict
		wantRead []bluegreen.Slot
	}{
		{"green as bad as blue", rule, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotA: {1000, 100}, bluegreen.SlotB: {1000, 110}},
			bluegreen.Healthy(), []bluegreen.Slot{bluegreen.SlotB, bluegreen.SlotA}},
		{"green worse than blue plus the margin", rule, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotA: {1000, 100}, bluegreen.SlotB: {1000, 130}},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-rate",
				Reason: "green (web:3 in slot B) answered 130 of its last 1000 requests with 5xx (13.00%), above blue's 10.00% (web:2 in slot A: 100 of 1000) plus 2.00%"}),
			[]bluegreen.Slot{bluegreen.SlotB, bluegreen.SlotA}},
		{"below MaxRate but worse than a clean blue", ErrorRate{MaxRate: 0.05, CompareToBlue: true, BlueMargin: 0.005}, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotA: {1000, 0}, bluegreen.SlotB: {1000, 10}},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-rate",
				Reason: "green (web:3 in slot B) answered 10 of its last 1000 requests with 5xx (1.00%), above blue's 0.00% (web:2 in slot A: 0 of 1000) plus 0.50%"}),
			[]bluegreen.Slot{bluegreen.SlotB, bluegreen.SlotA}},
		{"margin defaults to MaxRate", ErrorRate{MaxRate: 0.01, Window: 1000, MinRequests: 100, CompareToBlue: true}, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotA: {1000, 0}, bluegreen.SlotB: {1000, 11}},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-rate",
				Reason: "green (web:3 in slot B) answered 11 of its last 1000 requests with 5xx (1.10%), above blue's 0.00% (web:2 in slot A: 0 of 1000) plus 1.00%"}),
			[]bluegreen.Slot{bluegreen.SlotB, bluegreen.SlotA}},
		{"first deployment: the absolute limit", rule, nil,
			map[bluegreen.Slot]Window{bluegreen.SlotB: {1000, 11}},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-rate",
				Reason: "green (web:3 in slot B) answered 11 of its last 1000 requests with 5xx (1.10%), above 1.00%"}),
			[]bluegreen.Slot{bluegreen.SlotB}},
		{"blue with too few requests: the absolute limit", rule, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotA: {99, 50}, bluegreen.SlotB: {1000, 11}},
			bluegreen.Alarmed(bluegreen.Alarm{Name: "green-5xx-rate",
				Reason: "green (web:3 in slot B) answered 11 of its last 1000 requests with 5xx (1.10%), above 1.00% (blue has answered 99 requests, too few to compare)"}),
			[]bluegreen.Slot{bluegreen.SlotB, bluegreen.SlotA}},
		{"green with too few requests: blue not read", rule, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotB: {10, 10}},
			bluegreen.Inconclusive("green (web:3 in slot B) has answered 10 requests (10 with 5xx); 100 are needed to judge its error rate"),
			[]bluegreen.Slot{bluegreen.SlotB}},
		{"not asked to compare: blue not read", ErrorRate{MaxRate: 0.2}, blue,
			map[bluegreen.Slot]Window{bluegreen.SlotB: {1000, 130}},
			bluegreen.Healthy(), []bluegreen.Slot{bluegreen.SlotB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &slotWindows{w: tt.windows}
			m := &ErrorRateMonitor{Source: src, Rule: tt.rule}
			got, err := m.Check(t.Context(), bluegreen.MonitorInput{Blue: tt.blue, Green: green})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRead, src.read); diff != "" {
				t.Errorf("slots read (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("blue's window fails", func(t *testing.T) {
		src := &slotWindows{w: map[bluegreen.Slot]Window{bluegreen.SlotB: {1000, 0}}}
		m := &ErrorRateMonitor{Source: src, Rule: rule}
		if _, err := m.Check(t.Context(), bluegreen.MonitorInput{Blue: blue, Green: green}); err == nil {
			t.Error("Check succeeded without blue's window")
		}
	})
	t.Run("bad margin", func(t *testing.T) {
		for _, margin := range []float64{-0.1, 1, math.NaN()} {
			m := &ErrorRateMonitor{Source: &slotWindows{}, Rule: ErrorRate{CompareToBlue: true, BlueMargin: margin}}
			if _, err := m.Check(t.Context(), bluegreen.MonitorInput{Blue: blue, Green: green}); !errors.Is(err, bluegreen.ErrInvalid) {
				t.Errorf("BlueMargin %v: %v, want ErrInvalid", margin, err)
			}
		}
	})
}
