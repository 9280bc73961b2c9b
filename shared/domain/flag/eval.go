package flag

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/conditions"
)

// Source says where a flag's value came from.
type Source string

const (
	SourceDefault    Source = "default"
	SourceDisabled   Source = "disabled"
	SourceForce      Source = "force"
	SourceRollout    Source = "rollout"
	SourceExperiment Source = "experiment"
)

// Result is the value a unit gets and why. Value is shared with the
// definition: callers must not modify it.
type Result struct {
	Value  json.RawMessage
	Source Source
	// Experiment and Variant name the experiment rule that decided, and
	// the unit's variant in it (source "experiment" only).
	Experiment string
	Variant    string
	// Rule is the index of the rule that decided, -1 for none.
	Rule int
}

// Enrolments answers, for the unit being evaluated, its variant of an
// experiment, or ok false when the unit is not enrolled in it. Asking may
// enrol the unit (the experiment's full decision); Evaluate asks only
// about the experiment rules it reaches, in order, so a unit is never
// enrolled in an experiment whose rule an earlier rule shadows.
type Enrolments interface {
	Variant(experimentKey string) (variantKey string, ok bool)
}

// rolloutHashVersion is the hash GrowthBook's rollout rules use (its SDKs
// default to version 1 when a rule names none, and rollouts name none).
const rolloutHashVersion = 1

// Evaluate returns the value f serves a unit with attributes attrs
// (conditions see saved groups groups). enr answers experiment rules; nil
// enrols the unit in nothing. It allocates nothing unless a rollout hashes
// a number.
func (f *Flag) Evaluate(attrs map[string]any, groups conditions.SavedGroups, enr Enrolments) Result {
	if !f.Enabled {
		return Result{Value: f.DefaultValue, Source: SourceDisabled, Rule: -1}
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		switch r.Kind {
		case Force:
			if r.Condition.Eval(attrs, groups) {
				return Result{Value: r.Value, Source: SourceForce, Rule: i}
			}
		case Rollout:
			if r.Condition.Eval(attrs, groups) && InRollout(f.Key, r.Coverage, attrs[r.HashAttribute]) {
				return Result{Value: r.Value, Source: SourceRollout, Rule: i}
			}
		case Experiment:
			if enr == nil {
				continue
			}
			variant, ok := enr.Variant(r.Experiment)
			if !ok {
				continue
			}
			if v, ok := r.Values[variant]; ok {
				return Result{Value: v, Source: SourceExperiment, Experiment: r.Experiment, Variant: variant, Rule: i}
			}
		}
	}
	return Result{Value: f.DefaultValue, Source: SourceDefault, Rule: -1}
}

// InRollout reports whether a unit whose hash attribute has value v is in
// a rollout of flag key at coverage, as GrowthBook's isIncludedInRollout
// decides it: coverage 0 includes no one, a unit without a usable value
// (see hashValue) is out, and otherwise the unit is in when
// hash(key, value, 1) <= coverage. The hash does not depend on coverage,
// so a unit in at one coverage is in at every higher one.
func InRollout(key string, coverage float64, v any) bool {
	if !(coverage > 0) {
		return false
	}
	s, ok := hashValue(v)
	if !ok {
		return false
	}
	n, ok := bucketing.Hash(key, s, rolloutHashVersion)
	return ok && n <= coverage
}

// hashValue is the string GrowthBook hashes for an attribute value: a
// non-empty string as it is, a finite non-zero number as JavaScript's
// String() writes it; anything else (missing, "", 0, booleans, null,
// arrays, objects) is no value, as in growthbook-golang.
func hashValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, v != ""
	case float64:
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		return jsNumber(v), true
	case int:
		return strconv.Itoa(v), v != 0
	case int64:
		return strconv.FormatInt(v, 10), v != 0
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return "", false
		}
		return hashValue(f)
	}
	return "", false
}

// jsNumber writes a finite number as JavaScript's Number.prototype.toString:
// the shortest round-trip digits, in plain notation from 1e-6 up to 1e21
// and in exponent notation ("1e+21", "1.5e-7") outside.
func jsNumber(f float64) string {
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // "1.5e-07", "1e+21"
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[:1]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + sign + exp
}
