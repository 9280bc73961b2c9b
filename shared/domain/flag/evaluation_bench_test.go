package flag

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	gb "github.com/growthbook/growthbook-golang"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// The pure evaluation the evaluation issue benchmarks: 50 experiments and
// 50 flags, each targeted by a 3-clause condition, for one unit with 10
// attributes, beside growthbook-golang evaluating the same 100 definitions
// as features.

const evalExperiments, evalFlags = 50, 50

// Conditions the benchmark unit passes (every clause is evaluated) and
// fails (on the first or the last clause). None uses an operator where
// the two condition languages are known to differ (see
// enrolment.knownDivergences).
var (
	evalPass = []string{
		`{"country":{"$in":["US","CA"]},"plan":"pro","age":{"$gte":18}}`,
		`{"browser":{"$ne":"ie"},"version":{"$vgte":"2.0.0"},"beta":true}`,
		`{"tags":{"$elemMatch":{"$eq":"vip"}},"company":{"$exists":true},"age":{"$lt":65}}`,
		`{"company":{"$regex":"^ac"},"version":{"$vlt":"3.0.0"},"plan":{"$nin":["free"]}}`,
	}
	evalFail = []string{
		`{"country":{"$in":["FR","BE"]},"plan":"pro","age":{"$gte":18}}`,
		`{"country":"US","browser":"chrome","age":{"$gte":40}}`,
		`{"plan":"pro","beta":true,"version":{"$vgte":"3.0.0"}}`,
	}
)

// evalUnit is the unit: 8 attributes of its own, plus "id" and "user_id"
// that enrolment.Attributes sets.
const evalUnit = "user-123456"

func evalUserAttrs() map[string]any {
	return map[string]any{"country": "US", "plan": "pro", "age": 30.0, "browser": "chrome",
		"version": "2.3.1", "beta": true, "tags": []any{"vip", "early"}, "company": "acme"}
}

// evalDefinitions are the 100 definitions, ours and the same as
// growthbook-golang features (keyed as ours), and where each experiment
// sits in a decisions slice.
type evalDefinitions struct {
	exps     []*experiment.Experiment
	flags    []*Flag
	index    map[string]int
	features map[string]any
}

// evalCoverages are not multiples of 1/1000, where growthbook-golang's
// rollout boundary (hash < coverage) differs from GrowthBook's JavaScript
// SDK's (hash <= coverage), followed here.
var evalCoverages = []float64{1, 0.5013, 0.8017, 0.2029}

func newEvalDefinitions(t testing.TB) *evalDefinitions {
	t.Helper()
	d := &evalDefinitions{index: map[string]int{}, features: map[string]any{}}
	expRule := map[string]map[string]any{} // an experiment as a GrowthBook rule, without variations
	variants := map[string][]string{}
	for i := range evalExperiments {
		cond := evalPass[i%len(evalPass)]
		if i%5 == 4 {
			cond = evalFail[i%len(evalFail)]
		}
		p := experiment.Problems{}
		e := &experiment.Experiment{
			Key: fmt.Sprintf("exp-%02d", i), Status: experiment.Active,
			Variants:  []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}},
			Coverage:  evalCoverages[i%len(evalCoverages)],
			Condition: experiment.CompileCondition(p, []byte(cond)),
		}
		if i%3 == 0 {
			e.Variants = append(e.Variants, experiment.Variant{Key: "bold", Weight: 2})
		}
		if len(p) > 0 {
			t.Fatalf("%s: %v", e.Key, p)
		}
		weights, err := bucketing.NormalizeWeights(e.Weights())
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, v := range e.Variants {
			keys = append(keys, v.Key)
		}
		d.index[e.Key] = len(d.exps)
		d.exps = append(d.exps, e)
		variants[e.Key] = keys
		expRule[e.Key] = map[string]any{"key": e.Key, "condition": json.RawMessage(cond), "coverage": e.Coverage,
			"weights": weights, "hashAttribute": "id", "hashVersion": 2}
		d.features[e.Key] = map[string]any{"defaultValue": "out", "rules": []any{withVariations(expRule[e.Key], keys, "")}}
	}
	for j := range evalFlags {
		force := evalFail[j%len(evalFail)]
		if j%4 == 0 {
			force = evalPass[j%len(evalPass)]
		}
		rollout := evalPass[(j+1)%len(evalPass)]
		coverage := evalCoverages[(j+1)%len(evalCoverages)]
		rules := []string{fmt.Sprintf(`{"condition":%s,"value":"force"}`, force)}
		gbRules := []any{map[string]any{"condition": json.RawMessage(force), "force": "force"}}
		if j%2 == 1 { // bound to an experiment, between the force and the rollout
			exp := d.exps[j].Key
			values := map[string]string{}
			for _, v := range variants[exp] {
				values[v] = "flag-" + v
			}
			raw, _ := json.Marshal(values)
			rules = append(rules, fmt.Sprintf(`{"experiment":%q,"values":%s}`, exp, raw))
			gbRules = append(gbRules, withVariations(expRule[exp], variants[exp], "flag-"))
		}
		rules = append(rules, fmt.Sprintf(`{"condition":%s,"coverage":%v,"value":"rollout"}`, rollout, coverage))
		gbRules = append(gbRules, map[string]any{"condition": json.RawMessage(rollout), "force": "rollout",
			"coverage": coverage, "hashAttribute": "id"})
		f, p := define(t, String, `"default"`, "["+strings.Join(rules, ",")+"]", variants)
		if len(p) > 0 {
			t.Fatalf("flag %d: %v", j, p)
		}
		f.Key = fmt.Sprintf("flag-%02d", j)
		d.flags = append(d.flags, f)
		d.features[f.Key] = map[string]any{"defaultValue": "default", "rules": gbRules}
	}
	return d
}

