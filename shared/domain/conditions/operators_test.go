package conditions

import (
	"encoding/json"
	"testing"
)

// evalCase is one evaluation: a condition, the attributes, the answer.
type evalCase struct {
	cond, attrs string
	want        bool
}

func runEval(t *testing.T, groups SavedGroups, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		cond, err := Compile(json.RawMessage(c.cond))
		if err != nil {
			t.Errorf("Compile(%s): %v", c.cond, err)
			continue
		}
		var attrs map[string]any
		if err := json.Unmarshal([]byte(c.attrs), &attrs); err != nil {
			t.Fatalf("attributes %s: %v", c.attrs, err)
		}
		if got := cond.Eval(attrs, groups); got != c.want {
			t.Errorf("Eval(%s, %s) = %v, want %v", c.cond, c.attrs, got, c.want)
		}
	}
}

func TestEmptyMatchesEverything(t *testing.T) {
	for _, raw := range []string{"", " ", "null", "{}"} {
		c, err := Compile(json.RawMessage(raw))
		if err != nil {
			t.Fatalf("Compile(%q): %v", raw, err)
		}
		if !c.Eval(nil, nil) || !c.Eval(map[string]any{"a": 1.0}, nil) {
			t.Fatalf("Compile(%q) does not match everything", raw)
		}
	}
	var nilCond *Condition
	if !nilCond.Eval(nil, nil) {
		t.Fatal("the nil condition does not match")
	}
	c, err := CompileMap(nil)
	if err != nil || !c.Eval(nil, nil) {
		t.Fatalf("CompileMap(nil) = %v, %v", c, err)
	}
}

