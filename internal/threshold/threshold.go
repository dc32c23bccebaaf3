// Package threshold is the rule metric monitors judge a value by: "value
// Comparison limit". The monitor packages (aws/cwmetrics,
// monitors/promonitor) export it under their own names, so that the rule,
// and how a NaN is judged, is written once.
package threshold

import "math"

// Comparison says how a value is compared with its limit: a monitor fires
// when "value Comparison limit" holds.
type Comparison string

// Comparisons, spelled as PromQL and CloudWatch spell them.
const (
	GreaterThan    Comparison = ">"
	GreaterOrEqual Comparison = ">="
	LessThan       Comparison = "<"
	LessOrEqual    Comparison = "<="
	Equal          Comparison = "=="
	NotEqual       Comparison = "!="
)

// Breaks reports whether v breaks the limit under c. NaN breaks nothing,
// whatever c is; an unknown c breaks nothing either.
func (c Comparison) Breaks(v, limit float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch c {
	case GreaterThan:
		return v > limit
	case GreaterOrEqual:
		return v >= limit
	case LessThan:
		return v < limit
	case LessOrEqual:
		return v <= limit
	case Equal:
		return v == limit
	case NotEqual:
		return v != limit
	}
	return false
}

// Valid reports whether c is one of the comparisons above.
func (c Comparison) Valid() bool {
	switch c {
	case GreaterThan, GreaterOrEqual, LessThan, LessOrEqual, Equal, NotEqual:
		return true
	}
	return false
}

// Ordered reports whether c compares by size (not == or !=), which a limit
// derived from another value, such as blue's, needs.
func (c Comparison) Ordered() bool { return c.Valid() && c != Equal && c != NotEqual }
