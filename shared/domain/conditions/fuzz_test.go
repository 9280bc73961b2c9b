package conditions

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzCompile: Compile never panics, and a condition it accepts evaluates
// any attributes without panicking, the same way twice, and survives a
// round trip through MarshalJSON.
func FuzzCompile(f *testing.F) {
	if data, err := os.ReadFile(casesFile); err == nil {
		var suite struct {
			EvalCondition [][]json.RawMessage `json:"evalCondition"`
		}
		if json.Unmarshal(data, &suite) == nil {
			for _, c := range suite.EvalCondition {
				f.Add([]byte(c[1]), []byte(c[2]))
			}
		}
	}
	f.Add([]byte(`{"x":{"$regex":"[\\s\\S]\\u0041(?<n>a){2,}"}}`), []byte(`{"x":"\u00a0Aaa"}`))
	f.Add([]byte(`{"v":{"$vgte":"1.2.3+b\n+x"},"t":{"$elemMatch":{"a.0.length":{"$gt":1}}}}`), []byte(`{"v":"v1","t":[{"a":[[1,2]]}]}`))
	f.Fuzz(func(t *testing.T, cond, attrs []byte) {
		c, err := Compile(cond)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Compile(%q) returned %T, want *Error", cond, err)
			}
			return
		}
		var a map[string]any
		if json.Unmarshal(attrs, &a) != nil {
			a = map[string]any{"x": string(attrs)}
		}
		groups := SavedGroups{"g": {"a", 1.0, nil, true, []any{1.0}}}
		got := c.Eval(a, groups)
		if c.Eval(a, groups) != got {
			t.Fatalf("Eval(%s, %s) is not deterministic", cond, attrs)
		}
		src, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Compile(src)
		if err != nil {
			t.Fatalf("Compile(MarshalJSON(%s)) = %v", cond, err)
		}
		if again.Eval(a, groups) != got {
			t.Fatalf("Eval differs after a round trip of %s", cond)
		}
	})
}
