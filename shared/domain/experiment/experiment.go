// Package experiment is the domain model: an experiment, its variants, its
// lifecycle, and the rules for keys. It has no I/O; the store persists it and
// the features act on it.
package experiment

import (
	"encoding/json"
	"time"

	"github.com/abtest/abtest/shared/domain/conditions"
)

// Status is where an experiment is in its lifecycle.
type Status string

const (
	Draft  Status = "draft"
	Active Status = "active"
	Paused Status = "paused"
	Ended  Status = "ended"
	// Archived is the state a deleted experiment keeps forever: its key then
	// answers "not found" everywhere and can never be reused, so old
	// assignments, exposures and events never get mixed with a new meaning.
	Archived Status = "archived"
)

// Statuses lists the statuses an admin can filter on, in lifecycle order.
var Statuses = []Status{Draft, Active, Paused, Ended}

// Valid reports whether s is a known status (archived included).
func (s Status) Valid() bool {
	switch s {
	case Draft, Active, Paused, Ended, Archived:
		return true
	}
	return false
}

// Variant is one arm of an experiment. The first variant of an experiment is
// its control.
type Variant struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
	// Payload is kept as raw JSON so what an admin stored is served back
	// byte for byte; nil means no payload.
	Payload json.RawMessage `json:"payload"`
}

// Experiment is one experiment definition.
type Experiment struct {
	Key         string
	Name        string
	Description string
	Status      Status
	Variants    []Variant
	// Events are the conversion events counted for this experiment. Only
	// these are counted, so what clients send can never grow the counters
	// or a unit's assignment item: other events are stored, not counted
	// (a recount backfills a name declared later).
	Events []string
	// Coverage is the share of targeted units enrolled, 0 < coverage <= 1:
	// raising it enrols more units without moving anyone (bucketing).
	Coverage float64
	// Condition targets units by their attributes (GrowthBook's condition
	// language, compiled once); nil enrols everyone.
	Condition *conditions.Condition
	// Unit is what is bucketed and counted: the user (default) or device.
	Unit Unit
	// Layer is the experiment's slice of a layer; nil: no layer.
	Layer *LayerSlice
	// Overrides force a variant on listed units (QA): nothing is stored
	// for them and nothing counted.
	Overrides map[string]string
	// Metrics are the metrics results read it on (shared/domain/metric).
	Metrics MetricRefs
	// StopOnGuardrail opts in to the circuit breaker: a results read that
	// finds a guardrail breached pauses the experiment, audited.
	StopOnGuardrail bool
	Version         int64
	CreatedAt       time.Time
	// StartedAt is when the experiment first became active (zero: never,
	// or before this was recorded); planning measures traffic from it.
	StartedAt time.Time
	UpdatedAt time.Time
	CreatedBy string
	UpdatedBy string
}

// Variant returns the variant with the given key.
func (e *Experiment) Variant(key string) (Variant, bool) {
	for _, v := range e.Variants {
		if v.Key == key {
			return v, true
		}
	}
	return Variant{}, false
}

// Weights returns the variant weights in variant order.
func (e *Experiment) Weights() []float64 {
	w := make([]float64, len(e.Variants))
	for i, v := range e.Variants {
		w[i] = v.Weight
	}
	return w
}

// CountsEvent reports whether name is one of the experiment's conversion
// events.
func (e *Experiment) CountsEvent(name string) bool {
	for _, n := range e.Events {
		if n == name {
			return true
		}
	}
	return false
}

// Control returns the key of the control variant (the first one).
func (e *Experiment) Control() string {
	if len(e.Variants) == 0 {
		return ""
	}
	return e.Variants[0].Key
}

// Tests a use case asks of a definition held in memory; one that fails is
// read again from the table (see shared/data/snapshot).

// IsActive: the experiment enrols new units.
func IsActive(e *Experiment) bool { return e.Status == Active }

// HasVariant: the definition has variant key.
func HasVariant(key string) func(*Experiment) bool {
	return func(e *Experiment) bool { _, ok := e.Variant(key); return ok }
}
