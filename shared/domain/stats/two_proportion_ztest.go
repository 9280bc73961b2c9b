package stats

import (
	"math"
	"math/bits"
)

// TwoProportionZTestResult is the outcome of [TwoProportionZTest]. When the
// test is undefined every float field is 0 and Reason says why.
type TwoProportionZTestResult struct {
	ControlRate   float64 // p1 = x1/n1
	TreatmentRate float64 // p2 = x2/n2
	PooledRate    float64 // p = (x1+x2)/(n1+n2)
	StdErr        float64 // sqrt(p(1-p)(1/n1+1/n2)), the standard error of p2-p1 under H0
	Z             float64 // (p2-p1)/StdErr; positive when the treatment converts better
	PValue        float64 // two-sided: erfc(|Z|/√2) = 2(1-Φ(|Z|))
	Reason        UndefinedReason
}

// TwoProportionZTest runs the pooled two-proportion z-test of
// H0: p1 = p2 against the two-sided alternative, comparing a treatment in
// which treatmentConversions of treatmentN units converted with a control in
// which controlConversions of controlN units converted:
//
//	p1      = x1/n1                       (control rate)
//	p2      = x2/n2                       (treatment rate)
//	p       = (x1+x2)/(n1+n2)             (pooled rate, the common rate under H0)
//	se      = sqrt(p(1-p)(1/n1 + 1/n2))
//	z       = (p2 - p1)/se
//	p_value = erfc(|z|/√2) = 2(1 - Φ(|z|))
//
// The p-value is computed with math.Erfc, not 1 - Erf, so it stays a
// positive, accurate number far into the tail (it reaches 0 only when the
// true value is below the smallest float64, |z| > ~38.5).
//
// The test is undefined (ok == false, see Reason) when a count is invalid
// (negative, or conversions > n), when n1 or n2 is 0, or when the pooled
// rate is 0 or 1, which makes se = 0.
//
// Numerics: 1-p is computed as (non-converted units)/(n1+n2) rather than by
// subtraction, and p2-p1 as (x2·n1 - x1·n2)/(n1·n2) with the cross products
// formed exactly in 128-bit integer arithmetic, so nearly equal rates at
// large n lose no precision to cancellation. Any int64 counts are accepted
// without overflow. The normal approximation itself wants roughly 10 or more
// conversions and non-conversions per group; that is the caller's policy.
func TwoProportionZTest(controlConversions, controlN, treatmentConversions, treatmentN int64) (TwoProportionZTestResult, bool) {
	x1, n1 := controlConversions, controlN
	x2, n2 := treatmentConversions, treatmentN
	if !validCounts(x1, n1) || !validCounts(x2, n2) {
		return TwoProportionZTestResult{Reason: InvalidCounts}, false
	}
	if n1 == 0 || n2 == 0 {
		return TwoProportionZTestResult{Reason: EmptyGroup}, false
	}
	// Each count is at most MaxInt64, so these uint64 sums cannot overflow.
	converted := uint64(x1) + uint64(x2)
	total := uint64(n1) + uint64(n2)
	notConverted := total - converted
	if converted == 0 || notConverted == 0 {
		return TwoProportionZTestResult{Reason: ZeroVariance}, false
	}

	fn1, fn2, fTotal := float64(n1), float64(n2), float64(total)
	pooled := float64(converted) / fTotal
	pooledComplement := float64(notConverted) / fTotal // 1-p without cancellation
	se := math.Sqrt(pooled * pooledComplement * (1/fn1 + 1/fn2))
	diff := crossDifference(x1, n1, x2, n2) / (fn1 * fn2) // p2 - p1
	z := diff / se

	return TwoProportionZTestResult{
		ControlRate:   float64(x1) / fn1,
		TreatmentRate: float64(x2) / fn2,
		PooledRate:    pooled,
		StdErr:        se,
		Z:             z,
		PValue:        twoSidedNormalPValue(z),
	}, true
}

// crossDifference returns x2·n1 - x1·n2, the numerator of p2 - p1 over the
// common denominator n1·n2, for non-negative arguments. Both products are
// formed exactly in 128 bits and subtracted exactly; the only rounding is the
// final, correctly rounded conversion to float64.
func crossDifference(x1, n1, x2, n2 int64) float64 {
	aHi, aLo := bits.Mul64(uint64(x2), uint64(n1))
	bHi, bLo := bits.Mul64(uint64(x1), uint64(n2))
	negative := aHi < bHi || (aHi == bHi && aLo < bLo)
	if negative {
		aHi, aLo, bHi, bLo = bHi, bLo, aHi, aLo
	}
	lo, borrow := bits.Sub64(aLo, bLo, 0)
	hi, _ := bits.Sub64(aHi, bHi, borrow)
	d := uint128ToFloat64(hi, lo)
	if negative {
		return -d
	}
	return d
}

// uint128ToFloat64 returns hi·2^64 + lo rounded to the nearest float64 (ties
// to even).
func uint128ToFloat64(hi, lo uint64) float64 {
	if hi == 0 {
		return float64(lo)
	}
	// Keep the top 64 significant bits and fold every discarded bit into a
	// sticky bit, so the single uint64→float64 rounding below is correct.
	shift := bits.LeadingZeros64(hi)
	top := hi<<shift | lo>>(64-shift) // lo>>64 is 0 in Go when shift is 0
	if lo<<shift != 0 {
		top |= 1
	}
	return math.Ldexp(float64(top), 64-shift)
}
