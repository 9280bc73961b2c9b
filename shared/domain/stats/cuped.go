package stats

import "math"

// CUPEDTheta returns the CUPED regression coefficient pooled over the given
// summaries (Deng et al. 2013; gbstats compute_theta, PostHog compute_theta):
//
//	θ = Cov(x, pre) / Var(pre)
//
// with both moments read from the sums of all the groups together, so every
// variant is adjusted by the same θ and the adjustment cannot favour one of
// them. Pass every variant of the experiment to pool over all of them (the
// results use case does), or one treatment and the control to reproduce
// gbstats' and PostHog's pairwise θ.
//
// It returns 0, which adjusts nothing, when the pooled covariate or metric
// has no variance (every unit had the same value, e.g. no history) or when
// fewer than two units are given; and 0 for ratio metrics, which this
// package does not adjust.
func CUPEDTheta(k Kind, groups ...Summary) float64 {
	if k == Ratio {
		return 0
	}
	var n int64
	var sum, sumSq, pre, preSq, cross float64
	for _, g := range groups {
		n += g.N
		sum += g.Sum
		sumSq += g.SumSq
		pre += g.PreSum
		preSq += g.PreSumSq
		cross += g.SumXPre
	}
	if k == Binomial {
		sumSq = sum // x ∈ {0, 1}: x² = x
	}
	varPre := sampleVariance(n, pre, preSq)
	varX := sampleVariance(n, sum, sumSq)
	if !(varPre > 0) || !(varX > 0) {
		return 0
	}
	theta := sampleCovariance(n, sum, pre, cross) / varPre
	if math.IsNaN(theta) || math.IsInf(theta, 0) {
		return 0
	}
	return theta
}

// Variant is what the results show for one variant on one metric.
type Variant struct {
	N      int64
	Mean   float64 // Summary.Mean
	StdDev float64 // per-unit standard deviation, Summary.StdDev
	// With CUPED (theta != 0): the adjusted mean x̄ - θ·p̄re, the
	// per-unit standard deviation of x - θ·pre, and the share of the
	// per-unit variance the adjustment removed, 1 - adjusted/unadjusted.
	AdjustedMean      float64
	AdjustedStdDev    float64
	VarianceReduction float64
}

// DescribeVariant returns the per-variant figures of one summary; theta is
// the CUPED coefficient ([CUPEDTheta]) or 0 for none, and is ignored for
// ratio metrics. With theta 0 the adjusted figures equal the unadjusted.
func DescribeVariant(s Summary, k Kind, theta float64) Variant {
	if k == Ratio {
		theta = 0
	}
	g := groupMomentsOf(s, k, theta)
	v := Variant{
		N:              s.N,
		Mean:           g.rawMean,
		StdDev:         math.Sqrt(g.rawVariance),
		AdjustedMean:   g.mean,
		AdjustedStdDev: math.Sqrt(g.variance),
	}
	if theta != 0 && g.rawVariance > 0 {
		v.VarianceReduction = 1 - g.variance/g.rawVariance
	}
	return v
}
