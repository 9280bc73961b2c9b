package experiment

import (
	"strings"
	"testing"
)

func TestCheckVariants(t *testing.T) {
	v := func(key string, w float64) Variant { return Variant{Key: key, Weight: w} }
	for _, tc := range []struct {
		name string
		vs   []Variant
		want Problems
	}{
		{"ok", []Variant{v("a", 1), v("b", 0)}, Problems{}},
		{"smallest stored weight", []Variant{v("a", 1e-130), v("b", 1e125)}, Problems{}},
		// DynamoDB refuses these numbers: a 500 before the check existed.
		{"huge weight", []Variant{v("a", 1e308), v("b", 1)}, Problems{"variants[0].weight": "must be 0 or between 1e-130 and 1e125"}},
		{"subnormal weight", []Variant{v("a", 5e-324), v("b", 1)}, Problems{"variants[0].weight": "must be 0 or between 1e-130 and 1e125"}},
		{"all zero", []Variant{v("a", 0), v("b", 0)}, Problems{"variants": "at least one weight must be positive: with all weights 0 no unit can be assigned"}},
		{"every bad variant is named", []Variant{v("A", -1), v("A", 2), v("", 1)}, Problems{
			"variants[0].key": "must match " + KeyPattern, "variants[0].weight": "must be a finite number >= 0",
			"variants[1].key": "must match " + KeyPattern, "variants[2].key": "must not be empty"}},
		{"duplicate", []Variant{v("a", 1), v("a", 1)}, Problems{"variants[1].key": "duplicates another variant's key"}},
		{"too few", []Variant{v("a", 1)}, Problems{"variants": "must hold 2 to 20 variants (the first is the control)"}},
		{"payload too large", []Variant{{Key: "a", Weight: 1, Payload: []byte(`"` + strings.Repeat("p", MaxPayloadBytes) + `"`)}, v("b", 1)},
			Problems{"variants[0].payload": "must be at most 16384 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Problems{}
			CheckVariants(got, "variants", tc.vs)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, msg := range tc.want {
				if got[k] != msg {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestCheckEvents(t *testing.T) {
	many := make([]string, MaxEvents+1)
	for i := range many {
		many[i] = "e" + strings.Repeat("x", i)
	}
	for _, tc := range []struct {
		names []string
		want  Problems
	}{
		{nil, Problems{}},
		{[]string{"purchase", "signup.v2"}, Problems{}},
		{[]string{"purchase", "purchase", "a:b", ""}, Problems{"events[1]": "duplicates another event name", "events[2]": "must match " + EventNamePattern, "events[3]": "must match " + EventNamePattern}},
		{many, Problems{"events": "must hold at most 20 event names"}},
	} {
		got := Problems{}
		CheckEvents(got, "events", tc.names)
		if len(got) != len(tc.want) {
			t.Fatalf("CheckEvents(%q) = %v, want %v", tc.names, got, tc.want)
		}
		for k, msg := range tc.want {
			if got[k] != msg {
				t.Fatalf("CheckEvents(%q) = %v, want %v", tc.names, got, tc.want)
			}
		}
	}
}

func TestCheckPrimaryEvent(t *testing.T) {
	for _, tc := range []struct {
		primary string
		events  []string
		want    string
	}{
		{"", nil, ""},
		{"", []string{"purchase"}, ""},
		{"purchase", []string{"signup", "purchase"}, ""},
		{"purchase", nil, "must be one of the experiment's events"},
		{"purchase", []string{"signup"}, "must be one of the experiment's events"},
	} {
		got := Problems{}
		CheckPrimaryEvent(got, &Experiment{PrimaryEvent: tc.primary, Events: tc.events})
		if got["primary_event"] != tc.want || (tc.want == "" && len(got) != 0) {
			t.Errorf("CheckPrimaryEvent(%q, %q) = %v, want %q", tc.primary, tc.events, got, tc.want)
		}
	}
}

func TestCheckVariantLabels(t *testing.T) {
	long := strings.Repeat("n", MaxNameLen+1)
	got := Problems{}
	CheckVariants(got, "variants", []Variant{{Key: "a", Weight: 1, Name: long}, {Key: "b", Weight: 1, FlowID: strings.Repeat("f", MaxFlowIDLen+1)}})
	if got["variants[0].name"] == "" || got["variants[1].flow_id"] == "" || len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	got = Problems{}
	CheckVariants(got, "variants", []Variant{{Key: "a", Weight: 1, Name: "Control", FlowID: "flow_a"}, {Key: "b", Weight: 1}})
	if len(got) != 0 {
		t.Fatalf("got %v", got)
	}
}
