package stats

import (
	"math"
	"testing"
)

func TestTwoSidedNormalPValue(t *testing.T) {
	// Reference values: erfc(|z|/√2) to 17 digits from the decimal series
	// in testdata/gen_ztest_golden.py.
	tests := []struct {
		z, want float64
	}{
		{0, 1},
		{1, 0.3173105078629141},
		{-1, 0.3173105078629141},
		{1.959963984540054, 0.05000000000000003},
		{3, 0.002699796063260189},
		{-3, 0.002699796063260189},
		{40, 0}, // true value ≈ 7.3e-350 is below the float64 range
		{math.Inf(1), 0},
	}
	for _, tt := range tests {
		if got := twoSidedNormalPValue(tt.z); !closeRel(got, tt.want, 1e-14) {
			t.Errorf("twoSidedNormalPValue(%v) = %.17g, want %.17g", tt.z, got, tt.want)
		}
	}
}
