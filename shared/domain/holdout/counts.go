package holdout

import "github.com/abtest/abtest/shared/domain/experiment"

// The two groups of a holdout's results. A holdout's counts are kept in
// the shape of an experiment's, with one arm per group (units counted as
// assigned, converted units as converted), so the same counter shards,
// transaction and stream checkpoint carry both.
const (
	GroupHeldOut = "held_out"
	GroupExposed = "exposed"
)

// Group is the group m counts in.
func (m *Membership) Group() string {
	if m.HeldOut {
		return GroupHeldOut
	}
	return GroupExposed
}

// Contribution is what one membership adds to its holdout's counts: one
// unit in its group, and one converted unit per event it converted on. A
// holdout's counts are the sum of its memberships' contributions, a pure
// function of the stored items.
func Contribution(m *Membership) experiment.Aggregates {
	g := experiment.NewAggregates()
	if m == nil {
		return g
	}
	arm := m.Group()
	g.Assigned[arm] = 1
	for _, e := range m.Conversions {
		g.AddConverted(arm, e, 1)
	}
	return g
}

// Delta is how a membership's change moves the counts (nil before: created;
// nil after: erased). As with experiment.Delta, each change must be applied
// once.
func Delta(before, after *Membership) experiment.Aggregates {
	return Contribution(after).Minus(Contribution(before))
}
