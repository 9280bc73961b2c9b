package classicapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// TestVariantIDs: a variant keeps the id it names, else the id of the
// current variant at its place, else the next free v<n>; splits must sum
// to 100.
func TestVariantIDs(t *testing.T) {
	id := func(s string) *string { return &s }
	split := func(f string) *json.Number { n := json.Number(f); return &n }
	named := func(ids ...*string) []variantInput {
		out := make([]variantInput, len(ids))
		for i, v := range ids {
			out[i] = variantInput{ID: v, Name: id("n"), SplitPercentage: split("25")}
		}
		return out
	}
	current := []experiment.Variant{{Key: "v1"}, {Key: "v2"}}
	for _, tc := range []struct {
		name    string
		in      []variantInput
		current []experiment.Variant
		want    []string
	}{
		{"new", named(nil, nil, nil, nil), nil, []string{"v1", "v2", "v3", "v4"}},
		{"named", named(id("a"), nil, id("v1"), nil), nil, []string{"a", "v2", "v1", "v3"}},
		{"sent again", named(nil, nil, nil, nil), current, []string{"v1", "v2", "v3", "v4"}},
		{"reordered by id", named(id("v2"), nil, nil, nil), current, []string{"v2", "v3", "v4", "v5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := experiment.Problems{}
			got := variants(tc.in, tc.current, p)
			keys := make([]string, len(got))
			for i, v := range got {
				keys[i] = v.Key
			}
			if !reflect.DeepEqual(keys, tc.want) || len(p) != 0 {
				t.Fatalf("ids %v (problems %v), want %v", keys, p, tc.want)
			}
		})
	}
	p := experiment.Problems{}
	variants([]variantInput{{Name: id("a"), SplitPercentage: split("50")}, {Name: id("b"), SplitPercentage: split("49.5")}}, nil, p)
	if p["variants"] == "" {
		t.Fatalf("99.5%% accepted: %v", p)
	}
	p = experiment.Problems{}
	variants([]variantInput{{SplitPercentage: split("101")}, {Name: id("b")}}, nil, p)
	want := experiment.Problems{"variants[0].name": "is required", "variants[0].splitPercentage": "must be a number from 0 to 100", "variants[1].splitPercentage": "is required"}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("problems %v, want %v", p, want)
	}
}

func TestRenamed(t *testing.T) {
	got := renamed(experiment.Problems{"variants[1].weight": "w", "variants[0].payload": "p", "variants[0].key": "k",
		"variants[2].flow_id": "f", "primary_event": "e", "condition": "c", "name": "n"})
	want := experiment.Problems{"variants[1].splitPercentage": "w", "variants[0].config": "p", "variants[0].id": "k",
		"variants[2].flowId": "f", "primaryEvent": "e", "audienceId": "c", "name": "n"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("renamed %v, want %v", got, want)
	}
}

func TestAudienceOf(t *testing.T) {
	c, err := audienceCondition("aud_xyz")
	if err != nil {
		t.Fatal(err)
	}
	if got := audienceOf(&experiment.Experiment{Condition: c}); got != "aud_xyz" {
		t.Fatalf("audience %q", got)
	}
	other := experiment.CompileCondition(experiment.Problems{}, []byte(`{"id":{"$inGroup":"a"},"country":"US"}`))
	for _, e := range []*experiment.Experiment{{}, {Condition: other}} {
		if got := audienceOf(e); got != "" {
			t.Fatalf("audience of %v: %q", e.Condition, got)
		}
	}
}
