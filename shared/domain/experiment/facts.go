package experiment

import (
	"encoding/json"
	"slices"
	"time"
)

// Assignment is the sticky variant of one unit (a user or a device) in one
// experiment. It also carries what the counters need to stay exact: when
// the unit was first exposed, and which events it emitted at or after
// assignment.
type Assignment struct {
	Experiment     string
	Unit           UnitRef
	Variant        string
	AssignedAt     time.Time
	FirstExposedAt time.Time // zero until the first exposure
	Conversions    []string  // event names emitted at or after AssignedAt
	// Values are the unit's raw (uncapped) running values per metric key,
	// kept by the events that feed each metric (see metric.Metric.Adds);
	// a metric the unit has no value of is absent.
	Values map[string]Value
}

// Exposed reports whether the user has been exposed at least once.
func (a *Assignment) Exposed() bool { return !a.FirstExposedAt.IsZero() }

// Converted reports whether the assignment is marked converted on event.
func (a *Assignment) Converted(event string) bool { return slices.Contains(a.Conversions, event) }

// Exposure is one append-only record that a user saw a variant.
type Exposure struct {
	ID              string
	Experiment      string
	Unit            UnitRef
	Variant         string // the variant the app says it showed
	AssignedVariant string // the variant the user is assigned; results count by it
	ExposedAt       time.Time
}

// Event is one append-only conversion event of a user.
type Event struct {
	ID         string  // the client's idempotency key, or one the server made
	Unit       UnitRef // the partition it is stored in: the user's, or a device's it converts for
	Name       string
	Timestamp  time.Time // when the user did it (client time, or server time)
	ReceivedAt time.Time // when the service accepted it
	Properties json.RawMessage
	// Evaluated are the experiments the user was assigned to when the event
	// was recorded: the only ones it can convert for.
	Evaluated []string
	// Exposed are those of Evaluated whose assignment was already exposed
	// when the event was recorded: a conversion window counts only those.
	Exposed []string
	// Applied are the experiments whose assignment took the event's metric
	// values: the store's record, so a retried event adds none twice.
	Applied []string
}

// Converts reports whether an event is a conversion for an assignment: the
// assignment existed when the event was recorded (it is among the event's
// Evaluated experiments), and the event happened at or after the
// assignment and reached the service after it. Live counters and recounts
// both use exactly this rule, on the facts the event item records.
func Converts(a *Assignment, ev *Event) bool {
	return slices.Contains(ev.Evaluated, a.Experiment) &&
		!ev.Timestamp.Before(a.AssignedAt) && !ev.ReceivedAt.Before(a.AssignedAt)
}

// Aggregates are an experiment's exact per-variant counts: users assigned,
// distinct users exposed, and distinct exposed users converted per event.
type Aggregates struct {
	Assigned  map[string]int64
	Exposed   map[string]int64
	Converted map[string]map[string]int64 // variant -> event -> users
	// Marked counts, per event, the assigned units (exposed or not) whose
	// assignment is marked converted on it: how results know that an event
	// was ever received from the experiment's units without reading events.
	Marked map[string]int64
	// Sums are the metrics' sufficient statistics per variant and metric
	// key, over exposed units (their n is Exposed[variant]).
	Sums map[string]map[string]Sums
	// AsOf is when the newest change the counts include was made (zero:
	// unknown). Counts are kept from the change stream, a moment behind.
	AsOf time.Time
}

// NewAggregates returns empty counts.
func NewAggregates() Aggregates {
	return Aggregates{Assigned: map[string]int64{}, Exposed: map[string]int64{}, Converted: map[string]map[string]int64{}, Marked: map[string]int64{}, Sums: map[string]map[string]Sums{}}
}

// AddConverted adds n converted users of variant on event.
func (g Aggregates) AddConverted(variant, event string, n int64) {
	m := g.Converted[variant]
	if m == nil {
		m = map[string]int64{}
		g.Converted[variant] = m
	}
	m[event] += n
}

