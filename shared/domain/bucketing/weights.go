package bucketing

import (
	"errors"
	"math"
)

// Errors returned for inputs that cannot be bucketed. They are sentinels so
// callers can map them with errors.Is, and returning them never allocates.
var (
	// ErrInvalidWeight: a weight is NaN, infinite or negative, or the
	// weights are so large their sum overflows.
	ErrInvalidWeight = errors.New("bucketing: weights must be finite and non-negative")
	// ErrNoPositiveWeight: no weight is greater than zero, so no variant
	// could ever receive a user.
	ErrNoPositiveWeight = errors.New("bucketing: at least one weight must be positive")
	// ErrTooFewVariants: fewer than two variants; GrowthBook does not run
	// such an experiment either.
	ErrTooFewVariants = errors.New("bucketing: an experiment needs at least two variants")
	// ErrInvalidCoverage: coverage is NaN or outside [0, 1].
	ErrInvalidCoverage = errors.New("bucketing: coverage must be within [0, 1]")
	// ErrEmptyUserID: there is nothing to hash; GrowthBook skips the
	// experiment in that case, and here it is almost surely a caller bug.
	ErrEmptyUserID = errors.New("bucketing: user id must not be empty")
)

// WeightSum validates weights and returns their sum. The service accepts any
// finite non-negative weights (1:3:6 as well as 50:50) and divides by this
// sum; a zero weight is allowed and gives a variant that receives no users.
func WeightSum(weights []float64) (float64, error) {
	sum := 0.0
	for _, w := range weights {
		// !(w >= 0) also rejects NaN.
		if !(w >= 0) || math.IsInf(w, 1) {
			return 0, ErrInvalidWeight
		}
		sum += w
	}
	if math.IsInf(sum, 1) {
		return 0, ErrInvalidWeight
	}
	if sum == 0 {
		return 0, ErrNoPositiveWeight
	}
	return sum, nil
}

// NormalizeWeights returns weights divided by their sum (see WeightSum), the
// form GrowthBook's BucketRanges expects. It allocates; use
// AppendNormalizedWeights to reuse a buffer.
func NormalizeWeights(weights []float64) ([]float64, error) {
	return AppendNormalizedWeights(make([]float64, 0, len(weights)), weights)
}

// AppendNormalizedWeights appends the normalized weights to dst and returns
// the extended slice, allocating nothing when dst has room. On error dst is
// returned unchanged.
func AppendNormalizedWeights(dst, weights []float64) ([]float64, error) {
	sum, err := WeightSum(weights)
	if err != nil {
		return dst, err
	}
	for _, w := range weights {
		dst = append(dst, w/sum)
	}
	return dst, nil
}
