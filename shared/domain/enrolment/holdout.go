package enrolment

import (
	"slices"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// Holdout keeps Percent of all units out of the experiments it covers.
type Holdout struct {
	Key string
	// Percent is the share held out, 0 to 100. Below 0 (or NaN) holds out
	// no one, above 100 everyone.
	Percent float64
	// Layers are the layer keys whose experiments it covers; empty covers
	// every experiment, with a layer or without.
	Layers []string
}

// holdoutSeed prefixes a holdout's key in its hash seed, so a holdout
// never lines up with an experiment or namespace of the same key.
const holdoutSeed = "__holdout_"

// InHoldout reports whether h holds unitID out: GrowthBook's hash
// version 2, Hash("__holdout_"+h.Key, unitID, 2) < h.Percent/100. The point
// depends on the key and unit alone, so raising Percent only adds units and
// lowering it only releases them.
func InHoldout(h Holdout, unitID string) bool {
	n, _ := bucketing.HashPrefixed(holdoutSeed, h.Key, unitID, 2)
	return n < h.Percent/100
}

// Covers reports whether h applies to exp: h names no layer, or names the
// layer exp has a slice of.
func (h Holdout) Covers(exp *experiment.Experiment) bool {
	if len(h.Layers) == 0 {
		return true
	}
	return exp.Layer != nil && slices.Contains(h.Layers, exp.Layer.Key)
}
