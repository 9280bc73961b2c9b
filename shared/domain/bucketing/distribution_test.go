package bucketing

import "testing"

// chiSquare returns Pearson's statistic for observed counts against the
// shares implied by weights.
func chiSquare(observed []int, weights []float64) float64 {
	total, sumW := 0, 0.0
	for i, w := range weights {
		total += observed[i]
		sumW += w
	}
	stat := 0.0
	for i, w := range weights {
		expected := float64(total) * w / sumW
		d := float64(observed[i]) - expected
		stat += d * d / expected
	}
	return stat
}

// The split must be indistinguishable from the configured weights: a
// goodness-of-fit test at p = 0.001 must not reject it. Ids and key are
// fixed, so the test is deterministic.
func TestDistributionChiSquare(t *testing.T) {
	const n = 100_000
	tests := []struct {
		name     string
		weights  []float64
		critical float64 // chi-square critical value at p = 0.001 for df = len(weights)-1
	}{
		{"50/50", []float64{50, 50}, 10.828},
		{"10/30/60", []float64{1, 3, 6}, 13.816},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := counts(t, "exp-distribution", n, tt.weights, 1, nil)
			if c[len(tt.weights)] != 0 {
				t.Fatalf("%d users not enrolled at full coverage", c[len(tt.weights)])
			}
			stat := chiSquare(c[:len(tt.weights)], tt.weights)
			t.Logf("counts %v, chi-square %.3f (critical %.3f)", c[:len(tt.weights)], stat, tt.critical)
			if stat > tt.critical {
				t.Fatalf("chi-square %.3f exceeds %.3f: split %v does not fit weights %v", stat, tt.critical, c, tt.weights)
			}
		})
	}
}