// Add adds o's counts to g.
func (g Aggregates) Add(o Aggregates) {
	for k, n := range o.Assigned {
		g.Assigned[k] += n
	}
	for k, n := range o.Exposed {
		g.Exposed[k] += n
	}
	for k, m := range o.Converted {
		for e, n := range m {
			g.AddConverted(k, e, n)
		}
	}
	for e, n := range o.Marked {
		g.Marked[e] += n
	}
	for v, m := range o.Sums {
		for k, x := range m {
			g.AddSums(v, k, x)
		}
	}
}

// NonZero returns g without zero counts, so two sets of counts that differ
// only by never-incremented counters compare equal.
func (g Aggregates) NonZero() Aggregates {
	out := NewAggregates()
	for k, n := range g.Assigned {
		if n != 0 {
			out.Assigned[k] = n
		}
	}
	for k, n := range g.Exposed {
		if n != 0 {
			out.Exposed[k] = n
		}
	}
	for k, m := range g.Converted {
		for e, n := range m {
			if n != 0 {
				out.AddConverted(k, e, n)
			}
		}
	}
	for e, n := range g.Marked {
		if n != 0 {
			out.Marked[e] = n
		}
	}
	for v, m := range g.Sums {
		for k, x := range m {
			if x != (Sums{}) {
				out.AddSums(v, k, x)
			}
		}
	}
	return out
}

// Contribution is what one assignment adds to its experiment's counts: one
// assigned unit and one marked unit per event it has converted on; once
// exposed, one exposed unit and one converted unit per such event. The counts of an experiment are the sum of its
// assignments' contributions, which is what makes them a pure function of
// stored facts (a recount computes the same sum from the items).
func Contribution(a *Assignment) Aggregates { return ContributionOf(a, nil) }

// ContributionOf is Contribution with the metrics' sums: once exposed, the
// unit adds its value of each metric whose shape is known (capped, see
// Shape.Of) to its variant's sums. A metric without a shape (unknown to the
// caller) adds nothing.
func ContributionOf(a *Assignment, shapes Shapes) Aggregates {
	g := NewAggregates()
	if a == nil {
		return g
	}
	g.Assigned[a.Variant] = 1
	for _, e := range a.Conversions {
		g.Marked[e] = 1
	}
	if a.Exposed() {
		g.Exposed[a.Variant] = 1
		for _, e := range a.Conversions {
			g.AddConverted(a.Variant, e, 1)
		}
		for k, v := range a.Values {
			if sh, ok := shapes[k]; ok {
				g.AddSums(a.Variant, k, sh.Of(v))
			}
		}
	}
	return g
}

// Delta is how an assignment's change moves the counts: its contribution
// after minus its contribution before (nil before: created; nil after:
// erased). Replaying the same change twice would count it twice: whoever
// applies deltas must apply each change once.
func Delta(before, after *Assignment) Aggregates { return DeltaOf(before, after, nil) }

// DeltaOf is Delta with the metrics' sums (ContributionOf).
func DeltaOf(before, after *Assignment, shapes Shapes) Aggregates {
	return ContributionOf(after, shapes).Minus(ContributionOf(before, shapes))
}

// Minus returns g's counts less o's, without the zero ones (AsOf is not
// carried).
func (g Aggregates) Minus(o Aggregates) Aggregates {
	d := NewAggregates()
	d.Add(g)
	for k, n := range o.Assigned {
		d.Assigned[k] -= n
	}
	for k, n := range o.Exposed {
		d.Exposed[k] -= n
	}
	for k, m := range o.Converted {
		for e, n := range m {
			d.AddConverted(k, e, -n)
		}
	}
	for e, n := range o.Marked {
		d.Marked[e] -= n
	}
	for v, m := range o.Sums {
		for k, x := range m {
			d.AddSums(v, k, x.Neg())
		}
	}
	return d.NonZero()
}

// IsZero reports whether g counts nothing.
func (g Aggregates) IsZero() bool {
	n := g.NonZero()
	return len(n.Assigned) == 0 && len(n.Exposed) == 0 && len(n.Converted) == 0 && len(n.Marked) == 0 && len(n.Sums) == 0
}
