package flag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// The cross-SDK suite published by GrowthBook (a link to bucketing's copy;
// see ../bucketing/testdata/README.md).
const casesFile = "testdata/growthbook-cases.json"

// notApplicable are the cases of the suite's feature section that a flag
// of this service cannot express, with the reason. The test checks that
// the translation refuses each of them (so the list stays true) and runs
// every other case, which must pass.
var notApplicable = map[string]string{
	"unknown feature key": "an unknown flag is not evaluated: the evaluate route lists it under \"missing\"",

	"force rules - coverage with bad hash version":                                                "rollout rules hash with GrowthBook's rollout hash (version 1); no hashVersion field",
	"force rules - hashVersion 2 includes user":                                                   "rollout rules hash with GrowthBook's rollout hash (version 1); no hashVersion field",
	"force rules - hashVersion 2 excludes user that v1 would include":                             "rollout rules hash with GrowthBook's rollout hash (version 1); no hashVersion field",
	"Force rule with range, ignores coverage":                                                     "rollouts have a coverage, not a hash range",
	"Force rule, hash version 2":                                                                  "rollouts have a coverage, not a hash range",
	"Force rule, skip due to range":                                                               "rollouts have a coverage, not a hash range",
	"Force rule, skip due to filter":                                                              "rules have no hash filters (layers are the experiments' way)",
	"Force rule, use seed with range":                                                             "rollouts are seeded with the flag key, and have no hash range",
	"empty experiment rule - c":                                                                   "inline experiment hashed with version 1: experiment rules name an experiment of this service, which hash with version 2",
	"empty experiment rule - a":                                                                   "inline experiment hashed with version 1: experiment rules name an experiment of this service, which hash with version 2",
	"empty experiment rule - b":                                                                   "inline experiment hashed with version 1: experiment rules name an experiment of this service, which hash with version 2",
	"creates experiments properly":                                                                "the experiment buckets by a custom hash attribute (anonId) with hash filters and a custom seed",
	"skips experiment on coverage":                                                                "inline experiment hashed with version 1 (this service's experiments hash with version 2)",
	"skips experiment on namespace":                                                               "inline experiment hashed with version 1 (this service's experiments hash with version 2)",
	"handles integer hashAttribute":                                                               "inline experiment hashed with version 1 (this service's experiments hash with version 2)",
	"skip experiment on missing hashAttribute":                                                    "the experiment buckets by a custom hash attribute (company); this service's experiments bucket the unit",
	"include experiments when forced":                                                             "forcedVariations are an SDK-side override (this service's overrides are per unit, on the experiment)",
	"Support passthrough variations":                                                              "passthrough variations (meta.passthrough) are SDK-side holdouts; this service's holdouts are a resource",
	"Support holdout groups":                                                                      "passthrough variations (meta.passthrough) are SDK-side holdouts; this service's holdouts are a resource",
	"Prerequisite flag off, block dependent flag":                                                 "prerequisite flags (parentConditions) are not part of the flag model",
	"Prerequisite flag missing, block dependent flag":                                             "prerequisite flags (parentConditions) are not part of the flag model",
	"Prerequisite flag on, evaluate dependent flag":                                               "prerequisite flags (parentConditions) are not part of the flag model",
	"Multiple parallel prerequisite flags on, evaluate dependent flag":                            "prerequisite flags (parentConditions) are not part of the flag model",
	"Multiple nested prerequisite flags on, evaluate dependent flag":                              "prerequisite flags (parentConditions) are not part of the flag model",
	"Prerequisite experiment flag in target bucket, evaluate dependent flag":                      "prerequisite flags (parentConditions) are not part of the flag model",
	"Prerequisite experiment flag in target bucket, evaluate skip dependent flag if not bucketed": "prerequisite flags (parentConditions) are not part of the flag model",
	"Prerequisite cycle detected, break":                                                          "prerequisite flags (parentConditions) are not part of the flag model",
	"Multiple references to same prerequisite, do not break":                                      "prerequisite flags (parentConditions) are not part of the flag model",
	"CB rule with empty contexts (explore) buckets on marginal weights with fallback leaf -1":     "contextual bandits are not part of the model",
	"CB rule with no contexts key falls back to marginal weights (fallback leaf -1)":              "contextual bandits are not part of the model",
	"CB rule with empty contexts uses marginal weights (fallback leaf -1)":                        "contextual bandits are not part of the model",
	"CB rule with empty contexts is overridden by forced variation like a normal experiment":      "contextual bandits are not part of the model",
}

