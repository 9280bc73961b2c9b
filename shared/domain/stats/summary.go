package stats

import (
	"math"
	"strconv"
)

// Kind is the kind of metric a [Summary] describes; it decides how a
// variant's variance is read from its sums.
type Kind uint8

const (
	// Binomial metrics take the value 1 when a unit converted and 0
	// otherwise: Sum counts conversions and the variance is p(1-p).
	Binomial Kind = iota
	// Continuous metrics (count and sum metrics) take any per-unit value:
	// the variance is the sample variance from Sum and SumSq.
	Continuous
	// Ratio metrics divide the per-variant total of a numerator (Sum) by the
	// total of a denominator (DenSum); their variance comes from the delta
	// method.
	Ratio
)

// String returns the metric kind's stable name.
func (k Kind) String() string {
	switch k {
	case Binomial:
		return "binomial"
	case Continuous:
		return "continuous"
	case Ratio:
		return "ratio"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Summary holds the exact sufficient statistics of one metric in one variant,
// summed over its exposed units. x is the unit's (capped) metric value, or
// the numerator of a ratio metric; y the denominator of a ratio metric; pre
// the unit's value of the CUPED covariate (the same metric over the lookback
// window before its first exposure, 0 when it had none).
//
// Every result in this package is a function of these sums alone, so it
// costs the same whatever the number of units. Fields a kind does not use
// are ignored (SumSq for binomial, Den* and SumXY for all but ratio, Pre* and
// SumXPre unless CUPED is asked for).
type Summary struct {
	N     int64   // exposed units
	Sum   float64 // Σx
	SumSq float64 // Σx²

	DenSum   float64 // Σy (ratio)
	DenSumSq float64 // Σy² (ratio)
	SumXY    float64 // Σx·y (ratio)

	PreSum   float64 // Σpre (CUPED)
	PreSumSq float64 // Σpre² (CUPED)
	SumXPre  float64 // Σx·pre (CUPED)
}

// Mean returns the metric's mean in the variant: Σx/n, or Σx/Σy for a ratio
// metric. It is 0 when undefined (n = 0, or Σy = 0 for a ratio).
func (s Summary) Mean(k Kind) float64 {
	if k == Ratio {
		if s.DenSum == 0 {
			return 0
		}
		return s.Sum / s.DenSum
	}
	return sampleMean(s.N, s.Sum)
}

// Variance returns the per-unit variance of the metric in the variant:
// p(1-p) for binomial metrics (as gbstats' ProportionStatistic), the sample
// variance (n-1 denominator) for continuous metrics, and for ratio metrics
// the delta-method variance of the per-unit ratio,
//
//	Var(x)/ȳ² + Var(y)·x̄²/ȳ⁴ - 2·Cov(x,y)·x̄/ȳ³,
//
// so that Variance/n is the squared standard error of [Summary.Mean]. It is
// 0 when undefined (n < 2, or ȳ = 0).
func (s Summary) Variance(k Kind) float64 {
	switch k {
	case Binomial:
		p := sampleMean(s.N, s.Sum)
		return p * (1 - p)
	case Ratio:
		xm, ym := sampleMean(s.N, s.Sum), sampleMean(s.N, s.DenSum)
		if s.N < 2 || ym == 0 {
			return 0
		}
		vx := sampleVariance(s.N, s.Sum, s.SumSq)
		vy := sampleVariance(s.N, s.DenSum, s.DenSumSq)
		cxy := sampleCovariance(s.N, s.Sum, s.DenSum, s.SumXY)
		return deltaRatioVariance(xm, vx, ym, vy, cxy)
	}
	return sampleVariance(s.N, s.Sum, s.SumSq)
}

// StdDev returns the square root of [Summary.Variance].
func (s Summary) StdDev(k Kind) float64 {
	return math.Sqrt(s.Variance(k))
}

// sampleMean returns sum/n, or 0 when n <= 0.
func sampleMean(n int64, sum float64) float64 {
	if n <= 0 {
		return 0
	}
	return sum / float64(n)
}

// sampleVariance returns (Σx² - (Σx)²/n)/(n-1), or 0 when n < 2.
//
// Numerics: with Sum and SumSq exact, the only loss is the cancellation in
// Σx² - Σx·x̄, whose relative error is about ε·x̄²/Var(x); math.FMA forms
// Σx·x̄ without rounding it first, which halves that error. A result that
// rounding made negative is clamped to 0.
func sampleVariance(n int64, sum, sumSq float64) float64 {
	return math.Max(sampleCovariance(n, sum, sum, sumSq), 0)
}

// sampleCovariance returns (Σxy - Σx·Σy/n)/(n-1), or 0 when n < 2.
func sampleCovariance(n int64, sumX, sumY, sumXY float64) float64 {
	if n < 2 {
		return 0
	}
	fn := float64(n)
	return math.FMA(-sumX, sumY/fn, sumXY) / (fn - 1)
}

// deltaRatioVariance returns the first-order (delta-method) variance of M/D
// for a numerator M with mean mm and variance vm, a denominator D with mean
// md and variance vd, and covariance cmd (gbstats' variance_of_ratios):
//
//	vm/md² + vd·mm²/md⁴ - 2·cmd·mm/md³.
//
// It is 0 when md = 0.
func deltaRatioVariance(mm, vm, md, vd, cmd float64) float64 {
	if md == 0 {
		return 0
	}
	r := mm / md
	return (vm + vd*r*r - 2*cmd*r) / (md * md)
}
