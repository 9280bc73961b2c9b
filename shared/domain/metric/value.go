package metric

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Shape is how the statistics turn a unit's raw value of m into its
// contribution (experiment.Shape): fixed at creation, like m's cap.
func (m *Metric) Shape() experiment.Shape {
	return experiment.Shape{Binary: m.Type == Binomial, Ratio: m.Type == Ratio, Cap: m.Cap}
}

// Feeds reports whether events named name add to m's values.
func (m *Metric) Feeds(name string) bool {
	switch m.Type {
	case Ratio:
		return (m.Numerator != nil && m.Numerator.Event == name) || (m.Denominator != nil && m.Denominator.Event == name)
	}
	return m.Event == name
}

// Counts reports whether event ev counts toward the unit's value of m on
// assignment a. Every metric counts what converts (experiment.Converts: the
// unit was assigned when the event was recorded, and the event happened and
// arrived at or after assignment), exposed or not yet: a unit's statistics
// count once it is exposed, with what it did since assignment. A metric
// with a window counts only events recorded once the unit was exposed
// (ev.Exposed names the experiment) whose timestamp lies in
// [first exposure, first exposure + window): both facts are stored, the
// first exposure on the assignment (set once) and ev.Exposed on the event,
// so live values and a recount decide alike.
func (m *Metric) Counts(a *experiment.Assignment, ev *experiment.Event) bool {
	if !experiment.Converts(a, ev) {
		return false
	}
	if m.WindowHours == 0 {
		return true
	}
	if !a.Exposed() || !slices.Contains(ev.Exposed, a.Experiment) {
		return false
	}
	end := a.FirstExposedAt.Add(time.Duration(m.WindowHours) * time.Hour)
	return !ev.Timestamp.Before(a.FirstExposedAt) && ev.Timestamp.Before(end)
}

// Adds returns what ev adds to the unit's raw value of m on assignment a,
// and whether it adds anything: 1 per event for a binomial or a count, the
// event's numeric property for a sum (an event without it, or with a value
// that is not a number, adds nothing), each side of a ratio so.
func (m *Metric) Adds(a *experiment.Assignment, ev *experiment.Event) (experiment.Value, bool) {
	if !m.Feeds(ev.Name) || !m.Counts(a, ev) {
		return experiment.Value{}, false
	}
	return m.raw(ev)
}

// raw is what ev adds to a unit's raw value of m, whatever it converts.
func (m *Metric) raw(ev *experiment.Event) (experiment.Value, bool) {
	switch m.Type {
	case Ratio:
		x, okX := componentAdds(m.Numerator, ev)
		y, okY := componentAdds(m.Denominator, ev)
		return experiment.Value{X: x, Y: y}, okX || okY
	case Sum:
		x, ok := number(ev.Properties, m.Property)
		return experiment.Value{X: x}, ok
	}
	return experiment.Value{X: 1}, true
}

func componentAdds(c *Component, ev *experiment.Event) (float64, bool) {
	if c == nil || c.Event != ev.Name {
		return 0, false
	}
	if c.Type == Sum {
		return number(ev.Properties, c.Property)
	}
	return 1, true
}

// number reads a numeric property of an event's properties (a JSON object).
func number(props json.RawMessage, name string) (float64, bool) {
	if len(props) == 0 {
		return 0, false
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(props, &all) != nil {
		return 0, false
	}
	var f float64
	if raw, ok := all[name]; !ok || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

// AddsAll sums what ev adds to the unit's values of every metric of ms on
// assignment a, by metric key (nil when it adds nothing).
func AddsAll(ms []*Metric, a *experiment.Assignment, ev *experiment.Event) map[string]experiment.Value {
	var out map[string]experiment.Value
	for _, m := range ms {
		if v, ok := m.Adds(a, ev); ok && v != (experiment.Value{}) {
			if out == nil {
				out = map[string]experiment.Value{}
			}
			out[m.Key] = out[m.Key].Plus(v)
		}
	}
	return out
}

// HistoryAll sums what ev adds to its unit's daily history of every metric
// of ms that has a CUPED covariate (every type but ratio), by metric key
// (nil when it adds nothing): the raw value, whatever the unit's
// assignments, since the history is what the unit did before any of them.
func HistoryAll(ms []*Metric, ev *experiment.Event) map[string]float64 {
	var out map[string]float64
	for _, m := range ms {
		if m.Type == Ratio || !m.Feeds(ev.Name) {
			continue
		}
		if v, ok := m.raw(ev); ok && v.X != 0 {
			if out == nil {
				out = map[string]float64{}
			}
			out[m.Key] += v.X
		}
	}
	return out
}
