package conditions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Every invalid condition is refused with the JSON path of the problem.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		cond, path, problem string // problem: a fragment of the message
	}{
		{`[]`, "condition", "must be an object"},
		{`"x"`, "condition", "must be an object"},
		{`{"a":`, "condition", "invalid JSON"},
		{`{"a":1} {}`, "condition", "invalid JSON"},
		{`{"$and":{"a":1}}`, "condition.$and", "must be an array of conditions"},
		{`{"$or":[{"a":1},"b"]}`, "condition.$or[1]", "must be a condition object"},
		{`{"$nor":null}`, "condition.$nor", "must be an array"},
		{`{"$not":[]}`, "condition.$not", "must be a condition object"},
		{`{"$and":[{"a":1},{"country":{"$regex":"("}}]}`, "condition.$and[1].country.$regex", "invalid regex"},
		{`{"name":{"$regx":"hello"}}`, "condition.name.$regx", "unknown operator $regx"},
		{`{"a":{"$foo":1}}`, "condition.a.$foo", "unknown operator $foo"},
		{`{"a":{"$or":[{"b":1}]}}`, "condition.a.$or", "belongs beside attribute names"},
		{`{"a":{"$gt":1,"b":2}}`, "condition.a", "mixes operators with plain keys (b)"},
		{`{"num":{"$in":1}}`, "condition.num.$in", "must be an array"},
		{`{"num":{"$nin":"a"}}`, "condition.num.$nin", "must be an array"},
		{`{"num":{"$ini":{}}}`, "condition.num.$ini", "must be an array"},
		{`{"num":{"$nini":null}}`, "condition.num.$nini", "must be an array"},
		{`{"num":{"$in":[1,[2]]}}`, "condition.num.$in[1]", "never matches"},
		{`{"t":{"$all":"a"}}`, "condition.t.$all", "must be an array"},
		{`{"t":{"$alli":[{"$bad":1}]}}`, "condition.t.$alli[0].$bad", "unknown operator"},
		{`{"t":{"$size":-1}}`, "condition.t.$size", "non-negative integer"},
		{`{"t":{"$size":1.5}}`, "condition.t.$size", "non-negative integer"},
		{`{"t":{"$size":"3"}}`, "condition.t.$size", "non-negative integer"},
		{`{"t":{"$size":{"a":1}}}`, "condition.t.$size", "operator object"},
		{`{"t":{"$size":{"$gt":"x","$foo":1}}}`, "condition.t.$size.$foo", "unknown operator"},
		{`{"t":{"$elemMatch":[1]}}`, "condition.t.$elemMatch", "must be a condition or an operator object"},
		{`{"t":{"$elemMatch":"a"}}`, "condition.t.$elemMatch", "must be a condition or an operator object"},
		{`{"t":{"$elemMatch":{"$gt":1,"$nope":2}}}`, "condition.t.$elemMatch.$nope", "unknown operator"},
		{`{"t":{"$elemMatch":{"name":{"$regex":"[a"}}}}`, "condition.t.$elemMatch.name.$regex", "invalid regex"},
		{`{"a":{"$eq":[1]}}`, "condition.a.$eq", "never equals"},
		{`{"a":{"$ne":{"b":1}}}`, "condition.a.$ne", "never equals"},
		{`{"a":{"$gt":true}}`, "condition.a.$gt", "must be a number or a string"},
		{`{"a":{"$lte":null}}`, "condition.a.$lte", "must be a number or a string"},
		{`{"a":{"$regex":5}}`, "condition.a.$regex", "must be a regular expression string"},
		{`{"a":{"$regex":"(?=x)"}}`, "condition.a.$regex", "lookahead"},
		{`{"a":{"$regex":"(?<!x)y"}}`, "condition.a.$regex", "lookbehind"},
		{`{"a":{"$regex":"(a)\\1"}}`, "condition.a.$regex", "backreferences"},
		{`{"a":{"$regexi":"[z-a]"}}`, "condition.a.$regexi", "range out of order"},
		{`{"a":{"$regex":"a{1001}"}}`, "condition.a.$regex", "invalid repeat count"},
		{`{"a":{"$regex":"/???***[)"}}`, "condition.a.$regex", "invalid regex"},
		{`{"a":{"$exists":1}}`, "condition.a.$exists", "must be true or false"},
		{`{"a":{"$type":"integer"}}`, "condition.a.$type", "must be one of"},
		{`{"a":{"$type":"undefined"}}`, "condition.a.$type", "never matches"},
		{`{"a":{"$inGroup":""}}`, "condition.a.$inGroup", "saved group id"},
		{`{"a":{"$notInGroup":3}}`, "condition.a.$notInGroup", "saved group id"},
		{`{"v":{"$vgt":true}}`, "condition.v.$vgt", "version string"},
		{`{"v":{"$veq":""}}`, "condition.v.$veq", "not an empty string"},
		{`{"a":{"$not":{"$bad":1}}}`, "condition.a.$not.$bad", "unknown operator"},
		{`{"$not":{"a":{"$in":2}}}`, "condition.$not.a.$in", "must be an array"},
		{`{"address.country":{"$in":"US"}}`, "condition.address.country.$in", "must be an array"},
		{`{"":{"$in":"US"}}`, `condition[""].$in`, "must be an array"},
		{`{"a b":{"$in":"US"}}`, `condition["a b"].$in`, "must be an array"},
	}
	for _, c := range cases {
		_, err := Compile(json.RawMessage(c.cond))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%s) = %v, want an *Error", c.cond, err)
			continue
		}
		if e.Path != c.path || !strings.Contains(e.Problem, c.problem) {
			t.Errorf("Compile(%s) = %q: %q, want %q: ...%s...", c.cond, e.Path, e.Problem, c.path, c.problem)
		}
		if e.Error() != e.Path+": "+e.Problem {
			t.Errorf("Error() = %q", e.Error())
		}
	}
}

