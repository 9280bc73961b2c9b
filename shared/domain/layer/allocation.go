package layer

import (
	"slices"
	"sort"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Claim returns the allocation with h placed (replacing any entry of h's
// experiment), or why it cannot be: LAYER_RANGE_OVERLAP naming the
// experiment whose slice h's would share a point with, or LAYER_FULL.
func (l *Layer) Claim(h Holder) ([]Holder, error) {
	if other, ok := Overlapping(l.Holders, h); ok {
		return nil, ErrOverlap(l.Key, other)
	}
	next := Place(l.Holders, h.Experiment, &h)
	if len(next) > MaxHolders {
		return nil, ErrFull(l.Key)
	}
	return next, nil
}

// Release returns the allocation without exp's entry.
func (l *Layer) Release(exp string) []Holder { return Place(l.Holders, exp, nil) }

// Holder returns exp's entry, if it holds a slice.
func (l *Layer) Holder(exp string) (Holder, bool) {
	for _, h := range l.Holders {
		if h.Experiment == exp {
			return h, true
		}
	}
	return Holder{}, false
}

// Overlapping returns the first holder, other than h's own experiment,
// whose slice shares a point with h's. Slices are half-open, as GrowthBook's
// inNamespace is: [0, 0.5) and [0.5, 1) do not overlap.
func Overlapping(holders []Holder, h Holder) (Holder, bool) {
	mine := experiment.LayerSlice{Start: h.Start, End: h.End}
	for _, o := range holders {
		if o.Experiment != h.Experiment && mine.Overlaps(experiment.LayerSlice{Start: o.Start, End: o.End}) {
			return o, true
		}
	}
	return Holder{}, false
}

// Place returns a new allocation: holders with exp's entry replaced by h,
// or removed when h is nil, ordered by start (then experiment key, so the
// order is one answer even for empty slices of stored data).
func Place(holders []Holder, exp string, h *Holder) []Holder {
	out := make([]Holder, 0, len(holders)+1)
	for _, o := range holders {
		if o.Experiment != exp {
			out = append(out, o)
		}
	}
	if h != nil {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Experiment < out[j].Experiment
	})
	return out
}

// Free returns the parts of [0, 1) no holder covers, in order. It does not
// rely on the holders being disjoint or sorted.
func Free(holders []Holder) []Range {
	sorted := slices.Clone(holders)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start < sorted[j].Start })
	out := []Range{}
	at := 0.0
	for _, h := range sorted {
		if h.Start > at {
			out = append(out, Range{Start: at, End: min(h.Start, 1)})
		}
		at = max(at, h.End)
		if at >= 1 {
			return out
		}
	}
	return append(out, Range{Start: at, End: 1})
}
