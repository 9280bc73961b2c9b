package stats

import "math"

// DefaultPower is the power sample sizes are planned for: the chance of a
// significant result when the true relative effect is the minimum
// detectable effect.
const DefaultPower = 0.8

// SampleSizePerVariant returns the number of units each variant needs so
// that a two-sided test at alpha detects a relative effect of mde (0.05 for
// +5%) with the given power, for a metric whose control mean is
// baselineMean:
//
//	δ = mde·|baselineMean|
//	n = ⌈(z_{1-α/2} + z_power)² · (σ₁² + σ₂²) / δ²⌉
//
// with σ₁² = σ₂² = baselineVariance (the per-unit variance, e.g.
// [Summary.Variance] of the control) for continuous and ratio metrics, and
// σ₁² = p(1-p), σ₂² = p'(1-p') with p = baselineMean, p' = p(1+mde) for
// binomial metrics (baselineVariance is then ignored). This is the normal
// approximation statsmodels' NormalIndPower solves, less its negligible
// wrong-tail term. A power of 0 means [DefaultPower]; an alpha of 0 means
// [DefaultAlpha].
//
// It is undefined (ok == false) when an argument is out of range (alpha or
// power outside (0, 1), mde 0, a binomial baseline outside (0, 1) or moved
// outside [0, 1] by mde, a variance that is not positive) or when the
// answer exceeds int64.
func SampleSizePerVariant(k Kind, baselineMean, baselineVariance, mde, alpha, power float64) (n int64, ok bool) {
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if power == 0 {
		power = DefaultPower
	}
	if !(alpha > 0 && alpha < 1) || !(power > 0 && power < 1) || !(mde != 0) || math.IsInf(mde, 0) ||
		math.IsNaN(baselineMean) || math.IsInf(baselineMean, 0) {
		return 0, false
	}
	var varSum float64
	switch k {
	case Binomial:
		p, p2 := baselineMean, baselineMean*(1+mde)
		if !(p > 0 && p < 1) || !(p2 >= 0 && p2 <= 1) {
			return 0, false
		}
		varSum = p*(1-p) + p2*(1-p2)
	case Continuous, Ratio:
		if !(baselineVariance > 0) || math.IsInf(baselineVariance, 0) {
			return 0, false
		}
		varSum = 2 * baselineVariance
	default:
		return 0, false
	}
	delta := mde * math.Abs(baselineMean)
	if delta == 0 {
		return 0, false
	}
	z := normalQuantile(1-alpha/2) + normalQuantile(power)
	size := math.Ceil(z * z * varSum / (delta * delta))
	if !(size < math.MaxInt64) {
		return 0, false
	}
	return int64(size), true
}
