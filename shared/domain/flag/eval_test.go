package flag

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/abtest/abtest/shared/domain/conditions"
)

// fixedEnrolments answers from a map and records what was asked.
type fixedEnrolments struct {
	variants map[string]string
	asked    *[]string
}

func (e fixedEnrolments) Variant(key string) (string, bool) {
	if e.asked != nil {
		*e.asked = append(*e.asked, key)
	}
	v, ok := e.variants[key]
	return v, ok
}

func mustDefine(t testing.TB, typ Type, def, rules string) *Flag {
	t.Helper()
	f, p := define(t, typ, def, rules, map[string][]string{"pricing": {"control", "cheap"}, "layout": {"a", "b"}})
	if len(p) > 0 {
		t.Fatalf("definition refused: %v", p)
	}
	return f
}

func TestEvaluate(t *testing.T) {
	const rules = `[
		{"condition":{"country":"FR"},"value":"fr"},
		{"experiment":"pricing","values":{"control":"p-control","cheap":"p-cheap"}},
		{"condition":{"plan":"pro"},"coverage":1,"value":"pro-rollout"},
		{"experiment":"layout","values":{"a":"l-a","b":"l-b"}}
	]`
	f := mustDefine(t, String, `"default"`, rules)
	tests := []struct {
		name     string
		attrs    string
		variants map[string]string
		disabled bool
		want     Result
		asked    []string
	}{
		{"force first", `{"id":"u1","country":"FR"}`, map[string]string{"pricing": "cheap"}, false,
			Result{Value: json.RawMessage(`"fr"`), Source: SourceForce, Rule: 0}, nil},
		{"experiment when enrolled", `{"id":"u1"}`, map[string]string{"pricing": "cheap"}, false,
			Result{Value: json.RawMessage(`"p-cheap"`), Source: SourceExperiment, Experiment: "pricing", Variant: "cheap", Rule: 1}, []string{"pricing"}},
		{"not enrolled falls through to the rollout", `{"id":"u1","plan":"pro"}`, nil, false,
			Result{Value: json.RawMessage(`"pro-rollout"`), Source: SourceRollout, Rule: 2}, []string{"pricing"}},
		{"unmapped variant falls through", `{"id":"u1"}`, map[string]string{"pricing": "added-later", "layout": "b"}, false,
			Result{Value: json.RawMessage(`"l-b"`), Source: SourceExperiment, Experiment: "layout", Variant: "b", Rule: 3}, []string{"pricing", "layout"}},
		{"nothing applies", `{"id":"u1"}`, nil, false,
			Result{Value: json.RawMessage(`"default"`), Source: SourceDefault, Rule: -1}, []string{"pricing", "layout"}},
		{"disabled asks nothing", `{"id":"u1","country":"FR"}`, map[string]string{"pricing": "cheap"}, true,
			Result{Value: json.RawMessage(`"default"`), Source: SourceDisabled, Rule: -1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attrs map[string]any
			if err := json.Unmarshal([]byte(tt.attrs), &attrs); err != nil {
				t.Fatal(err)
			}
			g := *f
			g.Enabled = !tt.disabled
			var asked []string
			got := g.Evaluate(attrs, nil, fixedEnrolments{variants: tt.variants, asked: &asked})
			if string(got.Value) != string(tt.want.Value) || got.Source != tt.want.Source || got.Experiment != tt.want.Experiment ||
				got.Variant != tt.want.Variant || got.Rule != tt.want.Rule {
				t.Fatalf("got %+v (value %s), want %+v (value %s)", got, got.Value, tt.want, tt.want.Value)
			}
			if strconv.Quote(join(asked)) != strconv.Quote(join(tt.asked)) {
				t.Fatalf("asked %v, want %v", asked, tt.asked)
			}
		})
	}
	// No enrolments: experiment rules are skipped.
	if got := f.Evaluate(map[string]any{"id": "u1"}, nil, nil); got.Source != SourceDefault {
		t.Fatalf("nil enrolments: %+v", got)
	}
}

func join(ss []string) string {
	out := ""
	for _, s := range ss {
		out += s + ","
	}
	return out
}

func TestEvaluateSavedGroups(t *testing.T) {
	f := mustDefine(t, Boolean, `false`, `[{"condition":{"id":{"$inGroup":"beta"}},"value":true}]`)
	groups := conditions.SavedGroups{"beta": {"u1", "u2"}}
	if got := f.Evaluate(map[string]any{"id": "u2"}, groups, nil); got.Source != SourceForce {
		t.Fatalf("member: %+v", got)
	}
	if got := f.Evaluate(map[string]any{"id": "u3"}, groups, nil); got.Source != SourceDefault {
		t.Fatalf("non-member: %+v", got)
	}
}

// Raising the coverage never removes a unit, and the share included tracks
// the coverage.
func TestRolloutMonotone(t *testing.T) {
	const units = 20000
	coverages := []float64{0, 0.01, 0.1, 0.25, 0.5, 0.9, 1}
	prev := make([]bool, units)
	for _, c := range coverages {
		in := 0
		for i := range units {
			id := "user-" + strconv.Itoa(i)
			got := InRollout("new-checkout", c, id)
			if prev[i] && !got {
				t.Fatalf("unit %s left the rollout when coverage rose to %v", id, c)
			}
			prev[i] = got
			if got {
				in++
			}
		}
		// Hash version 1 has 1/1000 resolution and n <= coverage includes
		// one bucket more than the share: allow 2 points either way.
		if share := float64(in) / units; share < c-0.02 || share > c+0.02 || (c == 0 && in != 0) || (c == 1 && in != units) {
			t.Errorf("coverage %v included %v of units", c, share)
		}
	}
}

func TestInRolloutValues(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"missing", nil, false},
		{"empty string", "", false},
		{"zero", 0.0, false},
		{"boolean", true, false},
		{"object", map[string]any{"a": 1}, false},
		{"string", "3", true},
		{"number hashes as its decimal", 3.0, true},
	}
	for _, tt := range tests {
		if got := InRollout("feature", 1, tt.v); got != tt.want {
			t.Errorf("%s: InRollout = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A number hashes as JavaScript writes it: 3 and "3" are the same unit.
	for _, c := range []float64{0.1, 0.3, 0.5, 0.7} {
		for i := 1; i < 200; i++ {
			if InRollout("feature", c, float64(i)) != InRollout("feature", c, strconv.Itoa(i)) {
				t.Fatalf("%d and %q disagree at coverage %v", i, strconv.Itoa(i), c)
			}
		}
	}
}

func TestJSNumber(t *testing.T) {
	tests := map[float64]string{
		3: "3", -42: "-42", 1.5: "1.5", 0.1: "0.1", 123456789012: "123456789012",
		1e21: "1e+21", 1.5e-7: "1.5e-7", 1e-7: "1e-7", 1e-6: "0.000001", 2e-6: "0.000002", 1e20: "100000000000000000000",
	}
	for f, want := range tests {
		if got := jsNumber(f); got != want {
			t.Errorf("jsNumber(%v) = %q, want %q", f, got, want)
		}
	}
}
