package bucketing

import "testing"

// Package-level inputs so the compiler cannot fold the calls away.
var (
	allocKey     = "exp-checkout"
	allocIDs     = []string{"user-12345", "ü日本😀-user"}
	allocWeights = []float64{1, 3, 6}
	allocNS      = &Namespace{ID: "layer", Start: 0, End: 1}
	// allocLongSeed is longer than the 32 bytes a concatenation may use on
	// the stack.
	allocLongSeed = "holdout-key-of-sixty-four-characters-at-most-0123456789abcdefghi"
	sinkInt       int
	sinkFloat     float64
)

// The assignment hot path must not allocate; counts are asserted, times never.
func TestZeroAllocations(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{"Choose", func() {
			for _, id := range allocIDs {
				sinkInt, _ = Choose(allocKey, id, allocWeights, 0.8, nil)
			}
		}},
		{"Choose with namespace", func() {
			for _, id := range allocIDs {
				sinkInt, _ = Choose(allocKey, id, allocWeights, 1, allocNS)
			}
		}},
		{"Choose error", func() {
			sinkInt, _ = Choose(allocKey, allocIDs[0], allocWeights[:1], 1, nil)
		}},
		{"Hash v1", func() {
			for _, id := range allocIDs {
				sinkFloat, _ = Hash(allocKey, id, 1)
			}
		}},
		{"Hash v2", func() {
			for _, id := range allocIDs {
				sinkFloat, _ = Hash(allocKey, id, 2)
			}
		}},
		{"HashPrefixed v2, long seed", func() {
			for _, id := range allocIDs {
				sinkFloat, _ = HashPrefixed("__holdout_", allocLongSeed, id, 2)
			}
		}},
		{"InNamespace", func() {
			for _, id := range allocIDs {
				if InNamespace(id, *allocNS) {
					sinkInt++
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if allocs := testing.AllocsPerRun(1000, tt.fn); allocs != 0 {
				t.Fatalf("%s: %v allocations per run, want 0", tt.name, allocs)
			}
		})
	}
}
