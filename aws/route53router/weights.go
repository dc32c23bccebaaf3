package route53router

import "github.com/bluegreen-go/bluegreen"

// MaxRecordWeight is the largest weight Route 53 accepts on a record.
const MaxRecordWeight = 255

// RecordWeights returns the weights to give slot A's and slot B's records
// so that Route 53, which answers each record in proportion to its weight
// over the sum of the group's weights, sends traffic as close to w as two
// weights of 0–255 can:
//
//   - 0% and 100% are exact: the slot with all the traffic gets 255, the
//     other 0.
//   - A slot with any traffic gets a weight of at least 1, so the two
//     records are never both 0 (Route 53 would answer both equally) while
//     something is routed, and a slot with none gets 0.
//   - Otherwise the pair is the closest fraction b/(a+b) with both weights
//     in 1–255 (ties to the larger weights). The smallest share either slot
//     can have is 1/256 (0.39%), so a 0.1% canary gets 0.39%; the
//     resolution is finest near 50% (neighbouring shares 0.1% apart or
//     less) and coarsest near the ends. Over every 0.1% step from 0% to
//     100% the share in force is off by at most 0.29 percentage points
//     (TestRecordWeightsAllShares), the worst being 0.1% and 99.9%.
//
// Empty weights (nothing routed) give 0, 0: the router deletes the records
// rather than write them.
func RecordWeights(w bluegreen.Weights) (a, b int64) {
	if w.Empty() {
		return 0, 0
	}
	wa, wb := int64(min(max(w.A, 0), bluegreen.Full)), int64(min(max(w.B, 0), bluegreen.Full))
	small, swap := wb, false
	if wa < wb {
		small, swap = wa, true
	}
	large := int64(bluegreen.Full) - small
	if small == 0 {
		return order(MaxRecordWeight, 0, swap)
	}
	// Search the larger weight L; for each, the nearest smaller weight s.
	// The error of s/(L+s) against small/1000 is |1000s - small(L+s)| /
	// (1000(L+s)); fractions are compared by cross-multiplication.
	bestL, bestS := int64(MaxRecordWeight), int64(MaxRecordWeight)
	bestNum, bestDen := int64(-1), int64(1)
	for l := int64(MaxRecordWeight); l >= 1; l-- {
		s := max((2*l*small+large)/(2*large), 1)
		num := abs(1000*s - small*(l+s))
		den := 1000 * (l + s)
		if bestNum < 0 || num*bestDen < bestNum*den {
			bestL, bestS, bestNum, bestDen = l, s, num, den
		}
	}
	return order(bestL, bestS, swap)
}

// order returns (large, small) as (a, b), or (b, a) when swap.
func order(large, small int64, swap bool) (int64, int64) {
	if swap {
		return small, large
	}
	return large, small
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// Share returns the production weights that records of weights a (slot A)
// and b (slot B) send, to the nearest 0.1%: what is in force. Two records
// of weight 0 share the traffic equally (Route 53 answers both), so Share
// reports 50% each; a slot whose weight is above 0 never reports 0.
func Share(a, b int64) bluegreen.Weights {
	a, b = max(a, 0), max(b, 0)
	if a+b == 0 {
		return bluegreen.Weights{A: bluegreen.Full / 2, B: bluegreen.Full / 2}
	}
	wb := bluegreen.Weight((2*int64(bluegreen.Full)*b + a + b) / (2 * (a + b)))
	if b > 0 {
		wb = max(wb, 1)
	}
	if a > 0 {
		wb = min(wb, bluegreen.Full-1)
	}
	return bluegreen.Split(bluegreen.SlotB, wb)
}
