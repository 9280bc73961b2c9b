package savedgroup_test

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/savedgroup"
)

func TestCheckValues(t *testing.T) {
	cases := []struct {
		name   string
		in     []any
		want   []any
		fields []string
	}{
		{"empty", []any{}, []any{}, nil},
		{"distinct in first order", []any{"b", "a", "b", 3.0, "3", 3.0, -0.0, 0.0}, []any{"b", "a", 3.0, "3", -0.0}, nil},
		{"types", []any{true, nil, map[string]any{}, []any{"x"}, "ok"}, []any{"ok"}, []string{"values[0]", "values[1]", "values[2]", "values[3]"}},
		{"strings", []any{"", strings.Repeat("x", savedgroup.MaxValueBytes+1), "a\nb", "\xff", strings.Repeat("é", savedgroup.MaxValueBytes/2)},
			[]any{strings.Repeat("é", savedgroup.MaxValueBytes/2)}, []string{"values[0]", "values[1]", "values[2]", "values[3]"}},
		{"numbers", []any{math.Inf(1), math.NaN(), 1e300}, []any{1e300}, []string{"values[0]", "values[1]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := experiment.Problems{}
			got := savedgroup.CheckValues(p, "values", tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("values %#v, want %#v", got, tc.want)
			}
			var fields []string
			for k := range p {
				fields = append(fields, k)
			}
			if len(fields) != len(tc.fields) {
				t.Fatalf("problems %v, want %v", p, tc.fields)
			}
			for _, f := range tc.fields {
				if p[f] == "" {
					t.Fatalf("problems %v lack %s", p, f)
				}
			}
		})
	}
}

func TestCheckValuesLimits(t *testing.T) {
	many := func(n int, width int) []any {
		out := make([]any, n)
		for i := range out {
			s := strconv.Itoa(i)
			out[i] = strings.Repeat("0", width-len(s)) + s
		}
		return out
	}
	// 10,000 ids of 100 bytes: at the limits, accepted.
	p := experiment.Problems{}
	if got := savedgroup.CheckValues(p, "values", many(savedgroup.MaxValues, 100)); len(p) != 0 || len(got) != savedgroup.MaxValues {
		t.Fatalf("10,000 ids of 100 bytes: %d values, %v", len(got), p)
	}
	// Duplicates do not count against the limit.
	p = experiment.Problems{}
	if got := savedgroup.CheckValues(p, "values", append(many(savedgroup.MaxValues, 8), many(100, 8)...)); len(p) != 0 || len(got) != savedgroup.MaxValues {
		t.Fatalf("duplicates past the limit: %d values, %v", len(got), p)
	}
	p = experiment.Problems{}
	savedgroup.CheckValues(p, "values", many(savedgroup.MaxValues+1, 8))
	if !strings.Contains(p["values"], "at most 10000 distinct values") {
		t.Fatalf("one value too many: %v", p)
	}
	p = experiment.Problems{}
	savedgroup.CheckValues(p, "values", many(5000, 250))
	if !strings.Contains(p["values"], "bytes stored") {
		t.Fatalf("too many bytes: %v", p)
	}
	// A flood of bad values names the first few only.
	p = experiment.Problems{}
	bad := make([]any, 500)
	savedgroup.CheckValues(p, "values", bad)
	if len(p) != 21 || !strings.Contains(p["values"], "500 values are invalid") {
		t.Fatalf("%d problems: %v", len(p), p["values"])
	}
}

func TestValueJSON(t *testing.T) {
	for v, want := range map[any]string{"a<b>&": `"a<b>&"`, 3.0: "3", 1.5: "1.5", "é": `"é"`, 1e21: "1e+21", `q"`: `"q\""`} {
		if got := string(savedgroup.ValueJSON(v)); got != want {
			t.Errorf("ValueJSON(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	g, p := savedgroup.New("beta", "Beta testers", []any{"u1", "u2", "u1"})
	if len(p) != 0 || g.Size != 2 || !reflect.DeepEqual(g.Values, []any{"u1", "u2"}) {
		t.Fatalf("%+v %v", g, p)
	}
	if _, p := savedgroup.New("Bad Key", "", nil); p["key"] == "" || p["name"] == "" {
		t.Fatalf("problems %v", p)
	}
}
