package experiment

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestShapeOf(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape Shape
		v     Value
		want  Sums
	}{
		{"count", Shape{}, Value{X: 3}, Sums{X: 3, XX: 9}},
		{"count capped", Shape{Cap: 2}, Value{X: 3}, Sums{X: 2, XX: 4}},
		{"under the cap", Shape{Cap: 5}, Value{X: 3}, Sums{X: 3, XX: 9}},
		{"negative sum", Shape{Cap: 5}, Value{X: -4}, Sums{X: -4, XX: 16}},
		{"binomial", Shape{Binary: true}, Value{X: 7}, Sums{X: 1, XX: 1}},
		{"binomial zero", Shape{Binary: true}, Value{}, Sums{}},
		{"ratio", Shape{Ratio: true}, Value{X: 30, Y: 2}, Sums{X: 30, XX: 900, Y: 2, YY: 4, XY: 60}},
		{"ratio capped each side", Shape{Ratio: true, Cap: 10}, Value{X: 30, Y: 2}, Sums{X: 10, XX: 100, Y: 2, YY: 4, XY: 20}},
		{"not a ratio ignores y", Shape{}, Value{X: 1, Y: 5}, Sums{X: 1, XX: 1}},
		{"covariate", Shape{}, Value{X: 3, Pre: 2}, Sums{X: 3, XX: 9, P: 2, PP: 4, XP: 6}},
		{"covariate without value", Shape{}, Value{Pre: 2}, Sums{P: 2, PP: 4}},
		{"covariate capped", Shape{Cap: 5}, Value{X: 9, Pre: 7}, Sums{X: 5, XX: 25, P: 5, PP: 25, XP: 25}},
		{"binomial covariate", Shape{Binary: true}, Value{X: 2, Pre: 4}, Sums{X: 1, XX: 1, P: 1, PP: 1, XP: 1}},
		{"binomial covariate only", Shape{Binary: true}, Value{Pre: 4}, Sums{P: 1, PP: 1}},
		{"ratio has no covariate", Shape{Ratio: true}, Value{X: 3, Y: 1, Pre: 2}, Sums{X: 3, XX: 9, Y: 1, YY: 1, XY: 3}},
	} {
		if got := tc.shape.Of(tc.v); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestDeltaOfSums: a unit's values count once it is exposed, capped by
// each metric's shape; replaying its changes sums to its final
// contribution; values of metrics without a known shape add nothing.
func TestDeltaOfSums(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	shapes := Shapes{"rev": {Cap: 50}, "aov": {Ratio: true}, "buy": {Binary: true}}
	life := []*Assignment{
		nil,
		{Experiment: "e", Variant: "b", AssignedAt: at},
		{Experiment: "e", Variant: "b", AssignedAt: at, Values: map[string]Value{"rev": {X: 30}, "aov": {X: 30, Y: 1}, "buy": {X: 1}, "gone": {X: 9}}},
		{Experiment: "e", Variant: "b", AssignedAt: at, FirstExposedAt: at, Values: map[string]Value{"rev": {X: 30}, "aov": {X: 30, Y: 1}, "buy": {X: 1}, "gone": {X: 9}}},
		{Experiment: "e", Variant: "b", AssignedAt: at, FirstExposedAt: at, Values: map[string]Value{"rev": {X: 70}, "aov": {X: 70, Y: 2}, "buy": {X: 2}, "gone": {X: 9}}},
	}
	if d := DeltaOf(life[1], life[2], shapes); !d.IsZero() {
		t.Fatalf("values before exposure moved the sums: %+v", d)
	}
	total := NewAggregates()
	for i := 1; i < len(life); i++ {
		total.Add(DeltaOf(life[i-1], life[i], shapes))
	}
	want := NewAggregates()
	want.Assigned["b"], want.Exposed["b"] = 1, 1
	want.AddSums("b", "rev", Sums{X: 50, XX: 2500})
	want.AddSums("b", "aov", Sums{X: 70, XX: 4900, Y: 2, YY: 4, XY: 140})
	want.AddSums("b", "buy", Sums{X: 1, XX: 1})
	if got := total.NonZero(); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed life %+v, want %+v", got, want)
	}
	if got := ContributionOf(life[4], shapes).NonZero(); !reflect.DeepEqual(got, want) {
		t.Fatalf("contribution %+v, want %+v", got, want)
	}
	if d := DeltaOf(life[4], nil, shapes); !reflect.DeepEqual(d.Sums["b"]["rev"], Sums{X: -50, XX: -2500}) {
		t.Fatalf("erasure %+v", d.Sums)
	}
}

// TestAggregatesJSON: counts with sums survive JSON (daily snapshots keep
// them so).
func TestAggregatesJSON(t *testing.T) {
	g := NewAggregates()
	g.Assigned["a"], g.Exposed["a"] = 3, 2
	g.AddConverted("a", "buy", 1)
	g.AddSums("a", "rev", Sums{X: 12.5, XX: 100.25})
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	back := NewAggregates()
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.NonZero(), g.NonZero()) {
		t.Fatalf("%s read back as %+v", b, back)
	}
}

func BenchmarkDeltaOf(b *testing.B) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	shapes := Shapes{"rev": {Cap: 50}, "aov": {Ratio: true}}
	before := &Assignment{Experiment: "e", Variant: "b", AssignedAt: at, FirstExposedAt: at, Values: map[string]Value{"rev": {X: 30}, "aov": {X: 30, Y: 1}}}
	after := &Assignment{Experiment: "e", Variant: "b", AssignedAt: at, FirstExposedAt: at, Values: map[string]Value{"rev": {X: 70}, "aov": {X: 70, Y: 2}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = DeltaOf(before, after, shapes)
	}
}
