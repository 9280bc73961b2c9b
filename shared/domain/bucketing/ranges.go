package bucketing

// Range is the half-open interval [Start, End) of hash values that a variant
// owns. A range with Start >= End is empty and never chosen.
type Range struct {
	Start, End float64
}

// EqualWeights returns n weights of 1/n. For n <= 0 it returns an empty,
// non-nil slice, as GrowthBook's getEqualWeights returns [].
func EqualWeights(n int) []float64 {
	if n <= 0 {
		return []float64{}
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

// BucketRanges lays numVariations variants out on [0, 1) exactly as
// GrowthBook's getBucketRanges does, so that explicit ranges stored or shown
// by the service match what any GrowthBook SDK would compute.
//
// coverage is clamped to [0, 1]. weights fall back to equal weights when nil,
// of the wrong length, or not summing to 0.99..1.01 (a NaN sum counts as out
// of bounds). Variant i gets [c_i, c_i + coverage*weights[i]) where c_i is the
// sum of the weights before it, so coverage leaves a gap after each range.
func BucketRanges(numVariations int, coverage float64, weights []float64) []Range {
	if coverage < 0 {
		coverage = 0
	} else if coverage > 1 {
		coverage = 1
	}
	if weights == nil || len(weights) != numVariations {
		weights = EqualWeights(numVariations)
	} else {
		total := 0.0
		for _, w := range weights {
			total += w
		}
		if !(total >= 0.99 && total <= 1.01) {
			weights = EqualWeights(numVariations)
		}
	}
	ranges := make([]Range, len(weights))
	cumulative := 0.0
	for i, w := range weights {
		start := cumulative
		cumulative += w
		// float64() forbids a fused multiply-add, keeping JavaScript's rounding.
		ranges[i] = Range{Start: start, End: start + float64(coverage*w)}
	}
	return ranges
}

// ChooseVariation returns the index of the first range with
// Start <= n < End, or -1 when n lies in none (the user is not enrolled).
func ChooseVariation(n float64, ranges []Range) int {
	for i, r := range ranges {
		if n >= r.Start && n < r.End {
			return i
		}
	}
	return -1
}

// Namespace is a slice [Start, End) of a named hash space. Experiments given
// non-overlapping slices of the same namespace never share a user, which is
// how mutually exclusive experiments (layers) are built.
type Namespace struct {
	ID         string
	Start, End float64
}

// InNamespace reports whether userID falls in ns, as GrowthBook's inNamespace:
// n = Hash("__"+ns.ID, userID, 1) and Start <= n < End. The namespace hash
// uses the experiment-independent seed so one user sits at the same point of
// the namespace for every experiment in it.
func InNamespace(userID string, ns Namespace) bool {
	// hashV1 hashes value then seed, i.e. userID + "__" + ns.ID.
	h := fnvAdd(fnvAdd(fnvAdd(fnvOffset32, userID), "__"), ns.ID)
	n := float64(h%1000) / 1000
	return n >= ns.Start && n < ns.End
}