// With several problems the first in key order is reported, whatever the
// order of the map.
func TestCompileErrorIsDeterministic(t *testing.T) {
	for range 20 {
		_, err := CompileMap(map[string]any{"b": map[string]any{"$in": 1.0}, "a": map[string]any{"$foo": 1.0}})
		if e, ok := err.(*Error); !ok || e.Path != "condition.a.$foo" {
			t.Fatalf("CompileMap = %v", err)
		}
	}
	if _, err := CompileMap(map[string]any{"a": func() {}}); err == nil {
		t.Fatal("CompileMap accepted a func")
	}
}

// Regular expressions are checked, and translated, when the condition is
// compiled.
func TestRegexTranslation(t *testing.T) {
	cases := []struct {
		src, subject string
		want         bool
	}{
		{`a/b`, "a/b", true},
		{`\/`, "/", true},
		{`a{`, "a{", true},
		{`a{,2}`, "a{,2}", true},
		{`x]`, "x]", true},
		{`}`, "}", true},
		{`[[]`, "[", true},
		{`[\]]`, "]", true},
		{`[a-]`, "-", true},
		{`[\d-z]`, "-", true},
		{`[\b]`, "\b", true},
		{`\cJ`, "\n", true},
		{`[\cJ]`, "\n", true},
		{`\c`, `\c`, true},
		{`\0`, "\x00", true},
		{`\x41\u0042`, "AB", true},
		{`\x4`, "x4", true},
		{`\ud83d\ude00`, "😀", true},
		{`\z`, "z", true},
		{`\k`, "k", true},
		{`(?<year>\d{4})-\d\d`, "2024-06", true},
		{`[\s]`, "\u3000", true},
		{`[\S]`, "\u3000", false},
		{`\S`, "a", true},
		{`[^\s]`, "\u2028", false},
		{`.`, "\u2028", false},
		{`a.c`, "abc", true},
		{`^$`, "", true},
		{`a$`, "a\n", false},
	}
	for _, c := range cases {
		re, err := compileJS(c.src, false)
		if err != nil {
			t.Errorf("compileJS(%q): %v", c.src, err)
			continue
		}
		if got := re.MatchString(c.subject); got != c.want {
			t.Errorf("/%s/.test(%q) = %v, want %v (RE2: %s)", c.src, c.subject, got, c.want, re)
		}
	}
	// Invalid in JavaScript too, then valid there but beyond RE2 (legacy
	// octal escapes, lone surrogates, backreferences).
	for _, src := range []string{`\`, `[a`, `(?x)`, `(?<1>a)`, `\01`, `\ud83d`, `(?<n>a)\k<n>`, `[\ud83d]`} {
		if _, err := compileJS(src, false); err == nil {
			t.Errorf("compileJS(%q) accepted", src)
		}
	}
}