// Each operator of GrowthBook's language, with the coercions JavaScript
// applies to it.
func TestOperators(t *testing.T) {
	t.Run("literals", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"plan":"pro"}`, `{"plan":"pro"}`, true},
			{`{"age":30}`, `{"age":"30"}`, true},     // value * 1 === 30
			{`{"age":"30"}`, `{"age":30}`, true},     // value + "" === "30"
			{`{"age":0}`, `{}`, true},                // null * 1 is 0
			{`{"x":"null"}`, `{}`, true},             // String(null)
			{`{"x":"a,b"}`, `{"x":["a","b"]}`, true}, // String(array)
			{`{"flag":false}`, `{"flag":0}`, true},   // !!0 === false
			{`{"flag":false}`, `{}`, false},          // but null never equals a boolean
			{`{"x":null}`, `{}`, true},
			{`{"x":[1,2]}`, `{"x":[1,2]}`, true},
			{`{"x":{"a":1}}`, `{"x":{"a":1}}`, true},
			{`{"x":{}}`, `{"x":{"a":1}}`, false},
		})
	})
	t.Run("$eq $ne", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"x":{"$eq":"a"}}`, `{"x":"a"}`, true},
			{`{"x":{"$eq":5}}`, `{"x":"5"}`, false}, // === does not coerce
			{`{"x":{"$eq":null}}`, `{}`, true},
			{`{"x":{"$ne":5}}`, `{"x":"5"}`, true},
			{`{"x":{"$ne":null}}`, `{}`, false},
		})
	})
	t.Run("$lt $lte $gt $gte", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"n":{"$gt":5,"$lt":10}}`, `{"n":"8"}`, true},   // numeric: "8" is 8
			{`{"n":{"$gt":"5","$lt":"10"}}`, `{"n":8}`, true}, // numeric: "10" is 10
			{`{"n":{"$lt":"9"}}`, `{"n":"10"}`, true},         // two strings compare as text
			{`{"n":{"$gte":0}}`, `{}`, true},                  // null is 0
			{`{"n":{"$lte":1}}`, `{"n":true}`, true},          // true is 1
			{`{"n":{"$gt":1}}`, `{"n":"abc"}`, false},         // NaN compares with nothing
			{`{"n":{"$lt":1}}`, `{"n":"abc"}`, false},
			{`{"n":{"$gt":"a"}}`, `{"n":["b"]}`, true}, // an array becomes "b"
			{`{"d":{"$gte":"2024-01-01","$lt":"2025-01-01"}}`, `{"d":"2024-06-30"}`, true},
		})
	})
	t.Run("$regex $regexi", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"ua":{"$regex":"(Mobile|Tablet)"}}`, `{"ua":"Android Mobile"}`, true},
			{`{"ua":{"$regex":"mobile"}}`, `{"ua":"Android Mobile"}`, false},
			{`{"ua":{"$regexi":"MOBILE"}}`, `{"ua":"Android Mobile"}`, true},
			{`{"x":{"$regex":"^nu"}}`, `{}`, true},               // test(null) reads "null"
			{`{"x":{"$regex":"^1e\\+21$"}}`, `{"x":1e21}`, true}, // String(1e21)
			{`{"x":{"$regex":"a.c"}}`, `{"x":"a\rc"}`, false},    // "." stops at \r as in JavaScript
			{`{"x":{"$regex":"^\\s$"}}`, `{"x":"\u00a0"}`, true}, // JavaScript's \s is Unicode-wide
			{`{"x":{"$regex":"\\u0041"}}`, `{"x":"A"}`, true},
			{`{"x":{"$regex":"[]"}}`, `{"x":"a"}`, false},
			{`{"x":{"$regex":"^[^]$"}}`, `{"x":"\n"}`, true},
		})
	})
	t.Run("$in $nin $ini $nini", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"c":{"$in":["US","CA"]}}`, `{"c":"CA"}`, true},
			{`{"c":{"$in":["US","CA"]}}`, `{"c":"ca"}`, false},
			{`{"c":{"$in":[1]}}`, `{"c":"1"}`, false},                                    // includes() does not coerce
			{`{"t":{"$in":["a","b"]}}`, `{"t":["x","b"]}`, true},                         // arrays intersect
			{`{"c":{"$in":[null]}}`, `{}`, true},                                         // missing is null
			{`{"c":{"$in":["a","b","c","d","e","f","g","h","US"]}}`, `{"c":"US"}`, true}, // indexed
			{`{"c":{"$nin":["US"]}}`, `{}`, true},
			{`{"t":{"$nin":["a"]}}`, `{"t":[]}`, true},
			{`{"c":{"$ini":["us"]}}`, `{"c":"US"}`, true},
			{`{"c":{"$ini":["i̇stanbul"]}}`, `{"c":"İSTANBUL"}`, true}, // İ lowers to i + U+0307
			{`{"c":{"$ini":["οδος"]}}`, `{"c":"ΟΔΟΣ"}`, true},          // final sigma
			{`{"c":{"$ini":["οδοσ"]}}`, `{"c":"ΟΔΟΣ"}`, false},
			{`{"c":{"$nini":["us"]}}`, `{"c":"US"}`, false},
		})
	})
	t.Run("$all $alli", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"t":{"$all":["a","b"]}}`, `{"t":["b","c","a"]}`, true},
			{`{"t":{"$all":["a","b"]}}`, `{"t":["a"]}`, false},
			{`{"t":{"$all":[]}}`, `{"t":[]}`, true},
			{`{"t":{"$all":[]}}`, `{"t":"a"}`, false},
			{`{"t":{"$all":[{"$gt":4}]}}`, `{"t":[1,5]}`, true}, // elements are conditions
			{`{"t":{"$alli":["A","b"]}}`, `{"t":["a","B"]}`, true},
			{`{"t":{"$alli":[{"$eq":"A"}]}}`, `{"t":["a"]}`, false}, // only plain strings fold
		})
	})
	t.Run("$size", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"t":{"$size":2}}`, `{"t":[1,2]}`, true},
			{`{"t":{"$size":0}}`, `{"t":"ab"}`, false},
			{`{"t":{"$size":{"$gte":2}}}`, `{"t":[1,2,3]}`, true},
		})
	})
	t.Run("$elemMatch", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"n":{"$elemMatch":{"$gt":10}}}`, `{"n":[1,15]}`, true},                 // operators: each element
			{`{"h":{"$elemMatch":{"name":"golf"}}}`, `{"h":[{"name":"golf"}]}`, true}, // a condition: each element's fields
			{`{"h":{"$elemMatch":{"name":"golf"}}}`, `{"h":"golf"}`, false},
			{`{"n":{"$elemMatch":{"$eq":0}}}`, `{"n":[0]}`, false}, // GrowthBook skips falsy elements
			{`{"n":{"$elemMatch":{}}}`, `{"n":[0,1]}`, true},       // {} is a condition every element meets
		})
	})
	t.Run("$exists $type", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"a.b":{"$exists":true}}`, `{"a":{"b":0}}`, true},
			{`{"a.b":{"$exists":false}}`, `{"a":{"b":null}}`, true}, // null is as good as missing
			{`{"a":{"$type":"array"}}`, `{"a":[]}`, true},
			{`{"a":{"$type":"object"}}`, `{"a":[]}`, false},
			{`{"a":{"$type":"null"}}`, `{}`, true},
			{`{"a":{"$type":"number"}}`, `{"a":"1"}`, false},
		})
	})
	t.Run("$not", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"name":{"$not":{"$regex":"^hello"}}}`, `{"name":"world"}`, true},
			{`{"name":{"$not":"hello"}}`, `{"name":"hello"}`, false},
			{`{"$not":{"name":"hello"}}`, `{"name":"world"}`, true},
		})
	})
	t.Run("versions", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"v":{"$vgte":"2.1.0"}}`, `{"v":"2.10.0"}`, true},
			{`{"v":{"$vgt":"1.0.0-beta"}}`, `{"v":"1.0.0"}`, true},
			{`{"v":{"$vlt":"1.0.0"}}`, `{"v":"1.0.0-rc.1"}`, true},
			{`{"v":{"$veq":"1.2.3"}}`, `{"v":"v1.2.3+build.7"}`, true},
			{`{"v":{"$vne":"1.2.3"}}`, `{"v":"1.2.3-alpha"}`, true},
			{`{"v":{"$vlte":"2"}}`, `{"v":2}`, true}, // a number reads as its string
			{`{"v":{"$veq":"0"}}`, `{}`, true},       // anything else is "0"
		})
	})
	t.Run("logic", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"$and":[{"a":1},{"b":2}]}`, `{"a":1,"b":2}`, true},
			{`{"$or":[{"a":1},{"b":2}]}`, `{"a":0,"b":2}`, true},
			{`{"$or":[]}`, `{}`, true},
			{`{"$nor":[{"a":1}]}`, `{"a":2}`, true},
			{`{"$nor":[]}`, `{}`, false},                                          // GrowthBook's evalOr is true when empty
			{`{"$groups":{"$elemMatch":{"$eq":"a"}}}`, `{"$groups":["a"]}`, true}, // other $ keys are attribute names
		})
	})
	t.Run("paths", func(t *testing.T) {
		runEval(t, nil, []evalCase{
			{`{"address.country":"US"}`, `{"address":{"country":"US"}}`, true},
			{`{"address.country":"US"}`, `{"address":"US"}`, false},
			{`{"tags.0":"a"}`, `{"tags":["a","b"]}`, true},
			{`{"tags.length":2}`, `{"tags":["a","b"]}`, true},
			{`{"tags.01":"b"}`, `{"tags":["a","b"]}`, false},
			{`{"toString":{"$exists":false}}`, `{}`, true}, // only the data's own keys count
		})
	})
}

