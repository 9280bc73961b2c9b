package holdout

import (
	"slices"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Membership is a unit's recorded place in one holdout's results: held out
// (it reached a covered experiment and was kept out), or exposed (it was
// first exposed in a covered experiment while not held out). It is written
// once, the first time either happens, and never changes side.
type Membership struct {
	Holdout string
	Unit    experiment.UnitRef
	HeldOut bool
	// Since is when the unit joined its side: held out, or first exposed.
	Since time.Time
	// Experiment is the covered experiment that made it a member.
	Experiment string
	// Conversions are the holdout's events the unit emitted at or after
	// Since.
	Conversions []string
}

// Converted reports whether the membership is marked converted on event.
func (m *Membership) Converted(event string) bool { return slices.Contains(m.Conversions, event) }

// Converts reports whether an event is a conversion for a membership: the
// event happened at or after the unit joined and reached the service after
// it, the rule experiment.Converts applies to an assignment's time.
func Converts(m *Membership, ev *experiment.Event) bool {
	return m.Holdout != "" && !ev.Timestamp.Before(m.Since) && !ev.ReceivedAt.Before(m.Since)
}
