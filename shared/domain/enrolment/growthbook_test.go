package enrolment

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	gb "github.com/growthbook/growthbook-golang"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// crossConditions exercise several operators, nested paths, arrays, the
// hash attribute and saved groups. diverges marks the conditions whose
// answer differs between the conditions package and growthbook-golang for
// some attributes (see knownDivergences); every other one must agree.
var crossConditions = []struct {
	cond     string
	diverges bool
}{
	{``, false}, // no condition
	{`{}`, false},
	{`{"country":{"$in":["US","CA","GB"]}}`, false},
	{`{"plan":"pro","age":{"$gte":18,"$lt":65}}`, true},
	{`{"address.country":{"$ne":"FR"},"address.city":{"$regex":"^Mont"}}`, false},
	{`{"$or":[{"beta":true},{"tags":{"$elemMatch":{"$eq":"vip"}}}]}`, true},
	{`{"version":{"$vgte":"2.1.0"},"browser":{"$nin":["ie","edge"]}}`, false},
	{`{"$and":[{"age":{"$exists":true}},{"$not":{"country":"US"}}]}`, false},
	{`{"tags":{"$size":{"$gt":1}},"score":{"$gt":0.5}}`, false},
	{`{"id":{"$regex":"[0-4]$"}}`, false},
	{`{"country":{"$inGroup":"launch"},"plan":{"$nin":["free"]}}`, false},
	{`{"tags":{"$all":["beta"]},"$nor":[{"browser":"ie"}]}`, false},
	{`{"device_id":{"$exists":true},"user_id":{"$exists":false}}`, false},
	{`{"plan":{"$type":"string"},"address.zip":{"$exists":false},"tags.0":"beta"}`, false},
	{`{"age":{"$lte":"30"},"country":{"$ini":["us","ca"]}}`, true},
	{`{"version":{"$vlt":"10.0.0","$vne":"2.1.0"},"$or":[{"plan":"team"},{"score":{"$lte":0.25}}]}`, true},
	{`{"browser":{"$regexi":"^(chrome|FIREFOX)$"},"address":{"$exists":true}}`, false},
	{`{"country":{"$eq":"CA"},"age":{"$gt":20,"$lte":60},"tags.length":{"$gte":2}}`, true},
}

// knownDivergences are where the condition language of the conditions
// package (sdk-js mongrule.ts, GrowthBook's suite 0.8.0) and of
// growthbook-golang v0.7.0 (suite 0.12.0, which made comparisons strict)
// answer differently. None is about enrolment: the cross-check below
// accounts for them by comparing the rest of the decision only.
var knownDivergences = []struct {
	name, cond, attrs string
	ours, gb          bool
}{
	// JavaScript's "42" >= 18 compares numbers; suite 0.12.0 says a
	// number and a string are not ordered ("comparing numbers and strings").
	{"number and string ordered", `{"age":{"$gte":18}}`, `{"age":"42"}`, true, false},
	{"string and number ordered", `{"age":{"$lte":"30"}}`, `{"age":17.5}`, true, false},
	// JavaScript's null <= 0.25 reads null as 0 ("missing attribute with
	// comparison operators" was true, is false).
	{"missing attribute ordered", `{"score":{"$lte":0.25}}`, `{}`, true, false},
	// paddedVersionString reads a missing version as "0".
	{"missing version ordered", `{"version":{"$vlt":"10.0.0"}}`, `{}`, true, false},
	// A boolean literal matches Boolean(value) in mongrule.ts.
	{"boolean literal coerces", `{"beta":true}`, `{"beta":"yes"}`, true, false},
}

func TestKnownConditionDivergences(t *testing.T) {
	client := gbClient(t)
	for _, tt := range knownDivergences {
		var attrs map[string]any
		if err := json.Unmarshal([]byte(tt.attrs), &attrs); err != nil {
			t.Fatal(err)
		}
		attrs = Attributes(attrs, "unit-1", "unit-1", "")
		if got := compile(t, tt.cond).Eval(attrs, nil); got != tt.ours {
			t.Errorf("%s: conditions says %v, want %v", tt.name, got, tt.ours)
		}
		if got := gbCondition(t, client, tt.cond, attrs); got != tt.gb {
			t.Errorf("%s: growthbook-golang says %v, want %v", tt.name, got, tt.gb)
		}
	}
}