func TestSavedGroups(t *testing.T) {
	groups := SavedGroups{"beta": {"u1", "u2", 3.0}, "empty": {}}
	runEval(t, groups, []evalCase{
		{`{"id":{"$inGroup":"beta"}}`, `{"id":"u2"}`, true},
		{`{"id":{"$inGroup":"beta"}}`, `{"id":3}`, true},
		{`{"id":{"$inGroup":"beta"}}`, `{"id":"3"}`, false},
		{`{"id":{"$inGroup":"beta"}}`, `{"id":["x","u1"]}`, true},
		{`{"id":{"$inGroup":"unknown"}}`, `{"id":"u1"}`, false},
		{`{"id":{"$notInGroup":"unknown"}}`, `{"id":"u1"}`, true},
		{`{"id":{"$notInGroup":"beta"}}`, `{"id":"u1"}`, false},
		{`{"id":{"$notInGroup":"empty"}}`, `{"id":"u1"}`, true},
	})
	// Groups arrive with each evaluation: the same compiled condition
	// answers for whatever groups it is given.
	c, err := Compile(json.RawMessage(`{"id":{"$inGroup":"beta"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Eval(map[string]any{"id": "u9"}, groups) || !c.Eval(map[string]any{"id": "u9"}, SavedGroups{"beta": {"u9"}}) {
		t.Fatal("saved groups are not read at evaluation")
	}
}

// Attributes built in Go rather than decoded may use Go's numeric types.
func TestGoNumbers(t *testing.T) {
	c, err := Compile(json.RawMessage(`{"age":{"$gte":18},"n":{"$in":[3]},"v":{"$veq":"2"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Eval(map[string]any{"age": 21, "n": int64(3), "v": uint8(2)}, nil) {
		t.Fatal("Go integers are not numbers")
	}
	if !c.Eval(map[string]any{"age": json.Number("18"), "n": float32(3), "v": 2.0}, nil) {
		t.Fatal("json.Number or float32 is not a number")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	var def struct {
		Targeting *Condition `json:"targeting"`
	}
	if err := json.Unmarshal([]byte(`{"targeting": {"country": {"$in": ["US"]}}}`), &def); err != nil {
		t.Fatal(err)
	}
	if !def.Targeting.Eval(map[string]any{"country": "US"}, nil) {
		t.Fatal("decoded condition does not match")
	}
	out, err := json.Marshal(def)
	if err != nil || string(out) != `{"targeting":{"country":{"$in":["US"]}}}` {
		t.Fatalf("Marshal = %s, %v", out, err)
	}
	err = json.Unmarshal([]byte(`{"targeting": {"country": {"$in": "US"}}}`), &def)
	if e, ok := err.(*Error); !ok || e.Path != "condition.country.$in" {
		t.Fatalf("Unmarshal of an invalid condition = %v", err)
	}
}
