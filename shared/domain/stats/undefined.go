package stats

import "strconv"

// UndefinedReason says why a statistic could not be computed. The zero
// value, Defined, means it was.
type UndefinedReason uint8

const (
	// Defined means the statistic was computed.
	Defined UndefinedReason = iota
	// InvalidCounts means a count was negative or a group's conversions
	// exceeded its size.
	InvalidCounts
	// EmptyGroup means a group had no units, so its rate is 0/0.
	EmptyGroup
	// ZeroVariance means the standard error of the effect is 0, so the test
	// statistic is 0/0: for the z-test, no unit converted or every unit did
	// (the pooled rate is 0 or 1); for a mean, every unit had the same value.
	ZeroVariance
	// TooFewUnits means a group had fewer than the two units a sample
	// variance needs.
	TooFewUnits
	// InvalidParameter means an option was out of range (alpha outside
	// (0, 1), a negative tuning parameter or prior variance, ...).
	InvalidParameter
)

// String returns a stable snake_case identifier, e.g. "empty_group".
func (r UndefinedReason) String() string {
	switch r {
	case Defined:
		return "defined"
	case InvalidCounts:
		return "invalid_counts"
	case EmptyGroup:
		return "empty_group"
	case ZeroVariance:
		return "zero_variance"
	case TooFewUnits:
		return "too_few_units"
	case InvalidParameter:
		return "invalid_parameter"
	}
	return "UndefinedReason(" + strconv.Itoa(int(r)) + ")"
}