var crossGroups = map[string][]any{"launch": {"US", "GB", "DE"}}

// randomAttributes is what a client might send, as encoding/json decodes
// it: attributes come and go, with the values and types the conditions ask
// about.
func randomAttributes(rng *rand.Rand) map[string]any {
	pick := func(vals ...any) any { return vals[rng.IntN(len(vals))] }
	a := map[string]any{}
	maybe := func(k string, v func() any) {
		if rng.IntN(5) > 0 {
			a[k] = v()
		}
	}
	maybe("country", func() any { return pick("US", "CA", "GB", "FR", "DE", "", nil) })
	maybe("plan", func() any { return pick("free", "pro", "team", nil, 3.0) })
	maybe("age", func() any { return pick(float64(rng.IntN(80)), "42", 17.5, nil) })
	maybe("address", func() any {
		return map[string]any{"country": pick("CA", "FR", "US"), "city": pick("Montréal", "Paris", "Monterrey", "Lyon")}
	})
	maybe("beta", func() any { return pick(true, false, "yes") })
	maybe("tags", func() any {
		var tags []any
		for _, t := range []string{"beta", "vip", "staff"} {
			if rng.IntN(2) == 0 {
				tags = append(tags, t)
			}
		}
		if tags == nil {
			return []any{}
		}
		return tags
	})
	maybe("version", func() any { return pick("1.9.0", "2.1.0", "2.1.0-rc.1", "2.10.1", "10.0", "v2.2") })
	maybe("browser", func() any { return pick("chrome", "Firefox", "ie", "edge", "safari") })
	maybe("score", func() any { return rng.Float64() })
	return a
}

// The same enrolment and variant as growthbook-golang's RunExperiment, for
// thousands of pseudo-random definitions, units and attributes.
func TestDecideMatchesGrowthBook(t *testing.T) {
	const defs, unitsPerDef = 120, 100
	rng := rand.New(rand.NewPCG(2024, 7))
	client := gbClient(t)
	reasons := map[Reason]int{}
	divergent := 0
	for d := range defs {
		cc := crossConditions[d%len(crossConditions)]
		e, g := crossExperiment(t, rng, d, cc.cond)
		// g without its condition: GrowthBook's layer, coverage and
		// variant alone, for units whose condition answers differ.
		gNoCond := *g
		gNoCond.Condition = gbNoCondition
		for u := range unitsPerDef {
			unit, user, device := crossUnit(rng, e, d, u)
			attrs := Attributes(randomAttributes(rng), unit, user, device)
			got, err := Decide(e, unit, attrs, crossGroups, nil)
			if err != nil {
				t.Fatal(err)
			}
			reasons[got.Reason]++
			want := gbRun(t, client, g, attrs)
			if ours := e.Condition.Eval(attrs, crossGroups); ours != gbCondition(t, client, cc.cond, attrs) {
				if !cc.diverges {
					t.Fatalf("condition %s, attributes %v: conditions says %v, growthbook-golang %v", cc.cond, attrs, ours, !ours)
				}
				divergent++
				want = -1
				if ours {
					want = gbRun(t, client, &gNoCond, attrs)
				}
			}
			if v := variantOf(got); v != want {
				t.Fatalf("definition %d (condition %s, coverage %v, layer %+v), unit %q, attributes %v:\nDecide %+v, growthbook-golang variation %d (-1: not in experiment)",
					d, cc.cond, e.Coverage, e.Layer, unit, attrs, got, want)
			}
		}
	}
	// Each step must have turned units away, or the comparison proved
	// little about it.
	for _, r := range []Reason{ReasonAssigned, ReasonNotTargeted, ReasonNotInLayer, ReasonNotInCoverage} {
		if reasons[r] < 100 {
			t.Errorf("only %d decisions with reason %s: %v", reasons[r], r, reasons)
		}
	}
	t.Logf("%d decisions: %v; %d with a known condition divergence", defs*unitsPerDef, reasons, divergent)
}

