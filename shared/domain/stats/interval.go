package stats

import "math"

// Z95 is the two-sided 95% quantile of the standard normal distribution,
// Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// DifferenceInterval returns the Wald (unpooled) confidence interval of the
// difference of rates p2 - p1, treatment minus control:
//
//	(p2 - p1) ± z · sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)
//
// With z = Z95 it is the 95% interval that goes with the z-test: it excludes
// 0 about when the test's p-value is below 0.05 (the test pools the rates
// under H0; the interval does not, so near the boundary they can disagree).
// It is undefined (ok == false) when a count is invalid or a group is empty.
// Like the test, it wants roughly 10 or more conversions and non-conversions
// per group; with none the interval collapses to a point.
func DifferenceInterval(controlConversions, controlN, treatmentConversions, treatmentN int64, z float64) (lo, hi float64, ok bool) {
	p1, ok1 := Rate(controlConversions, controlN)
	p2, ok2 := Rate(treatmentConversions, treatmentN)
	if !ok1 || !ok2 || math.IsNaN(z) || z < 0 {
		return 0, 0, false
	}
	se := math.Sqrt(p1*(1-p1)/float64(controlN) + p2*(1-p2)/float64(treatmentN))
	d := p2 - p1
	return d - z*se, d + z*se, true
}
