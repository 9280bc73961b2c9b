package metric

import (
	"fmt"
	"math"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Limits on metrics, documented in the README.
const (
	// MaxWindowHours bounds a conversion window: a year.
	MaxWindowHours = 24 * 366
	// MaxPropertyLen bounds a property name.
	MaxPropertyLen = 100
)

// Codes of the metric rules, stable API.
const (
	CodeNotFound        = "METRIC_NOT_FOUND"
	CodeExists          = "METRIC_EXISTS"
	CodeVersionConflict = "METRIC_VERSION_CONFLICT"
)

// ErrNotFound answers for an unknown metric and an archived one alike.
func ErrNotFound() *fault.Error { return fault.New(fault.NotFound, CodeNotFound, "no such metric") }

// Visible returns m, or ErrNotFound when m is nil or archived.
func Visible(m *Metric) (*Metric, error) {
	if m == nil || m.Status == Archived {
		return nil, ErrNotFound()
	}
	return m, nil
}

// ErrVersionConflict says the metric changed since version was read.
func ErrVersionConflict(current int64) *fault.Error {
	return fault.New(fault.Conflict, CodeVersionConflict, "the metric changed since the version you read").
		With(map[string]any{"current_version": current})
}

// CheckKey returns an INVALID_KEY error unless s is a valid metric key
// (the experiment key pattern).
func CheckKey(s string) error {
	if experiment.ValidKey(s) {
		return nil
	}
	return fault.New(fault.Invalid, fault.CodeInvalidKey, "metric key must match "+experiment.KeyPattern).
		With(map[string]any{"pattern": experiment.KeyPattern})
}

// DirectionProblem checks a direction ("" is the default, increase).
func DirectionProblem(d Direction) string {
	switch d {
	case "", Increase, Decrease:
		return ""
	}
	return "must be increase or decrease"
}

// CheckNew returns every problem of a metric about to be created.
func CheckNew(m *Metric) experiment.Problems {
	p := experiment.Problems{}
	if msg := experiment.KeyProblem(m.Key); msg != "" {
		p["key"] = msg
	}
	if msg := experiment.NameProblem(m.Name); msg != "" {
		p["name"] = msg
	}
	if msg := experiment.DescriptionProblem(m.Description); msg != "" {
		p["description"] = msg
	}
	if msg := DirectionProblem(m.Direction); msg != "" {
		p["direction"] = msg
	}
	if math.IsNaN(m.Cap) || math.IsInf(m.Cap, 0) || m.Cap < 0 {
		p["cap"] = "must be a finite number > 0 (absent: no cap)"
	}
	if m.WindowHours < 0 || m.WindowHours > MaxWindowHours {
		p["window_hours"] = fmt.Sprintf("must be an integer from 1 to %d (absent: no window)", MaxWindowHours)
	}
	switch m.Type {
	case Binomial, Count, Sum:
		checkSource(p, "", &Component{Type: m.Type, Event: m.Event, Property: m.Property})
		if m.Numerator != nil || m.Denominator != nil {
			p["numerator"] = "only ratio metrics have a numerator and a denominator"
		}
		if m.Type == Binomial && m.Cap != 0 {
			p["cap"] = "a binomial metric is 0 or 1 per unit: it takes no cap"
		}
	case Ratio:
		if m.Event != "" || m.Property != "" {
			p["event"] = "a ratio metric names its events in numerator and denominator"
		}
		for name, c := range map[string]*Component{"numerator": m.Numerator, "denominator": m.Denominator} {
			if c == nil {
				p[name] = "is required for a ratio metric"
				continue
			}
			if c.Type != Count && c.Type != Sum {
				p[name+".type"] = "must be count or sum"
				continue
			}
			checkSource(p, name+".", c)
		}
	default:
		p["type"] = "must be binomial, count, sum or ratio"
	}
	return p
}

// checkSource checks the event and property of a binomial, count or sum
// (or one side of a ratio) under prefix.
func checkSource(p experiment.Problems, prefix string, c *Component) {
	if !experiment.ValidEventName(c.Event) {
		p[prefix+"event"] = "must match " + experiment.EventNamePattern
	}
	switch {
	case c.Type == Sum && c.Property == "":
		p[prefix+"property"] = "is required for a sum: the numeric event property summed"
	case c.Type == Sum && len(c.Property) > MaxPropertyLen:
		p[prefix+"property"] = fmt.Sprintf("must be at most %d bytes", MaxPropertyLen)
	case c.Type != Sum && c.Property != "":
		p[prefix+"property"] = "only a sum reads a property"
	}
}
