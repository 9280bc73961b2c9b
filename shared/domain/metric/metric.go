// Package metric is the domain model of metrics: what a unit's value on an
// experiment is made of (a binomial, count or sum of an event, or a ratio
// of two of those), how it is capped and windowed, and which direction is
// good; with the rules that check a definition. It has no I/O.
package metric

import (
	"time"

	"github.com/abtest/abtest/shared/domain/stats"
)

// Type is what a metric computes per unit.
type Type string

const (
	// Binomial: 1 when the unit emitted Event (in the window), else 0.
	Binomial Type = "binomial"
	// Count: the number of Events the unit emitted.
	Count Type = "count"
	// Sum: the sum of the numeric Property of the unit's Events.
	Sum Type = "sum"
	// Ratio: the total of Numerator over the total of Denominator, each a
	// count or a sum per unit (delta method).
	Ratio Type = "ratio"
)

// Types lists the metric types in documentation order.
var Types = []Type{Binomial, Count, Sum, Ratio}

// Direction says which way a metric's change is good.
type Direction string

const (
	Increase Direction = "increase" // the default
	Decrease Direction = "decrease"
)

// Status is where a metric is in its life: live, or archived for good.
type Status string

const (
	Live     Status = "live"
	Archived Status = "archived"
)

// Component is one side of a ratio: a count of an event, or a sum of one
// of its numeric properties, per unit.
type Component struct {
	Type     Type   `json:"type"` // Count or Sum
	Event    string `json:"event"`
	Property string `json:"property,omitempty"` // Sum only
}

// Metric is one metric definition. What it computes (type, event,
// property, numerator, denominator, cap, window) is fixed at creation: its
// statistics are kept under that definition from then on, so computing
// something else is a new metric. Name, description and direction change.
type Metric struct {
	Key         string
	Name        string
	Description string
	Type        Type
	Event       string // binomial, count, sum
	Property    string // sum: the numeric event property summed
	Numerator   *Component
	Denominator *Component
	// Cap winsorises a unit's value (each side of a ratio) at Cap; 0: none.
	Cap float64
	// WindowHours counts only events within that many hours after the
	// unit's first exposure; 0: no window.
	WindowHours int
	Direction   Direction
	Status      Status
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CreatedBy   string
	UpdatedBy   string
}

// Kind is how the statistics read the metric.
func (m *Metric) Kind() stats.Kind {
	switch m.Type {
	case Binomial:
		return stats.Binomial
	case Ratio:
		return stats.Ratio
	}
	return stats.Continuous
}

// LowerIsBetter reports whether a decrease is the good direction.
func (m *Metric) LowerIsBetter() bool { return m.Direction == Decrease }

// Events are the event names the metric reads, each once.
func (m *Metric) Events() []string {
	if m.Type != Ratio {
		return []string{m.Event}
	}
	out := []string{}
	for _, c := range []*Component{m.Numerator, m.Denominator} {
		if c != nil && (len(out) == 0 || out[0] != c.Event) {
			out = append(out, c.Event)
		}
	}
	return out
}
