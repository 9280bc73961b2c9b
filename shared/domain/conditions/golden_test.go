package conditions

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// golden is testdata/js-golden.json: GrowthBook's own JavaScript run over a
// grid of conditions and attributes; see testdata/README.md.
type golden struct {
	SavedGroups SavedGroups      `json:"savedGroups"`
	Attributes  []map[string]any `json:"attributes"`
	Conditions  []struct {
		Condition json.RawMessage `json:"condition"`
		Expected  string          `json:"expected"` // one 0 or 1 per attribute object
	} `json:"conditions"`
	NumberToString      [][2]any `json:"numberToString"`
	StringToNumber      [][2]any `json:"stringToNumber"`
	ToLowerCase         [][2]string
	PaddedVersionString [][2]any `json:"paddedVersionString"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	data, err := os.ReadFile("testdata/js-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Conditions) == 0 || len(g.Attributes) == 0 || len(g.NumberToString) == 0 ||
		len(g.StringToNumber) == 0 || len(g.ToLowerCase) == 0 || len(g.PaddedVersionString) == 0 {
		t.Fatal("testdata/js-golden.json has an empty section")
	}
	return g
}

// regexDivergences are the golden cases where RE2 and JavaScript's RegExp
// knowingly disagree (see regex.go): a character above U+FFFF is one
// character here and two UTF-16 code units there, and $regexi folds the
// Kelvin sign K (U+212A) with k. Each must still disagree, so the list
// cannot go stale.
var regexDivergences = func() map[string]bool {
	const emoji, kelvin = "\U0001F600", "\u212a"
	cases := []struct{ condition, x string }{
		{`{"x":{"$regex":"^.$"}}`, emoji},
		{`{"x":{"$regexi":"^.$"}}`, emoji},
		{`{"x":{"$regex":"^[^]$"}}`, emoji},
		{`{"x":{"$regexi":"^[^]$"}}`, emoji},
		{`{"x":{"$regexi":"^\\w+$"}}`, kelvin},
		{`{"x":{"$regexi":"[\\w-]"}}`, kelvin},
		{`{"x":{"$regexi":"\\k"}}`, kelvin},
		{`{"x":{"$regexi":"[a-z]+"}}`, kelvin},
		{`{"x":{"$regexi":"\\w"}}`, kelvin},
	}
	m := map[string]bool{}
	for _, c := range cases {
		a, _ := json.Marshal(map[string]any{"x": c.x})
		m[c.condition+" "+string(a)] = true
	}
	return m
}()

func TestGoldenEval(t *testing.T) {
	g := loadGolden(t)
	diverged := 0
	for _, c := range g.Conditions {
		cond, err := Compile(c.Condition)
		if err != nil {
			t.Errorf("Compile(%s): %v", c.Condition, err)
			continue
		}
		if len(c.Expected) != len(g.Attributes) {
			t.Fatalf("%s: %d expectations for %d attribute objects", c.Condition, len(c.Expected), len(g.Attributes))
		}
		for i, attrs := range g.Attributes {
			want := c.Expected[i] == '1'
			a, _ := json.Marshal(attrs)
			if regexDivergences[string(c.Condition)+" "+string(a)] {
				want = !want
				diverged++
			}
			if got := cond.Eval(attrs, g.SavedGroups); got != want {
				t.Errorf("Eval(%s, %s) = %v, want %v", c.Condition, a, got, want)
			}
		}
	}
	if diverged != len(regexDivergences) {
		t.Errorf("%d of the %d known regex divergences met", diverged, len(regexDivergences))
	}
}

func TestGoldenNumberToString(t *testing.T) {
	for _, c := range loadGolden(t).NumberToString {
		n, want := c[0].(float64), c[1].(string)
		if got := string(appendNumber(nil, n)); got != want {
			t.Errorf("String(%v) = %q, want %q", n, got, want)
		}
	}
}

func TestGoldenStringToNumber(t *testing.T) {
	for _, c := range loadGolden(t).StringToNumber {
		s := c[0].(string)
		got := stringToNumber(s)
		switch want := c[1].(type) {
		case nil:
			if !math.IsNaN(got) {
				t.Errorf("Number(%q) = %v, want NaN", s, got)
			}
		case string:
			if want == "Infinity" && !math.IsInf(got, 1) || want == "-Infinity" && !math.IsInf(got, -1) {
				t.Errorf("Number(%q) = %v, want %s", s, got, want)
			}
		case float64:
			if got != want {
				t.Errorf("Number(%q) = %v, want %v", s, got, want)
			}
		}
	}
}

func TestGoldenToLowerCase(t *testing.T) {
	for _, c := range loadGolden(t).ToLowerCase {
		if got := lowerJS(c[0]); got != c[1] {
			t.Errorf("%q.toLowerCase() = %q, want %q", c[0], got, c[1])
		}
		if !lowerEquals(c[0], c[1]) {
			t.Errorf("lowerEquals(%q, %q) = false", c[0], c[1])
		}
	}
}

func TestGoldenPaddedVersionString(t *testing.T) {
	for _, c := range loadGolden(t).PaddedVersionString {
		want := c[1].(string)
		if got := string(appendPaddedVersion(nil, c[0])); got != want {
			t.Errorf("paddedVersionString(%#v) = %q, want %q", c[0], got, want)
		}
	}
}
