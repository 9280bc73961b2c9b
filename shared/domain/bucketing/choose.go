package bucketing

// Choose returns the variant index for userID in the experiment, or -1 when
// the user is not enrolled (outside coverage or outside ns). It is the
// service's hot path and does not allocate.
//
// weights are any finite non-negative numbers, normalized by their sum
// (1:3:6 is 10%/30%/60%); a zero weight is an empty range, never chosen.
// coverage in [0, 1] is the enrolled share of users; ns, when non-nil,
// restricts the experiment to a slice of a namespace. The seed is the
// experiment key and the hash is version 2, so the answer equals
//
//	ChooseVariation(Hash(experimentKey, userID, 2),
//		BucketRanges(len(weights), coverage, normalizedWeights))
//
// and GrowthBook's RunExperiment with the same key, normalized weights,
// coverage, namespace and hashVersion 2. The ranges are walked on the fly,
// with the same floating-point operations as BucketRanges, instead of being
// built in a slice.
func Choose(experimentKey, userID string, weights []float64, coverage float64, ns *Namespace) (int, error) {
	if len(weights) < 2 {
		return -1, ErrTooFewVariants
	}
	sum, err := WeightSum(weights)
	if err != nil {
		return -1, err
	}
	if !(coverage >= 0 && coverage <= 1) {
		return -1, ErrInvalidCoverage
	}
	if userID == "" {
		return -1, ErrEmptyUserID
	}
	if ns != nil && !InNamespace(userID, *ns) {
		return -1, nil
	}
	n := hashV2(experimentKey, userID)
	cumulative := 0.0
	for i, w := range weights {
		w /= sum
		start := cumulative
		cumulative += w
		if n >= start && n < start+float64(coverage*w) {
			return i, nil
		}
	}
	return -1, nil
}