// refusedAtDefinition are cases whose feature this service refuses when it
// is defined, where GrowthBook skips the bad part at evaluation.
var refusedAtDefinition = map[string]string{
	"ignores empty rules": "a rule must be a force, rollout or experiment rule; {} is refused (rules[0])",
}

// gbFeature is a feature of the suite, as GrowthBook's SDKs read it.
type gbFeature struct {
	DefaultValue json.RawMessage              `json:"defaultValue"`
	Rules        []map[string]json.RawMessage `json:"rules"`
}

type gbContext struct {
	Attributes        map[string]any         `json:"attributes"`
	Features          map[string]gbFeature   `json:"features"`
	SavedGroups       conditions.SavedGroups `json:"savedGroups"`
	ForcedVariations  map[string]any         `json:"forcedVariations"`
	ContextualBandits map[string]any         `json:"contextualBandits"`
}

type gbResult struct {
	Value            json.RawMessage       `json:"value"`
	Source           string                `json:"source"`
	Experiment       *struct{ Key string } `json:"experiment"`
	ExperimentResult *struct {
		Key       string `json:"key"`
		FeatureID string `json:"featureId"`
	} `json:"experimentResult"`
}

// translated is a case as this service runs it: the flag's JSON (as the
// admin API takes it) and the experiments its experiment rules name.
type translated struct {
	key         string
	typ         Type
	def         json.RawMessage
	rules       []json.RawMessage
	experiments map[string]*experiment.Experiment
}

// translate turns a feature into a flag, or says why it cannot.
func translate(ctx gbContext, key string) (*translated, error) {
	if ctx.ForcedVariations != nil {
		return nil, fmt.Errorf("forcedVariations")
	}
	if ctx.ContextualBandits != nil {
		return nil, fmt.Errorf("contextual bandits")
	}
	feat, ok := ctx.Features[key]
	if !ok {
		return nil, fmt.Errorf("no feature %q", key)
	}
	tr := &translated{key: strings.ToLower(key), def: feat.DefaultValue, experiments: map[string]*experiment.Experiment{}}
	if len(tr.def) == 0 {
		tr.def = json.RawMessage("null")
	}
	tr.typ = typeOf(tr.def)
	hasRollout := false
	for i, r := range feat.Rules {
		out, err := tr.rule(key, r)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		hasRollout = hasRollout || bytes.Contains(out, []byte(`"coverage"`)) && !bytes.Contains(out, []byte(`"experiment"`))
		tr.rules = append(tr.rules, out)
	}
	if hasRollout && tr.key != key {
		// The key seeds rollouts: it cannot be changed to fit the key pattern.
		return nil, fmt.Errorf("key %q does not fit the key pattern and seeds a rollout", key)
	}
	return tr, nil
}

// Rule fields that carry no behaviour here: GrowthBook's bookkeeping.
var inert = map[string]bool{"id": true, "name": true, "phase": true, "banditVersion": true}

func (tr *translated) rule(featureKey string, r map[string]json.RawMessage) (json.RawMessage, error) {
	for name := range r {
		switch name {
		case "parentConditions", "range", "filters", "seed", "ranges", "namespace", "hashAttribute",
			"contextualVariations", "contextualBanditRef", "fallbackAttribute", "disableStickyBucketing":
			if name == "seed" && string(r["seed"]) == strconv.Quote(ruleKey(featureKey, r)) {
				continue // the default seed, spelled out
			}
			if name == "hashAttribute" && string(r[name]) == `"id"` {
				continue
			}
			if name == "ranges" {
				continue // checked against the weights below
			}
			return nil, fmt.Errorf("field %s", name)
		}
	}
	if _, ok := r["variations"]; ok {
		return tr.experimentRule(featureKey, r)
	}
	force, ok := r["force"]
	if !ok {
		// {} and the like: the service refuses it, so the case expects that.
		return json.Marshal(without(r, "id"))
	}
	out := map[string]json.RawMessage{"value": force}
	if c, ok := r["condition"]; ok {
		out["condition"] = c
	}
	if c, ok := r["coverage"]; ok {
		hv := string(r["hashVersion"])
		if hv != "" && hv != "1" && string(c) != "0" {
			// Coverage 0 includes no one before any hash is taken.
			return nil, fmt.Errorf("hashVersion %s", hv)
		}
		out["coverage"] = c
	} else if _, ok := r["hashVersion"]; ok {
		return nil, fmt.Errorf("hashVersion on a force rule")
	}
	for name := range r {
		if name != "force" && name != "condition" && name != "coverage" && name != "hashVersion" && !inert[name] {
			return nil, fmt.Errorf("field %s on a force rule", name)
		}
	}
	return json.Marshal(out)
}

