package route53router

import (
	"math"
	"testing"

	"github.com/bluegreen-go/bluegreen"
)

func TestRecordWeights(t *testing.T) {
	tests := []struct {
		w    bluegreen.Weights
		a, b int64
	}{
		{bluegreen.Weights{}, 0, 0},
		{bluegreen.AllTo(bluegreen.SlotA), 255, 0},
		{bluegreen.AllTo(bluegreen.SlotB), 0, 255},
		{bluegreen.Weights{A: 500, B: 500}, 255, 255},
		{bluegreen.Weights{A: 999, B: 1}, 255, 1},
		{bluegreen.Weights{A: 1, B: 999}, 1, 255},
		{bluegreen.Weights{A: 900, B: 100}, 252, 28},
		{bluegreen.Weights{A: 750, B: 250}, 255, 85},
		{bluegreen.Weights{A: 800, B: 200}, 252, 63},
	}
	for _, tt := range tests {
		a, b := RecordWeights(tt.w)
		if a != tt.a || b != tt.b {
			t.Errorf("RecordWeights(%v) = %d, %d; want %d, %d", tt.w, a, b, tt.a, tt.b)
		}
	}
}

// TestRecordWeightsAllShares checks every 0.1% step against the rules of
// RecordWeights: in range, never both zero, 0% and 100% exact, the larger
// and the share in force within half a step of the request.
func TestRecordWeightsAllShares(t *testing.T) {
	worst := 0.0
	for wb := bluegreen.Weight(0); wb <= bluegreen.Full; wb++ {
		w := bluegreen.Split(bluegreen.SlotB, wb)
		a, b := RecordWeights(w)
		if a < 0 || a > MaxRecordWeight || b < 0 || b > MaxRecordWeight || a+b == 0 {
			t.Fatalf("RecordWeights(%v) = %d, %d: out of range or both zero", w, a, b)
		}
		if (wb == 0) != (b == 0) || (wb == bluegreen.Full) != (a == 0) {
			t.Errorf("RecordWeights(%v) = %d, %d: a slot with traffic got 0, or one without got some", w, a, b)
		}
		got := float64(b) / float64(a+b) * 100
		err := math.Abs(got - wb.Percent())
		worst = max(worst, err)
		if err > 0.3 {
			t.Errorf("RecordWeights(%v) = %d, %d sends %.3f%% to B, off by %.3f points", w, a, b, got, err)
		}
		if s := Share(a, b); (s.B == 0) != (wb == 0) || s.A+s.B != bluegreen.Full {
			t.Errorf("Share(%d, %d) = %v for %v", a, b, s, w)
		}
	}
	t.Logf("worst deviation of the share in force from the 0.1%% request: %.3f percentage points", worst)
}

func TestShare(t *testing.T) {
	tests := []struct {
		a, b int64
		want bluegreen.Weights
	}{
		{255, 0, bluegreen.AllTo(bluegreen.SlotA)},
		{0, 10, bluegreen.AllTo(bluegreen.SlotB)},
		{0, 0, bluegreen.Weights{A: 500, B: 500}}, // Route 53 answers both equally
		{255, 1, bluegreen.Weights{A: 996, B: 4}},
		{1, 1, bluegreen.Weights{A: 500, B: 500}},
		{3, 1, bluegreen.Weights{A: 750, B: 250}},
		{1, 2, bluegreen.Weights{A: 333, B: 667}},
	}
	for _, tt := range tests {
		if got := Share(tt.a, tt.b); got != tt.want {
			t.Errorf("Share(%d, %d) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func FuzzShare(f *testing.F) {
	f.Add(int64(255), int64(1))
	f.Add(int64(0), int64(0))
	f.Fuzz(func(t *testing.T, a, b int64) {
		a, b = a%256, b%256
		s := Share(a, b)
		if err := s.Validate(); err != nil || s.Empty() {
			t.Fatalf("Share(%d, %d) = %v: %v", a, b, s, err)
		}
		if max(a, 0) > 0 && s.A == 0 || max(b, 0) > 0 && s.B == 0 {
			t.Fatalf("Share(%d, %d) = %v: a record with weight reports no traffic", a, b, s)
		}
	})
}