// withVariations is a copy of an experiment rule serving the variant keys,
// prefixed, as its variations.
func withVariations(rule map[string]any, keys []string, prefix string) map[string]any {
	out := maps.Clone(rule)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = prefix + k
	}
	out["variations"] = vals
	return out
}

// decided answers a flag's experiment rules from the decisions just made.
type decided struct {
	index     map[string]int
	decisions []enrolment.Decision
}

func (d *decided) Variant(key string) (string, bool) {
	i, ok := d.index[key]
	if !ok || !d.decisions[i].InExperiment {
		return "", false
	}
	return d.decisions[i].VariantKey, true
}

// evaluate is ours: the unit's attributes built once, every experiment
// decided, then every flag evaluated with those decisions.
func (d *evalDefinitions) evaluate(userAttrs map[string]any, unit string) ([]enrolment.Decision, []Result, error) {
	attrs := enrolment.Attributes(userAttrs, unit, unit, "")
	enr := &decided{index: d.index, decisions: make([]enrolment.Decision, len(d.exps))}
	for i, e := range d.exps {
		var err error
		if enr.decisions[i], err = enrolment.Decide(e, unit, attrs, nil, nil); err != nil {
			return nil, nil, err
		}
	}
	results := make([]Result, len(d.flags))
	for i, f := range d.flags {
		results[i] = f.Evaluate(attrs, nil, enr)
	}
	return enr.decisions, results, nil
}

func (d *evalDefinitions) gbClient(t testing.TB) *gb.Client {
	t.Helper()
	features, err := json.Marshal(d.features)
	if err != nil {
		t.Fatal(err)
	}
	client, err := gb.NewClient(context.Background(), gb.WithJsonFeatures(string(features)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// keys are the 100 feature keys, experiments first.
func (d *evalDefinitions) keys() []string {
	var keys []string
	for _, e := range d.exps {
		keys = append(keys, e.Key)
	}
	for _, f := range d.flags {
		keys = append(keys, f.Key)
	}
	return keys
}

// checkAgreement fails unless ours and growthbook-golang give the unit the
// same variant of every experiment and the same value of every flag, and
// every path of both evaluations is taken, so the benchmark compares like
// with like and measures every branch.
func checkAgreement(t testing.TB, d *evalDefinitions, client *gb.Client) {
	t.Helper()
	decisions, results, err := d.evaluate(evalUserAttrs(), evalUnit)
	if err != nil {
		t.Fatal(err)
	}
	child, err := client.WithAttributes(gb.Attributes(enrolment.Attributes(evalUserAttrs(), evalUnit, evalUnit, "")))
	if err != nil {
		t.Fatal(err)
	}
	reasons, sources := map[enrolment.Reason]int{}, map[Source]int{}
	for i, e := range d.exps {
		ours := "out"
		if decisions[i].InExperiment {
			ours = decisions[i].VariantKey
		}
		reasons[decisions[i].Reason]++
		if theirs := child.EvalFeature(context.Background(), e.Key).Value; theirs != ours {
			t.Errorf("%s: ours %q (%s), growthbook-golang %v", e.Key, ours, decisions[i].Reason, theirs)
		}
	}
	for i, f := range d.flags {
		var ours string
		if err := json.Unmarshal(results[i].Value, &ours); err != nil {
			t.Fatal(err)
		}
		sources[results[i].Source]++
		if theirs := child.EvalFeature(context.Background(), f.Key).Value; theirs != ours {
			t.Errorf("%s: ours %q (%s), growthbook-golang %v", f.Key, ours, results[i].Source, theirs)
		}
	}
	for _, r := range []enrolment.Reason{enrolment.ReasonAssigned, enrolment.ReasonNotTargeted, enrolment.ReasonNotInCoverage} {
		if reasons[r] == 0 {
			t.Errorf("no experiment decided %s for the unit: %v", r, reasons)
		}
	}
	for _, s := range []Source{SourceForce, SourceRollout, SourceExperiment, SourceDefault} {
		if sources[s] == 0 {
			t.Errorf("no flag served from %s for the unit: %v", s, sources)
		}
	}
	t.Logf("experiments %v, flags %v", reasons, sources)
}

func TestEvaluationBenchmarkAgreesWithGrowthBook(t *testing.T) {
	d := newEvalDefinitions(t)
	checkAgreement(t, d, d.gbClient(t))
}

func BenchmarkEvaluation50Experiments50Flags(b *testing.B) {
	d := newEvalDefinitions(b)
	client := d.gbClient(b)
	checkAgreement(b, d, client)
	userAttrs := evalUserAttrs()

	b.Run("abtest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := d.evaluate(userAttrs, evalUnit); err != nil {
				b.Fatal(err)
			}
		}
	})

	// What a server does per request with growthbook-golang: a child
	// client with the unit's attributes, then each feature.
	b.Run("growthbook-golang", func(b *testing.B) {
		attrs := gb.Attributes(enrolment.Attributes(userAttrs, evalUnit, evalUnit, ""))
		keys := d.keys()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			child, err := client.WithAttributes(attrs)
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range keys {
				_ = child.EvalFeature(ctx, k)
			}
		}
	})
}
