package flag

import (
	"encoding/json"
	"time"

	"github.com/abtest/abtest/shared/domain/conditions"
)

// Type is the type of every value a flag serves.
type Type string

const (
	Boolean Type = "boolean"
	String  Type = "string"
	Number  Type = "number"
	// JSON values are any JSON value; objects and arrays in practice.
	JSON Type = "json"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool {
	switch t {
	case Boolean, String, Number, JSON:
		return true
	}
	return false
}

// Kind is what a rule is.
type Kind uint8

const (
	Force Kind = iota + 1
	Rollout
	Experiment
)

// DefaultHashAttribute is the attribute a rollout hashes when it names
// none: the unit's id, as in GrowthBook.
const DefaultHashAttribute = "id"

// Rule is one rule of a flag. Which fields apply depends on Kind.
type Rule struct {
	Kind Kind
	// Condition (force, rollout) targets units by attributes; nil matches
	// every unit.
	Condition *conditions.Condition
	// Value (force, rollout) is compact JSON of the flag's type.
	Value json.RawMessage
	// Coverage (rollout) is the share of matching units served Value, in
	// [0, 1].
	Coverage float64
	// HashAttribute (rollout) is the attribute whose value is hashed.
	HashAttribute string
	// Experiment (experiment) is the key of the experiment whose variant
	// decides, and Values maps its variant keys to compact JSON values.
	Experiment string
	Values     map[string]json.RawMessage
}

// Flag is one flag definition. Conditions are compiled, so a decoded Flag
// is ready to evaluate by any number of goroutines; it must not be
// modified once shared.
type Flag struct {
	Key          string
	Description  string
	Type         Type
	DefaultValue json.RawMessage // compact JSON of Type
	Enabled      bool
	Rules        []Rule
	// Archived flags are not found anywhere, and their keys never reused.
	Archived  bool
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string
	UpdatedBy string
}

// Experiments returns the keys of the experiments f's rules name, in rule
// order, each once.
func (f *Flag) Experiments() []string {
	var out []string
	for _, r := range f.Rules {
		if r.Kind != Experiment {
			continue
		}
		seen := false
		for _, k := range out {
			seen = seen || k == r.Experiment
		}
		if !seen {
			out = append(out, r.Experiment)
		}
	}
	return out
}
