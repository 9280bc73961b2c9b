package stats

import "math"

// twoSidedNormalPValue returns P(|Z| >= |z|) for a standard normal Z, that
// is 2*(1 - Φ(|z|)) = erfc(|z|/√2).
//
// It calls math.Erfc rather than forming 1 - math.Erf: the latter rounds to
// exactly 0 once erf(|z|/√2) rounds to 1 (|z| > ~8.37), while Erfc keeps full
// relative precision down to the float64 underflow threshold (|z| > ~38.5,
// where the true p-value is below 5e-324 and 0 is the nearest float64).
func twoSidedNormalPValue(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}
