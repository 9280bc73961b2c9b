package stats

import "math"

// Rate returns the conversion rate x/n of a group in which x of n units
// converted.
//
// It is undefined (ok == false) when n is 0 or the counts are invalid
// (x or n negative, or x > n).
func Rate(x, n int64) (rate float64, ok bool) {
	if !validCounts(x, n) || n == 0 {
		return 0, false
	}
	return float64(x) / float64(n), true
}

// Lift returns the relative difference of the treatment rate over the
// control rate, (treatmentRate - controlRate) / controlRate; 0.05 means the
// treatment converts 5% better than the control, -1 that it never converts.
//
// It is undefined (ok == false) when controlRate is 0, when either rate is
// not a rate (NaN or outside [0, 1]), or when the lift overflows float64
// (a subnormal control rate).
func Lift(controlRate, treatmentRate float64) (lift float64, ok bool) {
	if !isRate(controlRate) || !isRate(treatmentRate) || controlRate == 0 {
		return 0, false
	}
	// Subtracting first is exact when the rates are within a factor of two
	// of each other (Sterbenz), which treatment/control - 1 is not.
	lift = (treatmentRate - controlRate) / controlRate
	if math.IsInf(lift, 0) {
		return 0, false
	}
	return lift, true
}

// validCounts reports whether x conversions out of n units is a possible
// observation: 0 <= x <= n.
func validCounts(x, n int64) bool {
	return x >= 0 && x <= n
}

// isRate reports whether r is in [0, 1]; false for NaN.
func isRate(r float64) bool {
	return r >= 0 && r <= 1
}
