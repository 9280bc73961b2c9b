package abcapi

import (
	"encoding/json"
	"os"
	"testing"
)

func TestGroupIDGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/group-ids.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Experiment, Variant string
		GroupID             int64 `json:"group_id"`
	}
	if err := json.Unmarshal(b, &cases); err != nil || len(cases) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	for _, c := range cases {
		if got := GroupID(c.Experiment, c.Variant); got != c.GroupID || got <= 0 {
			t.Errorf("GroupID(%q, %q) = %d, want %d", c.Experiment, c.Variant, got, c.GroupID)
		}
	}
	// The separator keeps ("ab", "") and ("a", "b") apart.
	if GroupID("ab", "") == GroupID("a", "b") {
		t.Error("concatenations collide")
	}
}

func BenchmarkGroupID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if GroupID("experiment_for_button", "Treatment_A") <= 0 {
			b.Fatal("not positive")
		}
	}
}
