package experiment

import (
	"fmt"
	"reflect"
	"testing"
)

func TestMetricRefs(t *testing.T) {
	many := make([]string, MaxMetrics)
	for i := range many {
		many[i] = fmt.Sprintf("m%d", i)
	}
	for _, tc := range []struct {
		name string
		m    MetricRefs
		want []string // fields with a problem
		all  []string
	}{
		{"none", MetricRefs{}, nil, nil},
		{"every role", MetricRefs{Primary: "p", Secondary: []string{"s1", "s2"}, Guardrails: []string{"g"}}, nil, []string{"p", "s1", "s2", "g"}},
		{"bad key", MetricRefs{Primary: "P"}, []string{"primary_metric"}, []string{"P"}},
		{"two roles", MetricRefs{Primary: "p", Guardrails: []string{"g", "p"}}, []string{"guardrail_metrics[1]"}, []string{"p", "g"}},
		{"twice in a role", MetricRefs{Secondary: []string{"s", "s"}}, []string{"secondary_metrics[1]"}, []string{"s"}},
		{"twenty", MetricRefs{Secondary: many}, nil, many},
		{"twenty-one", MetricRefs{Primary: "p", Secondary: many}, []string{"secondary_metrics"}, append([]string{"p"}, many...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Problems{}
			CheckMetrics(p, tc.m)
			var got []string
			for f := range p {
				got = append(got, f)
			}
			if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
				t.Fatalf("problems %v, want fields %v", p, tc.want)
			}
			if all := tc.m.All(); !reflect.DeepEqual(all, tc.all) {
				t.Fatalf("All() = %v, want %v", all, tc.all)
			}
			for _, k := range tc.all {
				if !tc.m.Names(k) {
					t.Fatalf("Names(%q) false", k)
				}
			}
			if tc.m.Names("absent") || (len(tc.m.Guardrails) > 0 && !tc.m.IsGuardrail(tc.m.Guardrails[0])) || tc.m.IsGuardrail("s1") {
				t.Fatalf("role lookups of %+v", tc.m)
			}
		})
	}
}
