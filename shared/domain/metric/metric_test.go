package metric

import (
	"math"
	"reflect"
	"testing"

	"github.com/abtest/abtest/shared/domain/stats"
)

func TestCheckNew(t *testing.T) {
	ok := func(m Metric) Metric {
		if m.Key == "" {
			m.Key = "m"
		}
		m.Name = "M"
		return m
	}
	count := func(e string) *Component { return &Component{Type: Count, Event: e} }
	for _, tc := range []struct {
		name string
		m    Metric
		want []string // fields with a problem
	}{
		{"binomial", ok(Metric{Type: Binomial, Event: "purchase", WindowHours: 24}), nil},
		{"sum capped", ok(Metric{Type: Sum, Event: "purchase", Property: "cents", Cap: 1e5, Direction: Decrease}), nil},
		{"ratio", ok(Metric{Type: Ratio, Numerator: &Component{Type: Sum, Event: "purchase", Property: "cents"}, Denominator: count("purchase")}), nil},
		{"no type", ok(Metric{Event: "e"}), []string{"type"}},
		{"bad key", ok(Metric{Key: "Bad", Type: Count, Event: "e"}), []string{"key"}},
		{"binomial cap", ok(Metric{Type: Binomial, Event: "e", Cap: 1}), []string{"cap"}},
		{"NaN cap", ok(Metric{Type: Count, Event: "e", Cap: math.NaN()}), []string{"cap"}},
		{"window", ok(Metric{Type: Count, Event: "e", WindowHours: MaxWindowHours + 1}), []string{"window_hours"}},
		{"sum without property", ok(Metric{Type: Sum, Event: "e"}), []string{"property"}},
		{"count with property", ok(Metric{Type: Count, Event: "e", Property: "p"}), []string{"property"}},
		{"ratio sides", ok(Metric{Type: Ratio, Numerator: &Component{Type: Binomial, Event: "e"}}), []string{"numerator.type", "denominator"}},
		{"ratio side event", ok(Metric{Type: Ratio, Numerator: count("a b"), Denominator: &Component{Type: Sum, Event: "e"}}),
			[]string{"numerator.event", "denominator.property"}},
		{"ratio with event", ok(Metric{Type: Ratio, Event: "e", Numerator: count("a"), Denominator: count("b")}), []string{"event"}},
		{"count with sides", ok(Metric{Type: Count, Event: "e", Denominator: count("b")}), []string{"numerator"}},
		{"direction", ok(Metric{Type: Count, Event: "e", Direction: "up"}), []string{"direction"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for f := range CheckNew(&tc.m) {
				got = append(got, f)
			}
			if !sameSet(got, tc.want) {
				t.Fatalf("problems %v, want fields %v", CheckNew(&tc.m), tc.want)
			}
		})
	}
}

func TestKindAndEvents(t *testing.T) {
	for _, tc := range []struct {
		m      Metric
		kind   stats.Kind
		events []string
		lower  bool
	}{
		{Metric{Type: Binomial, Event: "a"}, stats.Binomial, []string{"a"}, false},
		{Metric{Type: Count, Event: "a", Direction: Decrease}, stats.Continuous, []string{"a"}, true},
		{Metric{Type: Sum, Event: "a", Property: "p"}, stats.Continuous, []string{"a"}, false},
		{Metric{Type: Ratio, Numerator: &Component{Type: Sum, Event: "a"}, Denominator: &Component{Type: Count, Event: "a"}}, stats.Ratio, []string{"a"}, false},
		{Metric{Type: Ratio, Numerator: &Component{Type: Count, Event: "a"}, Denominator: &Component{Type: Count, Event: "b"}}, stats.Ratio, []string{"a", "b"}, false},
	} {
		if k, e := tc.m.Kind(), tc.m.Events(); k != tc.kind || !reflect.DeepEqual(e, tc.events) || tc.m.LowerIsBetter() != tc.lower {
			t.Errorf("%+v: kind %v events %v lower %v", tc.m, k, e, tc.m.LowerIsBetter())
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}
