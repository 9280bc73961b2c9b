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
	// ZeroVariance means no unit converted or every unit converted (the
	// pooled rate is 0 or 1), so the standard error is 0 and z is 0/0.
	ZeroVariance
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
	}
	return "UndefinedReason(" + strconv.Itoa(int(r)) + ")"
}
