package flag

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// define parses and checks a flag as the admin API does, with the
// experiments exps (key -> variant keys).
func define(t testing.TB, typ Type, def, rules string, exps map[string][]string) (*Flag, experiment.Problems) {
	t.Helper()
	p := experiment.Problems{}
	f := &Flag{Key: "checkout-flow", Type: typ, DefaultValue: CompactValue(json.RawMessage(def)), Enabled: true}
	if rules != "" {
		f.Rules = ParseRules(p, "rules", json.RawMessage(rules))
	}
	for k, v := range CheckNew(f) {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	CheckExperiments(p, "rules", f.Rules, func(k string) ([]string, bool) { v, ok := exps[k]; return v, ok })
	return f, p
}

func TestCheckNames(t *testing.T) {
	exps := map[string][]string{"pricing": {"control", "cheap"}}
	tests := []struct {
		name       string
		typ        Type
		def, rules string
		want       []string // the problem paths, sorted
	}{
		{"valid boolean", Boolean, `false`, `[{"condition":{"country":"FR"},"value":true},{"coverage":0.2,"value":true}]`, nil},
		{"valid experiment", String, `"a"`, `[{"experiment":"pricing","values":{"control":"a","cheap":"b"}}]`, nil},
		{"valid json null default", JSON, `null`, `[{"value":{"a":[1,2]}}]`, nil},
		{"no rules", Number, `1.5`, `[]`, nil},
		{"unknown type", Type("int"), `1`, ``, []string{"type"}},
		{"default missing", Boolean, ``, ``, []string{"default_value"}},
		{"default of another type", Boolean, `"true"`, ``, []string{"default_value"}},
		{"number as string", Number, `"1"`, ``, []string{"default_value"}},
		{"number too big", Number, `1e400`, ``, []string{"default_value"}},
		{"string as number", String, `1`, ``, []string{"default_value"}},
		{"rule value of another type", Boolean, `false`, `[{"value":true},{"value":true},{"value":1}]`, []string{"rules[2].value"}},
		{"rollout value of another type", Number, `0`, `[{"coverage":0.5,"value":"x"}]`, []string{"rules[0].value"}},
		{"coverage above 1", Boolean, `false`, `[{"coverage":1.5,"value":true}]`, []string{"rules[0].coverage"}},
		{"coverage below 0", Boolean, `false`, `[{"coverage":-0.1,"value":true}]`, []string{"rules[0].coverage"}},
		{"coverage not a number", Boolean, `false`, `[{"coverage":"half","value":true}]`, []string{"rules[0].coverage"}},
		{"coverage missing", Boolean, `false`, `[{"hash_attribute":"company","value":true}]`, []string{"rules[0].coverage"}},
		{"empty hash attribute", Boolean, `false`, `[{"coverage":0.5,"value":true,"hash_attribute":""}]`, []string{"rules[0].hash_attribute"}},
		{"value missing", Boolean, `false`, `[{"condition":{}, "coverage":0.5}]`, []string{"rules[0].value"}},
		{"bad condition named inside", Boolean, `false`, `[{"value":true},{"condition":{"$and":[{"a":{"$regex":"("}}]},"value":true}]`, []string{"rules[1].condition.$and[0].a.$regex"}},
		{"condition not an object", Boolean, `false`, `[{"condition":"x","value":true}]`, []string{"rules[0].condition"}},
		{"empty rule", Boolean, `false`, `[{}]`, []string{"rules[0]"}},
		{"rule not an object", Boolean, `false`, `[1]`, []string{"rules[0]"}},
		{"rules not an array", Boolean, `false`, `{}`, []string{"rules"}},
		{"field of another kind", Boolean, `false`, `[{"experiment":"pricing","values":{"control":true,"cheap":false},"value":true}]`, []string{"rules[0].value"}},
		{"unknown field", Boolean, `false`, `[{"value":true,"weight":2}]`, []string{"rules[0].weight"}},
		{"unknown experiment", Boolean, `false`, `[{"value":true},{"experiment":"nope","values":{"control":true}}]`, []string{"rules[1].experiment"}},
		{"bad experiment key", Boolean, `false`, `[{"experiment":"Nope!","values":{"control":true}}]`, []string{"rules[0].experiment"}},
		{"not a variant", Boolean, `false`, `[{"experiment":"pricing","values":{"control":true,"cheap":false,"dear":true}}]`, []string{"rules[0].values.dear"}},
		{"variant missing", Boolean, `false`, `[{"experiment":"pricing","values":{"control":true}}]`, []string{"rules[0].values"}},
		{"variant value of another type", Boolean, `false`, `[{"experiment":"pricing","values":{"control":true,"cheap":"no"}}]`, []string{"rules[0].values.cheap"}},
		{"values not an object", Boolean, `false`, `[{"experiment":"pricing","values":[true,false]}]`, []string{"rules[0].values"}},
		{"too many rules", Boolean, `false`, "[" + strings.Repeat(`{"value":true},`, MaxRules) + `{"value":true}]`, []string{"rules"}},
		{"value too large", String, `"` + strings.Repeat("x", MaxValueBytes) + `"`, ``, []string{"default_value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p := define(t, tt.typ, tt.def, tt.rules, exps)
			got := sortedProblems(p)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems %v, want paths %v", p, tt.want)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	f := &Flag{Key: "Bad Key", Type: Boolean, DefaultValue: json.RawMessage("true")}
	if p := CheckNew(f); p["key"] == "" {
		t.Fatalf("bad key accepted: %v", p)
	}
	if err := CheckKey("dark-mode"); err != nil {
		t.Fatal(err)
	}
	if err := CheckKey("Dark"); err == nil {
		t.Fatal("CheckKey accepted an upper-case key")
	}
}

// Rules written by MarshalRules read back the same, conditions included,
// and a rollout without a hash attribute gets "id".
func TestRulesRoundTrip(t *testing.T) {
	in := `[{"condition":{"country":{"$in":["FR","BE"]}},"value":{"a":1}},{"coverage":0.25,"value":[1, 2]},` +
		`{"experiment":"pricing","values":{"control":null,"cheap":"x"}}]`
	p := experiment.Problems{}
	rules := ParseRules(p, "rules", json.RawMessage(in))
	if len(p) > 0 {
		t.Fatal(p)
	}
	out, err := MarshalRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"condition":{"country":{"$in":["FR","BE"]}},"value":{"a":1}},{"condition":null,"coverage":0.25,"value":[1,2],"hash_attribute":"id"},` +
		`{"experiment":"pricing","values":{"cheap":"x","control":null}}]`
	if string(out) != want {
		t.Fatalf("marshal:\n got %s\nwant %s", out, want)
	}
	back, err := UnmarshalRules(out)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := MarshalRules(back)
	if string(again) != want {
		t.Fatalf("round trip: %s", again)
	}
	if _, err := UnmarshalRules([]byte(`[{}]`)); err == nil {
		t.Fatal("UnmarshalRules accepted a rule of no kind")
	}
	if empty, _ := MarshalRules(nil); string(empty) != "[]" {
		t.Fatalf("no rules: %s", empty)
	}
}

func TestExperimentsNamed(t *testing.T) {
	f, p := define(t, Boolean, `false`, `[{"experiment":"b","values":{"x":true}},{"value":true},{"experiment":"a","values":{"x":true}},{"experiment":"b","values":{"x":false}}]`,
		map[string][]string{"a": {"x"}, "b": {"x"}})
	if len(p) > 0 {
		t.Fatal(p)
	}
	if got := f.Experiments(); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("Experiments() = %v", got)
	}
}

func sortedProblems(p experiment.Problems) []string {
	out := make([]string, 0, len(p))
	for k := range p {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
