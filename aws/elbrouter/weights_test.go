package elbrouter

import (
	"testing"

	"github.com/bluegreen-go/bluegreen"
)

// TestToTenthsEveryALBPair checks the conversion of every pair of ALB
// weights (0–999 each) to tenths of a percent: the result is valid (sums to
// 100%, or nothing routed when both are 0), a target group with a weight
// above 0 keeps a share above 0 and one at 0 gets none, and the larger ALB
// weight never gets the smaller share.
func TestToTenthsEveryALBPair(t *testing.T) {
	for a := 0; a <= 999; a++ {
		for b := 0; b <= 999; b++ {
			w := toTenths(a, b)
			if err := w.Validate(); err != nil {
				t.Fatalf("toTenths(%d, %d) = %v: %v", a, b, w, err)
			}
			if (a == 0) != (w.A == 0) || (b == 0) != (w.B == 0) {
				t.Fatalf("toTenths(%d, %d) = %v: a share appeared or vanished", a, b, w)
			}
			if a > b && w.A < w.B || b > a && w.B < w.A {
				t.Fatalf("toTenths(%d, %d) = %v: order of the shares reversed", a, b, w)
			}
		}
	}
}

// TestTenthsRoundTripThroughALB checks that every weight the library
// writes reads back as itself.
func TestTenthsRoundTripThroughALB(t *testing.T) {
	for tenths := bluegreen.Weight(0); tenths <= bluegreen.Full; tenths++ {
		w := bluegreen.Split(bluegreen.SlotB, tenths)
		a, b := toALB(w)
		if a < 0 || a > 999 || b < 0 || b > 999 {
			t.Fatalf("toALB(%v) = %d, %d: out of ALB's 0–999", w, a, b)
		}
		if got := toTenths(a, b); got != w {
			t.Fatalf("toTenths(toALB(%v)) = %v", w, got)
		}
	}
}