// crossExperiment is a random definition and the same experiment for
// growthbook-golang.
func crossExperiment(t *testing.T, rng *rand.Rand, d int, cond string) (*experiment.Experiment, *gb.Experiment) {
	t.Helper()
	e := &experiment.Experiment{Key: "exp-" + strconv.Itoa(d), Status: experiment.Active}
	nv := 2 + rng.IntN(3)
	for v := range nv {
		e.Variants = append(e.Variants, experiment.Variant{Key: fmt.Sprint("v", v), Weight: float64(rng.IntN(10))})
	}
	e.Variants[rng.IntN(nv)].Weight++ // at least one positive
	switch rng.IntN(3) {
	case 0:
		e.Coverage = 1
	case 1:
		e.Coverage = 0.5
	default:
		e.Coverage = 0.05 + 0.95*rng.Float64()
	}
	if rng.IntN(3) > 0 {
		start := float64(rng.IntN(900)) / 1000
		end := start + 0.05 + float64(rng.IntN(int((1-start)*1000)))/1000
		e.Layer = &experiment.LayerSlice{Key: []string{"checkout", "search"}[rng.IntN(2)], Start: start, End: min(end, 1)}
	}
	if cond != "" {
		e.Condition = compile(t, cond)
	}
	if rng.IntN(4) == 0 {
		e.Unit = experiment.UnitDevice
	}

	weights, err := bucketing.NormalizeWeights(e.Weights())
	if err != nil {
		t.Fatal(err)
	}
	coverage := e.Coverage
	g := &gb.Experiment{Key: e.Key, Variations: make([]gb.FeatureValue, nv), Weights: weights, Coverage: &coverage, HashVersion: 2}
	for v := range g.Variations {
		g.Variations[v] = v
	}
	if l := e.Layer; l != nil {
		g.Namespace = &gb.Namespace{Id: l.Key, Start: l.Start, End: l.End}
	}
	if cond != "" {
		if err := json.Unmarshal([]byte(cond), &g.Condition); err != nil {
			t.Fatal(err)
		}
	}
	return e, g
}

// crossUnit is a unit of e and the ids the service knows: a user, or a
// device with or without a signed-in user. Some ids are not ASCII.
func crossUnit(rng *rand.Rand, e *experiment.Experiment, d, u int) (unit, user, device string) {
	user = "user-" + strconv.Itoa(d*1000+u)
	device = "device-" + strconv.Itoa(rng.IntN(1_000_000))
	if u%9 == 0 {
		user = "ü日本😀-" + user
	}
	if e.UnitOf() == experiment.UnitDevice {
		if rng.IntN(2) == 0 {
			user = ""
		}
		return device, user, device
	}
	if rng.IntN(2) == 0 {
		device = ""
	}
	return user, user, device
}

// toGBGroups converts saved groups for growthbook-golang, whose type is
// internal but has the same shape.
func toGBGroups(g conditions.SavedGroups) map[string]any {
	out := make(map[string]any, len(g))
	for k, v := range g {
		out[k] = v
	}
	return out
}

// gbClient is growthbook-golang with the saved groups of the cross-check.
func gbClient(t *testing.T) *gb.Client {
	t.Helper()
	client, err := gb.NewClient(context.Background(), gb.WithSavedGroups(toGBGroups(crossGroups)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// gbRun is growthbook-golang's variation for attrs, -1 when not in the
// experiment.
func gbRun(t testing.TB, client *gb.Client, g *gb.Experiment, attrs map[string]any) int {
	t.Helper()
	child, err := client.WithAttributes(gb.Attributes(attrs))
	if err != nil {
		t.Fatal(err)
	}
	res := child.RunExperiment(context.Background(), g)
	if !res.InExperiment {
		return -1
	}
	return res.VariationId
}

// gbNoCondition is the zero condition of growthbook-golang's type, which
// is internal: it matches everyone.
var gbNoCondition = gb.Experiment{}.Condition

// gbCondition is growthbook-golang's answer to cond alone: an experiment
// that enrols everyone it targets.
func gbCondition(t *testing.T, client *gb.Client, cond string, attrs map[string]any) bool {
	t.Helper()
	g := &gb.Experiment{Key: "condition-only", Variations: []gb.FeatureValue{0, 1}, Weights: []float64{0.5, 0.5}, HashVersion: 2}
	if cond != "" {
		if err := json.Unmarshal([]byte(cond), &g.Condition); err != nil {
			t.Fatal(err)
		}
	}
	return gbRun(t, client, g, attrs) >= 0
}

func variantOf(d Decision) int {
	if !d.InExperiment {
		return -1
	}
	return d.Variant
}
