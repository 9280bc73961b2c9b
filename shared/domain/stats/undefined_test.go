package stats

import "testing"

func TestUndefinedReasonString(t *testing.T) {
	tests := []struct {
		r    UndefinedReason
		want string
	}{
		{Defined, "defined"},
		{InvalidCounts, "invalid_counts"},
		{EmptyGroup, "empty_group"},
		{ZeroVariance, "zero_variance"},
		{TooFewUnits, "too_few_units"},
		{InvalidParameter, "invalid_parameter"},
		{UndefinedReason(200), "UndefinedReason(200)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("UndefinedReason(%d).String() = %q, want %q", uint8(tt.r), got, tt.want)
		}
	}
}