// experimentRule makes the inline experiment one of this service's
// experiments (hash version 2, bucketing the unit id, seeded by its key)
// and the rule one that names it.
func (tr *translated) experimentRule(featureKey string, r map[string]json.RawMessage) (json.RawMessage, error) {
	if string(r["hashVersion"]) != "2" {
		return nil, fmt.Errorf("hashVersion %s", r["hashVersion"])
	}
	var variations []json.RawMessage
	if err := json.Unmarshal(r["variations"], &variations); err != nil {
		return nil, err
	}
	exp := &experiment.Experiment{Key: ruleKey(featureKey, r), Status: experiment.Active, Coverage: 1}
	if c, ok := r["coverage"]; ok {
		if err := json.Unmarshal(c, &exp.Coverage); err != nil {
			return nil, err
		}
	}
	if c, ok := r["condition"]; ok {
		cond, err := conditions.Compile(c)
		if err != nil {
			return nil, err
		}
		exp.Condition = cond
	}
	weights := make([]float64, len(variations))
	for i := range weights {
		weights[i] = 1 / float64(len(weights))
	}
	if w, ok := r["weights"]; ok {
		if err := json.Unmarshal(w, &weights); err != nil {
			return nil, err
		}
	}
	if rr, ok := r["ranges"]; ok {
		// Ranges that lay the weights end to end from 0 are the weights.
		var ranges [][2]float64
		if err := json.Unmarshal(rr, &ranges); err != nil {
			return nil, err
		}
		start := 0.0
		for i, rg := range ranges {
			if rg[0] != start {
				return nil, fmt.Errorf("ranges with gaps")
			}
			weights[i], start = rg[1]-rg[0], rg[1]
		}
	}
	var meta []map[string]any
	if m, ok := r["meta"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, err
		}
	}
	values := map[string]json.RawMessage{}
	for i, v := range variations {
		key := strconv.Itoa(i)
		if i < len(meta) {
			if meta[i]["passthrough"] == true {
				return nil, fmt.Errorf("passthrough variation")
			}
			if k, ok := meta[i]["key"].(string); ok {
				key = k
			}
		}
		exp.Variants = append(exp.Variants, experiment.Variant{Key: key, Weight: weights[i]})
		values[key] = v
	}
	for name := range r {
		switch name {
		case "key", "variations", "weights", "coverage", "condition", "hashVersion", "meta", "ranges", "seed", "hashAttribute", "type":
		default:
			if !inert[name] {
				return nil, fmt.Errorf("field %s on an experiment rule", name)
			}
		}
	}
	if t := string(r["type"]); t != "" && t != `"standard"` && t != `"multi-armed-bandit"` {
		return nil, fmt.Errorf("experiment type %s", t)
	}
	tr.experiments[exp.Key] = exp
	return json.Marshal(map[string]any{"experiment": exp.Key, "values": values})
}

func ruleKey(featureKey string, r map[string]json.RawMessage) string {
	var k string
	if json.Unmarshal(r["key"], &k) == nil && k != "" {
		return k
	}
	return featureKey
}

func without(m map[string]json.RawMessage, name string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		if k != name {
			out[k] = v
		}
	}
	return out
}

// typeOf is the flag type of a GrowthBook default value.
func typeOf(raw json.RawMessage) Type {
	switch t := bytes.TrimSpace(raw); {
	case string(t) == "true" || string(t) == "false":
		return Boolean
	case t[0] == '"':
		return String
	case t[0] == '-' || (t[0] >= '0' && t[0] <= '9'):
		return Number
	}
	return JSON
}

// suiteEnrolments answers experiment rules with the experiments' own
// enrolment decision, as the evaluation use case does.
type suiteEnrolments struct {
	exps   map[string]*experiment.Experiment
	unit   string
	attrs  map[string]any
	groups conditions.SavedGroups
}

func (s suiteEnrolments) Variant(key string) (string, bool) {
	exp, ok := s.exps[key]
	if !ok || s.unit == "" {
		return "", false
	}
	d, err := enrolment.Decide(exp, s.unit, s.attrs, s.groups, nil)
	if err != nil || !d.InExperiment {
		return "", false
	}
	return d.VariantKey, true
}

