package flag

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	gb "github.com/growthbook/growthbook-golang"
)

// TestAgainstGrowthBook evaluates force and rollout flags for thousands of
// random units with this package and with growthbook-golang (the same
// flag as a GrowthBook feature: a rollout is a force rule with coverage
// and hashAttribute) and expects the same value every time.
//
// Coverages are not multiples of 1/1000: growthbook-golang v0.7.0 includes
// a unit when hash < coverage, GrowthBook's JavaScript SDK (the reference
// followed here) when hash <= coverage, and hash version 1 is a multiple
// of 1/1000, so only such coverages can tell the two apart.
func TestAgainstGrowthBook(t *testing.T) {
	flags := []struct {
		typ        Type
		def, rules string
	}{
		{Boolean, `false`, `[{"coverage":0.2371,"value":true}]`},
		{String, `"off"`, `[{"condition":{"country":{"$in":["FR","BE"]}},"value":"fr"},{"coverage":0.5555,"value":"half"}]`},
		{Number, `0`, `[{"condition":{"plan":"pro"},"coverage":0.7013,"value":2},{"coverage":0.1009,"value":1,"hash_attribute":"company"}]`},
		{JSON, `{"v":0}`, `[{"condition":{"beta":{"$exists":true}},"value":{"v":1}},{"coverage":0.9001,"value":{"v":2},"hash_attribute":"device_id"}]`},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for fi, fl := range flags {
		f := mustDefine(t, fl.typ, fl.def, fl.rules)
		f.Key = fmt.Sprintf("flag-%d", fi)
		client := gbFeatureClient(t, f)
		for i := range 3000 {
			attrs := map[string]any{"id": "u" + strconv.Itoa(rng.IntN(1_000_000))}
			if i%7 == 0 {
				attrs["id"] = float64(1 + rng.IntN(100000)) // numeric ids hash as their decimal
			}
			if rng.IntN(2) == 0 {
				attrs["country"] = []string{"FR", "BE", "US"}[rng.IntN(3)]
			}
			if rng.IntN(3) == 0 {
				attrs["plan"] = "pro"
			}
			if rng.IntN(4) == 0 {
				attrs["beta"] = true
			}
			if rng.IntN(2) == 0 {
				attrs["company"] = "c" + strconv.Itoa(rng.IntN(500))
			}
			if rng.IntN(2) == 0 {
				attrs["device_id"] = "d" + strconv.Itoa(rng.IntN(1_000_000))
			}
			got := f.Evaluate(attrs, nil, nil)
			var ours any
			if err := json.Unmarshal(got.Value, &ours); err != nil {
				t.Fatal(err)
			}
			child, err := client.WithAttributes(gb.Attributes(attrs))
			if err != nil {
				t.Fatal(err)
			}
			theirs := child.EvalFeature(context.Background(), f.Key)
			if !reflect.DeepEqual(ours, normalize(t, theirs.Value)) {
				t.Fatalf("%s %v: value %s (%s), growthbook-golang %v (%s)", f.Key, attrs, got.Value, got.Source, theirs.Value, theirs.Source)
			}
		}
	}
}

// gbFeatureClient serves f as a GrowthBook feature.
func gbFeatureClient(t *testing.T, f *Flag) *gb.Client {
	t.Helper()
	var rules []map[string]any
	for _, r := range f.Rules {
		rule := map[string]any{"force": json.RawMessage(r.Value)}
		if r.Condition != nil {
			c, _ := r.Condition.MarshalJSON()
			rule["condition"] = json.RawMessage(c)
		}
		if r.Kind == Rollout {
			rule["coverage"], rule["hashAttribute"] = r.Coverage, r.HashAttribute
		}
		rules = append(rules, rule)
	}
	features, err := json.Marshal(map[string]any{f.Key: map[string]any{"defaultValue": json.RawMessage(f.DefaultValue), "rules": rules}})
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

// normalize turns a growthbook-golang value into what encoding/json gives.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
