package flag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Limits on definitions, documented in the README.
const (
	// MaxRules bounds a flag's rules: each is evaluated for every unit.
	MaxRules = 50
	// MaxValueBytes bounds one value (the default or a rule's), as
	// experiment payloads are bounded.
	MaxValueBytes = experiment.MaxPayloadBytes
	// MaxHashAttributeLen bounds a rollout's hash attribute name.
	MaxHashAttributeLen = 256
	// MaxDefinitionBytes bounds a whole definition below DynamoDB's item
	// limit, as for experiments.
	MaxDefinitionBytes = experiment.MaxDefinitionBytes
)

// ValueProblem checks that raw (compact JSON) is a value of type t.
func ValueProblem(t Type, raw json.RawMessage) string {
	if len(raw) == 0 {
		return "is required"
	}
	if len(raw) > MaxValueBytes {
		return fmt.Sprintf("must be at most %d bytes of JSON", MaxValueBytes)
	}
	switch t {
	case Boolean:
		if s := string(raw); s != "true" && s != "false" {
			return "must be true or false: the flag's type is boolean"
		}
	case String:
		var s string
		if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return "must be a string: the flag's type is string"
		}
	case Number:
		// A JSON number (not a string of one), finite as a float64.
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			return "must be a number: the flag's type is number"
		}
		if n, err := strconv.ParseFloat(string(raw), 64); err != nil || math.IsInf(n, 0) {
			return "must be a finite number"
		}
	case JSON:
		if !json.Valid(raw) {
			return "must be JSON"
		}
	}
	return ""
}

// TypeProblem checks a flag's type.
func TypeProblem(t Type) string {
	if !t.Valid() {
		return "must be boolean, string, number or json"
	}
	return ""
}

// CheckNew returns every problem of a flag about to be created (except
// whether its experiment rules name experiments: CheckExperiments).
func CheckNew(f *Flag) experiment.Problems {
	p := experiment.Problems{}
	if msg := experiment.KeyProblem(f.Key); msg != "" {
		p["key"] = msg
	}
	CheckFields(p, f)
	return p
}

// CheckFields adds to p every problem of f's fields besides its key: the
// description, type, default value and rules, and its size.
func CheckFields(p experiment.Problems, f *Flag) {
	if msg := experiment.DescriptionProblem(f.Description); msg != "" {
		p["description"] = msg
	}
	if msg := TypeProblem(f.Type); msg != "" {
		p["type"] = msg
		return // values cannot be checked against no type
	}
	if msg := ValueProblem(f.Type, f.DefaultValue); msg != "" {
		p["default_value"] = msg
	}
	CheckRules(p, "rules", f.Type, f.Rules)
	if n := f.approxSize(); n > MaxDefinitionBytes {
		p["definition"] = fmt.Sprintf("is %d bytes, at most %d (values and conditions together)", n, MaxDefinitionBytes)
	}
}

// CheckRules adds to p every problem of parsed rules for a flag of type t:
// values of the type, coverage in [0, 1], a hash attribute, an experiment
// key and at least one variant value.
func CheckRules(p experiment.Problems, field string, t Type, rules []Rule) {
	if len(rules) > MaxRules {
		p[field] = fmt.Sprintf("must hold at most %d rules", MaxRules)
		return
	}
	for i, r := range rules {
		at := field + "[" + strconv.Itoa(i) + "]"
		switch r.Kind {
		case Force, Rollout:
			if _, seen := p[at+".value"]; !seen {
				if msg := ValueProblem(t, r.Value); msg != "" {
					p[at+".value"] = msg
				}
			}
		case Experiment:
			if msg := experiment.KeyProblem(r.Experiment); msg != "" && p[at+".experiment"] == "" {
				p[at+".experiment"] = msg
			}
			if len(r.Values) == 0 && p[at+".values"] == "" {
				p[at+".values"] = "must give a value for every variant of the experiment"
			}
			for _, k := range sortedKeys(r.Values) {
				if msg := experiment.KeyProblem(k); msg != "" {
					p[at+".values."+k] = "must be keyed by variant keys: " + msg
				} else if msg := ValueProblem(t, r.Values[k]); msg != "" {
					p[at+".values."+k] = msg
				}
			}
		}
		if r.Kind == Rollout {
			if c := r.Coverage; math.IsNaN(c) || c < 0 || c > 1 {
				p[at+".coverage"] = "must be a number with 0 <= coverage <= 1"
			}
			if h := r.HashAttribute; h == "" || utf8.RuneCountInString(h) > MaxHashAttributeLen || !utf8.ValidString(h) {
				p[at+".hash_attribute"] = fmt.Sprintf("must be an attribute name of 1 to %d characters", MaxHashAttributeLen)
			}
		}
	}
}

// Variants answers the variant keys of an experiment that exists and is
// not archived; ok is false for any other key.
type Variants func(experimentKey string) (variants []string, ok bool)

// CheckExperiments adds to p a problem for every experiment rule of rules
// that names an unknown (or archived) experiment, gives a value for a key
// that is not one of its variants, or leaves one of its variants without a
// value.
func CheckExperiments(p experiment.Problems, field string, rules []Rule, variantsOf Variants) {
	for i, r := range rules {
		at := field + "[" + strconv.Itoa(i) + "]"
		if r.Kind != Experiment || !experiment.ValidKey(r.Experiment) {
			continue
		}
		variants, ok := variantsOf(r.Experiment)
		if !ok {
			p[at+".experiment"] = fmt.Sprintf("names no experiment: %q is unknown or archived", r.Experiment)
			continue
		}
		var missing []string
		for _, v := range variants {
			if _, ok := r.Values[v]; !ok {
				missing = append(missing, v)
			}
		}
		for _, k := range sortedKeys(r.Values) {
			if !contains(variants, k) {
				p[at+".values."+k] = fmt.Sprintf("is not a variant of experiment %q (its variants: %s)", r.Experiment, strings.Join(variants, ", "))
			}
		}
		if len(missing) > 0 && p[at+".values"] == "" {
			p[at+".values"] = fmt.Sprintf("must give a value for every variant of experiment %q: missing %s", r.Experiment, strings.Join(missing, ", "))
		}
	}
}

// approxSize is the definition's size as DynamoDB counts it, near enough
// to keep it under the item limit.
func (f *Flag) approxSize() int {
	n := len(f.Key) + len(f.Description) + len(f.DefaultValue) + 512
	for _, r := range f.Rules {
		n += len(r.Value) + len(r.HashAttribute) + len(r.Experiment) + 64
		for k, v := range r.Values {
			n += len(k) + len(v) + 8
		}
		if r.Condition != nil {
			b, _ := r.Condition.MarshalJSON()
			n += len(b)
		}
	}
	return n
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CompactValue returns raw compacted, for a value decoded by an edge.
func CompactValue(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return compact(raw)
}
