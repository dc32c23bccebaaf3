package bluegreen

import (
	"fmt"
	"math"
	"strconv"
)

// Weight is a share of traffic in tenths of a percent: 0 is none, 1 is 0.1%,
// 1000 is all of it. Integer tenths keep 0.1% canaries exact and let sums be
// checked with integer arithmetic; adapters convert to their own scale (ALB
// weights 0–999, proxy ratios).
type Weight int

// Full is all of the traffic.
const Full Weight = 1000

// Percent converts a percentage such as 2.5 to a Weight, rounded to the
// nearest tenth of a percent.
func Percent(p float64) Weight { return Weight(math.Round(p * 10)) }

// Percent returns w as a percentage.
func (w Weight) Percent() float64 { return float64(w) / 10 }

// String prints the weight as a percentage, such as "12.5%".
func (w Weight) String() string {
	if w%10 == 0 {
		return strconv.Itoa(int(w/10)) + "%"
	}
	return strconv.FormatFloat(w.Percent(), 'f', 1, 64) + "%"
}

// Slot is a physical place an environment runs in: ECS target group 1 or 2,
// proxy pool A or B. Blue and green are roles for one deployment; the slots
// swap roles from one deployment to the next, and the store records which
// slot is live.
type Slot string

// The two slots.
const (
	SlotA Slot = "A"
	SlotB Slot = "B"
)

// Other returns the slot that is not s. The other slot of an invalid slot is SlotA.
func (s Slot) Other() Slot {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

// Valid reports whether s is SlotA or SlotB.
func (s Slot) Valid() bool { return s == SlotA || s == SlotB }

// Weights are the production traffic weights of the two slots. In force they
// sum to Full; the zero Weights means "nothing routed", the state of a
// service before its first deployment.
type Weights struct {
	A Weight `json:"a"`
	B Weight `json:"b"`
}

// AllTo returns weights that send all traffic to slot s.
func AllTo(s Slot) Weights { return Split(s, Full) }

// Split returns weights that send w to slot s and the rest to the other slot.
func Split(s Slot, w Weight) Weights {
	if s == SlotB {
		return Weights{A: Full - w, B: w}
	}
	return Weights{A: w, B: Full - w}
}

// Of returns the weight of slot s.
func (w Weights) Of(s Slot) Weight {
	switch s {
	case SlotA:
		return w.A
	case SlotB:
		return w.B
	}
	return 0
}

// Empty reports whether nothing is routed.
func (w Weights) Empty() bool { return w.A == 0 && w.B == 0 }

// Validate checks that each weight is within 0..Full and that they sum to
// Full (or are both zero: nothing routed).
func (w Weights) Validate() error {
	if w.A < 0 || w.A > Full || w.B < 0 || w.B > Full {
		return &ConfigError{Field: "Weights", Problem: fmt.Sprintf("weights A=%d B=%d out of range", w.A, w.B),
			Fix: "use tenths of a percent between 0 and 1000"}
	}
	if !w.Empty() && w.A+w.B != Full {
		return &ConfigError{Field: "Weights", Problem: fmt.Sprintf("weights A=%d B=%d sum to %d", w.A, w.B, w.A+w.B),
			Fix: "weights must sum to 1000 (100%)"}
	}
	return nil
}

// String prints the weights, such as "A=90% B=10%".
func (w Weights) String() string { return "A=" + w.A.String() + " B=" + w.B.String() }

// Routes are where a service's traffic goes: the production weights and the
// slot the test route (a test listener or header rule) points at. One router
// call sets both, so a rollback is one call.
type Routes struct {
	// Production holds the production weights.
	Production Weights `json:"production"`
	// Test is the slot receiving test traffic; "" when there is no test route target.
	Test Slot `json:"test,omitempty"`
}

// Validate checks the weights and the test slot.
func (r Routes) Validate() error {
	if err := r.Production.Validate(); err != nil {
		return err
	}
	if r.Test != "" && !r.Test.Valid() {
		return &ConfigError{Field: "Routes.Test", Problem: fmt.Sprintf("unknown slot %q", r.Test), Fix: `use "A", "B" or ""`}
	}
	return nil
}

// String prints the routes, such as "A=90% B=10% test=B".
func (r Routes) String() string {
	s := r.Production.String()
	if r.Test != "" {
		s += " test=" + string(r.Test)
	}
	return s
}
