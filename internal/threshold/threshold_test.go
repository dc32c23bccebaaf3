package threshold

import (
	"math"
	"testing"
)

func TestBreaks(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		c        Comparison
		v, limit float64
		want     bool
	}{
		{GreaterThan, 2, 1, true},
		{GreaterThan, 1, 1, false},
		{GreaterOrEqual, 1, 1, true},
		{GreaterOrEqual, 0.5, 1, false},
		{LessThan, 0.5, 1, true},
		{LessThan, 1, 1, false},
		{LessOrEqual, 1, 1, true},
		{LessOrEqual, 2, 1, false},
		{Equal, 1, 1, true},
		{Equal, 2, 1, false},
		{NotEqual, 2, 1, true},
		{NotEqual, 1, 1, false},
		{NotEqual, nan, 1, false},
		{LessThan, nan, 1, false},
		{GreaterThan, math.Inf(1), 1, true},
		{"~", 2, 1, false},
	}
	for _, tt := range tests {
		if got := tt.c.Breaks(tt.v, tt.limit); got != tt.want {
			t.Errorf("%v %q %v = %v, want %v", tt.v, tt.c, tt.limit, got, tt.want)
		}
	}
}

func TestValidOrdered(t *testing.T) {
	tests := []struct {
		c              Comparison
		valid, ordered bool
	}{
		{GreaterThan, true, true},
		{GreaterOrEqual, true, true},
		{LessThan, true, true},
		{LessOrEqual, true, true},
		{Equal, true, false},
		{NotEqual, true, false},
		{"", false, false},
		{"=>", false, false},
	}
	for _, tt := range tests {
		if got := tt.c.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v, want %v", tt.c, got, tt.valid)
		}
		if got := tt.c.Ordered(); got != tt.ordered {
			t.Errorf("%q.Ordered() = %v, want %v", tt.c, got, tt.ordered)
		}
	}
}
