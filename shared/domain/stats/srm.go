package stats

import "math"

// SRMThreshold is the p-value below which a sample ratio mismatch is
// flagged: GrowthBook's default (and Optimizely's, Statsig's), strict
// because the check runs on every results read.
const SRMThreshold = 0.001

// SRMResult is the outcome of [SRM].
type SRMResult struct {
	ChiSquare float64 // Σ (observed - expected)²/expected
	DF        int     // compared variants - 1
	PValue    float64 // P(χ²_DF > ChiSquare); 1 when there is nothing to test
	Warning   bool    // PValue < SRMThreshold
}

// SRM runs the chi-square goodness-of-fit test of the exposed units per
// variant against the variants' traffic weights (GrowthBook's checkSrm):
//
//	expected_i = weight_i/Σweight · Σcounts
//	χ²         = Σ (counts_i - expected_i)²/expected_i,  DF = k - 1
//	p          = Q(DF/2, χ²/2)  (the chi-square survival function)
//
// Variants with a weight of 0 or less (or NaN) take no traffic by design
// and are left out, units and all, as GrowthBook does. With fewer than two
// variants left, or no units, there is nothing to test and the p-value is
// 1. counts and weights pair by index; extra entries of the longer are
// ignored. Negative counts are treated as 0.
func SRM(counts []int64, weights []float64) SRMResult {
	var total, totalWeight float64
	k := 0
	for i := range min(len(counts), len(weights)) {
		if !(weights[i] > 0) || math.IsInf(weights[i], 0) {
			continue
		}
		k++
		total += float64(max(counts[i], 0))
		totalWeight += weights[i]
	}
	if k < 2 || total == 0 {
		return SRMResult{PValue: 1}
	}
	var x float64
	for i := range min(len(counts), len(weights)) {
		if !(weights[i] > 0) || math.IsInf(weights[i], 0) {
			continue
		}
		e := weights[i] / totalWeight * total
		d := float64(max(counts[i], 0)) - e
		x += d * d / e
	}
	p := chiSquareSurvival(x, float64(k-1))
	return SRMResult{ChiSquare: x, DF: k - 1, PValue: p, Warning: p < SRMThreshold}
}
