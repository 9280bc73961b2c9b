package conditions

import (
	"encoding/json"
	"os"
	"testing"
)

// The cross-SDK suite published by GrowthBook; see testdata/README.md.
const casesFile = "testdata/growthbook-cases.json"

// refusedAtDefinition are the evalCondition cases whose condition Compile
// refuses. GrowthBook evaluates them to false (an unknown operator, an
// invalid regex, a list operator without a list); this service refuses them
// when the condition is defined, so they never reach evaluation. The
// conformance test asserts that each of them is refused and expects false.
var refusedAtDefinition = map[string]bool{
	"$in - not array":         true,
	"$nin - not array":        true,
	"$ini - not array":        true,
	"$nini - not array":       true,
	"unknown operator - pass": true,
	"$regex invalid - pass":   true,
	"$regex invalid - fail":   true,
}

func TestConformanceEvalCondition(t *testing.T) {
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatalf("read %s: %v", casesFile, err)
	}
	var suite struct {
		SpecVersion   string              `json:"specVersion"`
		EvalCondition [][]json.RawMessage `json:"evalCondition"`
	}
	if err := json.Unmarshal(data, &suite); err != nil {
		t.Fatalf("parse %s: %v", casesFile, err)
	}
	// The refused list and the README describe this version.
	if suite.SpecVersion != "0.8.0" {
		t.Fatalf("specVersion = %q, want 0.8.0 (update refusedAtDefinition and testdata/README.md when upgrading)", suite.SpecVersion)
	}
	if len(suite.EvalCondition) == 0 {
		t.Fatalf("section evalCondition missing or empty in %s", casesFile)
	}
	refused := map[string]int{}
	for _, c := range suite.EvalCondition {
		if len(c) != 4 && len(c) != 5 {
			t.Fatalf("case %s has %d elements, want 4 or 5", c, len(c))
		}
		var name string
		var attrs map[string]any
		var want bool
		var groups SavedGroups
		mustDecode(t, c[0], &name)
		mustDecode(t, c[2], &attrs)
		mustDecode(t, c[3], &want)
		if len(c) == 5 {
			mustDecode(t, c[4], &groups)
		}
		t.Run(name, func(t *testing.T) {
			cond, err := Compile(c[1])
			if err != nil {
				if !refusedAtDefinition[name] {
					t.Fatalf("Compile(%s) = %v; only the cases listed in refusedAtDefinition may be refused", c[1], err)
				}
				if want {
					t.Fatalf("Compile(%s) refused a case GrowthBook evaluates to true: %v", c[1], err)
				}
				refused[name]++
				return
			}
			if refusedAtDefinition[name] {
				t.Fatalf("Compile(%s) accepted a case listed as refused at definition time", c[1])
			}
			if got := cond.Eval(attrs, groups); got != want {
				t.Fatalf("Eval(%s, %s, %v) = %v, want %v", c[1], c[2], groups, got, want)
			}
		})
	}
	for name := range refusedAtDefinition {
		if refused[name] != 1 {
			t.Errorf("case %q refused %d times, want exactly once", name, refused[name])
		}
	}
}

func mustDecode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}