func TestConformanceFeature(t *testing.T) {
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatalf("read %s: %v", casesFile, err)
	}
	var suite struct {
		SpecVersion string              `json:"specVersion"`
		Feature     [][]json.RawMessage `json:"feature"`
	}
	if err := json.Unmarshal(data, &suite); err != nil {
		t.Fatalf("parse %s: %v", casesFile, err)
	}
	if suite.SpecVersion != "0.8.0" {
		t.Fatalf("specVersion = %q, want 0.8.0 (review notApplicable when upgrading)", suite.SpecVersion)
	}
	seen := map[string]bool{}
	ran := 0
	for _, c := range suite.Feature {
		var name, key string
		var ctx gbContext
		var want gbResult
		mustDecode(t, c[0], &name)
		mustDecode(t, c[1], &ctx)
		mustDecode(t, c[2], &key)
		mustDecode(t, c[3], &want)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			tr, err := translate(ctx, key)
			if reason, listed := notApplicable[name]; listed {
				if err == nil {
					t.Fatalf("listed as not applicable (%s), but it translates", reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("does not translate (%v); list it in notApplicable with the reason, or translate it", err)
			}
			f, problems := tr.compile()
			if _, listed := refusedAtDefinition[name]; listed {
				if len(problems) == 0 {
					t.Fatal("listed as refused at definition, but the flag is accepted")
				}
				return
			}
			if len(problems) > 0 {
				t.Fatalf("flag refused: %v", problems)
			}
			attrs := ctx.Attributes
			unit, _ := hashValue(attrs["id"])
			got := f.Evaluate(attrs, ctx.SavedGroups, suiteEnrolments{exps: tr.experiments, unit: unit, attrs: attrs, groups: ctx.SavedGroups})
			checkResult(t, tr, got, want)
			ran++
		})
	}
	for name := range notApplicable {
		if !seen[name] {
			t.Errorf("notApplicable lists %q, which the suite does not have", name)
		}
	}
	for name := range refusedAtDefinition {
		if !seen[name] {
			t.Errorf("refusedAtDefinition lists %q, which the suite does not have", name)
		}
	}
	if want := len(suite.Feature) - len(notApplicable) - len(refusedAtDefinition); ran != want && !t.Failed() {
		t.Errorf("ran %d cases, want %d", ran, want)
	}
}

// compile checks the translated flag as the admin API would.
func (tr *translated) compile() (*Flag, experiment.Problems) {
	p := experiment.Problems{}
	rules := tr.rules
	if rules == nil {
		rules = []json.RawMessage{}
	}
	raw, _ := json.Marshal(rules)
	f := &Flag{Key: tr.key, Type: tr.typ, DefaultValue: CompactValue(tr.def), Enabled: true, Rules: ParseRules(p, "rules", raw)}
	for k, v := range CheckNew(f) {
		p[k] = v
	}
	CheckExperiments(p, "rules", f.Rules, func(key string) ([]string, bool) {
		exp, ok := tr.experiments[key]
		if !ok {
			return nil, false
		}
		var keys []string
		for _, v := range exp.Variants {
			keys = append(keys, v.Key)
		}
		return keys, true
	})
	return f, p
}

func checkResult(t *testing.T, tr *translated, got Result, want gbResult) {
	t.Helper()
	if !jsonEqual(t, got.Value, want.Value) {
		t.Errorf("value = %s, want %s", got.Value, want.Value)
	}
	wantSource := map[string][]Source{
		"defaultValue": {SourceDefault},
		"force":        {SourceForce, SourceRollout}, // GrowthBook's force with coverage is a rollout here
		"experiment":   {SourceExperiment},
	}[want.Source]
	ok := false
	for _, s := range wantSource {
		ok = ok || s == got.Source
	}
	if !ok {
		t.Errorf("source = %s, want one of %v (GrowthBook: %s)", got.Source, wantSource, want.Source)
	}
	if got.Source == SourceRollout || got.Source == SourceForce {
		var rule map[string]json.RawMessage
		_ = json.Unmarshal(tr.rules[got.Rule], &rule)
		if _, rollout := rule["coverage"]; rollout != (got.Source == SourceRollout) {
			t.Errorf("source %s from rule %s", got.Source, tr.rules[got.Rule])
		}
	}
	if want.Source == "experiment" {
		if want.ExperimentResult == nil || want.Experiment == nil {
			t.Fatal("case without its experiment result")
		}
		if got.Experiment != want.Experiment.Key || got.Variant != want.ExperimentResult.Key {
			t.Errorf("experiment %q variant %q, want %q %q", got.Experiment, got.Variant, want.Experiment.Key, want.ExperimentResult.Key)
		}
	} else if got.Experiment != "" || got.Variant != "" {
		t.Errorf("experiment %q variant %q for source %s", got.Experiment, got.Variant, got.Source)
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("value %s: %v", a, err)
	}
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("value %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func mustDecode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
