package flag

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// The fields of each kind of rule, in the JSON the API and the table use.
var (
	forceFields      = []string{"condition", "value"}
	rolloutFields    = []string{"condition", "coverage", "value", "hash_attribute"}
	experimentFields = []string{"experiment", "values"}
)

const ruleShapes = `must be a force {"condition", "value"}, rollout {"condition", "coverage", "value", "hash_attribute"} or experiment {"experiment", "values"} rule`

// ParseRules decodes a rules array (field names its path, "rules") into
// rules, compiling their conditions, and adds to p every problem of its
// shape, by path ("rules[2].value", "rules[0].condition.country.$regex").
// Whether values fit the flag's type is CheckRules' business.
func ParseRules(p experiment.Problems, field string, raw json.RawMessage) []Rule {
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		p[field] = "must be an array of rules"
		return nil
	}
	if len(items) > MaxRules {
		p[field] = "must hold at most " + strconv.Itoa(MaxRules) + " rules"
		return nil
	}
	out := make([]Rule, len(items))
	for i, item := range items {
		out[i] = parseRule(p, field+"["+strconv.Itoa(i)+"]", item)
	}
	return out
}

func parseRule(p experiment.Problems, at string, raw json.RawMessage) Rule {
	var fields map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &fields) != nil {
		p[at] = ruleShapes
		return Rule{}
	}
	var r Rule
	allowed := forceFields
	switch {
	case has(fields, "experiment") || has(fields, "values"):
		r.Kind, allowed = Experiment, experimentFields
	case has(fields, "coverage") || has(fields, "hash_attribute"):
		r.Kind, allowed = Rollout, rolloutFields
	case has(fields, "value"):
		r.Kind = Force
	default:
		p[at] = ruleShapes
		return Rule{}
	}
	for name := range fields {
		if !contains(allowed, name) {
			p[at+"."+name] = "unknown field for this kind of rule: " + ruleShapes
		}
	}
	if r.Kind == Experiment {
		parseExperimentRule(p, at, fields, &r)
		return r
	}
	if c, ok := fields["condition"]; ok && !isNull(c) {
		r.Condition = compileCondition(p, at+".condition", c)
	}
	if v, ok := fields["value"]; ok {
		r.Value = compact(v)
	} else {
		p[at+".value"] = "is required"
	}
	if r.Kind == Rollout {
		r.HashAttribute = DefaultHashAttribute
		if c, ok := fields["coverage"]; !ok {
			p[at+".coverage"] = "is required"
		} else if json.Unmarshal(c, &r.Coverage) != nil || isNull(c) {
			p[at+".coverage"] = "must be a number with 0 <= coverage <= 1"
		}
		if h, ok := fields["hash_attribute"]; ok && json.Unmarshal(h, &r.HashAttribute) != nil {
			p[at+".hash_attribute"] = "must be a string: the attribute whose value is hashed"
		}
	}
	return r
}

func parseExperimentRule(p experiment.Problems, at string, fields map[string]json.RawMessage, r *Rule) {
	if k, ok := fields["experiment"]; !ok {
		p[at+".experiment"] = "is required"
	} else if json.Unmarshal(k, &r.Experiment) != nil {
		p[at+".experiment"] = "must be an experiment key"
	}
	v, ok := fields["values"]
	if !ok {
		p[at+".values"] = "is required"
		return
	}
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &r.Values) != nil {
		p[at+".values"] = `must be an object of variant key to value, e.g. {"control": false, "treatment": true}`
		r.Values = nil
		return
	}
	for k, val := range r.Values {
		r.Values[k] = compact(val)
	}
}

// compileCondition compiles a rule's condition; a problem names the path
// inside it under at ("rules[1].condition.$and[0].country.$regex").
func compileCondition(p experiment.Problems, at string, raw json.RawMessage) *conditions.Condition {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		p[at] = "must be a condition object (GrowthBook's condition language) or null"
		return nil
	}
	// experiment.CompileCondition names paths from "condition"; here they
	// sit under the rule.
	q := experiment.Problems{}
	c := experiment.CompileCondition(q, raw)
	for path, msg := range q {
		p[at+strings.TrimPrefix(path, conditions.Root)] = msg
	}
	return c
}

// The JSON of each kind of rule.
type (
	forceJSON struct {
		Condition json.RawMessage `json:"condition"`
		Value     json.RawMessage `json:"value"`
	}
	rolloutJSON struct {
		Condition     json.RawMessage `json:"condition"`
		Coverage      float64         `json:"coverage"`
		Value         json.RawMessage `json:"value"`
		HashAttribute string          `json:"hash_attribute"`
	}
	experimentJSON struct {
		Experiment string                     `json:"experiment"`
		Values     map[string]json.RawMessage `json:"values"`
	}
)

// MarshalJSON writes a rule in the shape ParseRules reads; a rule without
// a condition shows "condition": null.
func (r Rule) MarshalJSON() ([]byte, error) {
	cond := json.RawMessage("null")
	if r.Condition != nil {
		b, err := r.Condition.MarshalJSON()
		if err != nil {
			return nil, err
		}
		cond = b
	}
	switch r.Kind {
	case Force:
		return json.Marshal(forceJSON{Condition: cond, Value: r.Value})
	case Rollout:
		return json.Marshal(rolloutJSON{Condition: cond, Coverage: r.Coverage, Value: r.Value, HashAttribute: r.HashAttribute})
	case Experiment:
		values := r.Values
		if values == nil {
			values = map[string]json.RawMessage{}
		}
		return json.Marshal(experimentJSON{Experiment: r.Experiment, Values: values})
	}
	return nil, errors.New("flag: rule of no kind")
}

// MarshalRules is the JSON array of rules ([] when there are none).
func MarshalRules(rules []Rule) ([]byte, error) {
	if rules == nil {
		rules = []Rule{}
	}
	return json.Marshal(rules)
}

// UnmarshalRules reads what MarshalRules wrote (a stored definition).
func UnmarshalRules(raw []byte) ([]Rule, error) {
	p := experiment.Problems{}
	rules := ParseRules(p, "rules", raw)
	if len(p) > 0 {
		names := make([]string, 0, len(p))
		for k, v := range p {
			names = append(names, k+": "+v)
		}
		sort.Strings(names)
		return nil, errors.New("flag: stored rules do not parse: " + strings.Join(names, "; "))
	}
	return rules, nil
}

func has(m map[string]json.RawMessage, k string) bool { _, ok := m[k]; return ok }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// compact returns raw without insignificant space, so values are stored
// and served in one spelling. raw comes out of a decoded document, so it
// is valid JSON.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
