package bluegreen_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bluegreen-go/bluegreen"
	"github.com/google/go-cmp/cmp"
)

func TestShiftResolve(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name  string
		shift bluegreen.Shift
		want  []bluegreen.Step
	}{
		{"zero is all at once", bluegreen.Shift{}, []bluegreen.Step{{Green: 1000}}},
		{"linear 10%", bluegreen.Linear(10, m), []bluegreen.Step{{100, m}, {200, m}, {300, m}, {400, m}, {500, m}, {600, m}, {700, m}, {800, m}, {900, m}, {1000, 0}}},
		{"linear 33%", bluegreen.Linear(33, m), []bluegreen.Step{{330, m}, {660, m}, {990, m}, {1000, 0}}},
		{"linear 1% makes 100 steps", bluegreen.Linear(1, 0), nil},
		{"canary 0.1%", bluegreen.Canary(0.1, m), []bluegreen.Step{{1, m}, {1000, 0}}},
		{"canary 99.9%", bluegreen.Canary(99.9, m), []bluegreen.Step{{999, m}, {1000, 0}}},
		// ECS accepts stepPercent and canaryPercent of 100: one step, whose
		// wait is the bake time.
		{"linear 100%", bluegreen.Linear(100, m), []bluegreen.Step{{1000, 0}}},
		{"canary 100%", bluegreen.Canary(100, m), []bluegreen.Step{{1000, 0}}},
		{"steps", bluegreen.Steps(bluegreen.Step{1, m}, bluegreen.Step{1000, 0}), []bluegreen.Step{{1, m}, {1000, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.shift.Resolve("Shift")
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != 100 || got[99].Green != 1000 {
					t.Errorf("%d steps ending at %v", len(got), got[len(got)-1].Green)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	if got := bluegreen.Split(bluegreen.SlotB, 1); got != (bluegreen.Weights{A: 999, B: 1}) {
		t.Errorf("Split(B, 0.1%%) = %v", got)
	}
	if got := bluegreen.Percent(12.34); got != 123 {
		t.Errorf("Percent(12.34) = %d", got)
	}
	for _, w := range []bluegreen.Weights{{A: 1, B: 0}, {A: -1, B: 1001}, {A: 500, B: 501}} {
		if err := w.Validate(); !errors.Is(err, bluegreen.ErrInvalid) {
			t.Errorf("%v.Validate() = %v, want ErrInvalid", w, err)
		}
	}
	if err := (bluegreen.Routes{Test: "C"}).Validate(); !errors.Is(err, bluegreen.ErrInvalid) {
		t.Errorf("test slot C accepted: %v", err)
	}
	if got := (bluegreen.Weights{A: 875, B: 125}).String(); got != "A=87.5% B=12.5%" {
		t.Errorf("String() = %q", got)
	}
}

// FuzzShift checks that any strategy either is refused with a ConfigError or
// resolves to steps that rise strictly, stay within 0.1%..100%, end at 100%
// and have no negative wait.
func FuzzShift(f *testing.F) {
	f.Add("LINEAR", 100, int64(time.Minute), 0, 0)
	f.Add("CANARY", 1, int64(time.Second), 0, 0)
	f.Add("STEPS", 0, int64(0), 500, 1000)
	f.Add("STEPS", 0, int64(-1), 1000, 1000)
	f.Fuzz(func(t *testing.T, typ string, percent int, wait int64, s1, s2 int) {
		sh := bluegreen.Shift{Type: bluegreen.ShiftType(typ), Percent: bluegreen.Weight(percent), Wait: time.Duration(wait),
			Schedule: []bluegreen.Step{{Green: bluegreen.Weight(s1), Wait: time.Duration(wait)}, {Green: bluegreen.Weight(s2)}}}
		steps, err := sh.Resolve("Shift")
		if err != nil {
			var ce *bluegreen.ConfigError
			if !errors.As(err, &ce) || ce.Field == "" || ce.Fix == "" {
				t.Fatalf("error %v is not a ConfigError with a field and a fix", err)
			}
			return
		}
		prev := bluegreen.Weight(0)
		for i, s := range steps {
			if s.Green <= prev || s.Green > bluegreen.Full || s.Wait < 0 {
				t.Fatalf("step %d of %v: %+v after %v", i, sh, s, prev)
			}
			prev = s.Green
		}
		if prev != bluegreen.Full || steps[len(steps)-1].Wait != 0 {
			t.Fatalf("%v resolves to %v", sh, steps)
		}
	})
}
