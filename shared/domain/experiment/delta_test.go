package experiment

import (
	"reflect"
	"testing"
	"time"
)

// TestDelta: every change of an assignment moves the counts by its
// contribution after minus before; replaying the changes of a unit's life
// in order sums to its final contribution, which is what a recount counts.
func TestDelta(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	assigned := &Assignment{Experiment: "e", Unit: UserUnit("u"), Variant: "b", AssignedAt: at}
	converted := &Assignment{Experiment: "e", Unit: UserUnit("u"), Variant: "b", AssignedAt: at, Conversions: []string{"purchase"}}
	exposed := &Assignment{Experiment: "e", Unit: UserUnit("u"), Variant: "b", AssignedAt: at, FirstExposedAt: at, Conversions: []string{"purchase"}}
	twice := &Assignment{Experiment: "e", Unit: UserUnit("u"), Variant: "b", AssignedAt: at, FirstExposedAt: at, Conversions: []string{"purchase", "signup"}}
	// marked: the units marked per event, exposed or not.
	counts := func(a, x int64, c map[string]int64, marked map[string]int64) Aggregates {
		g := NewAggregates()
		for e, n := range marked {
			g.Marked[e] = n
		}
		if a != 0 {
			g.Assigned["b"] = a
		}
		if x != 0 {
			g.Exposed["b"] = x
		}
		for e, n := range c {
			g.AddConverted("b", e, n)
		}
		return g
	}
	for _, tc := range []struct {
		name          string
		before, after *Assignment
		want          Aggregates
	}{
		{"assigned", nil, assigned, counts(1, 0, nil, nil)},
		{"converted before exposure counts only the mark", assigned, converted, counts(0, 0, nil, map[string]int64{"purchase": 1})},
		{"first exposure counts earlier conversions", converted, exposed, counts(0, 1, map[string]int64{"purchase": 1}, nil)},
		{"conversion while exposed", exposed, twice, counts(0, 0, map[string]int64{"signup": 1}, map[string]int64{"signup": 1})},
		{"no change", twice, twice, counts(0, 0, nil, nil)},
		{"erased", twice, nil, counts(-1, -1, map[string]int64{"purchase": -1, "signup": -1}, map[string]int64{"purchase": -1, "signup": -1})},
	} {
		if got := Delta(tc.before, tc.after); !reflect.DeepEqual(got, tc.want.NonZero()) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	life := []*Assignment{nil, assigned, converted, exposed, twice}
	sum := NewAggregates()
	for i := 1; i < len(life); i++ {
		sum.Add(Delta(life[i-1], life[i]))
	}
	if !reflect.DeepEqual(sum.NonZero(), Contribution(twice).NonZero()) {
		t.Fatalf("replayed life %+v, final contribution %+v", sum, Contribution(twice))
	}
}
