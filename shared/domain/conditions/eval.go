package conditions

import (
	"cmp"
	"regexp"
	"strconv"
)

// Evaluation follows GrowthBook's evalCondition (sdk-js mongrule.ts) step by
// step; the comments name the JavaScript each step stands for. Nothing here
// allocates for attributes that are strings, numbers, booleans or null.

func (n *node) eval(obj any, g SavedGroups) bool {
	for i := range n.clauses {
		c := &n.clauses[i]
		switch c.kind {
		case clausePath:
			if !c.match.eval(lookup(obj, c.path), g) {
				return false
			}
		case clauseAnd:
			for _, sub := range c.nodes {
				if !sub.eval(obj, g) {
					return false
				}
			}
		case clauseOr:
			if !anyOf(c.nodes, obj, g) {
				return false
			}
		case clauseNor:
			if anyOf(c.nodes, obj, g) {
				return false
			}
		case clauseNot:
			if c.nodes[0].eval(obj, g) {
				return false
			}
		}
	}
	return true
}

// anyOf is GrowthBook's evalOr: true when empty, so an empty $nor is false.
func anyOf(nodes []*node, obj any, g SavedGroups) bool {
	if len(nodes) == 0 {
		return true
	}
	for _, sub := range nodes {
		if sub.eval(obj, g) {
			return true
		}
	}
	return false
}

// lookup is GrowthBook's getPath: it walks objects by key and arrays by
// index (or "length"), and reads null wherever the path leaves the data.
// Only the data's own keys count: JavaScript's `in` would also find
// inherited ones such as "constructor", which no attribute means.
func lookup(obj any, path []string) any {
	cur := obj
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				return nil
			}
			cur = v
		case []any:
			if p == "length" {
				cur = len(c)
				continue
			}
			i, ok := arrayIndex(p)
			if !ok || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// arrayIndex parses a canonical array index: "0", or digits without a
// leading zero.
func arrayIndex(p string) (int, bool) {
	if p == "" || len(p) > 10 || (len(p) > 1 && p[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(p)
	if err != nil || i < 0 || p[0] == '+' || p[0] == '-' {
		return 0, false
	}
	return i, true
}

// eval is GrowthBook's evalConditionValue.
func (m *matcher) eval(v any, g SavedGroups) bool {
	switch m.kind {
	case matchString: // value + "" === condition
		return stringEquals(v, m.str)
	case matchStringFold: // String(value).toLowerCase() === condition.toLowerCase()
		if s, ok := v.(string); ok {
			return lowerEquals(s, m.str)
		}
		var buf [64]byte
		return lowerEquals(string(appendString(buf[:0], v)), m.str)
	case matchNumber: // value * 1 === condition
		return toNumber(v) == m.num
	case matchBool: // value !== null && !!value === condition
		return kindOf(v) != kindNull && truthy(v) == m.boolean
	case matchNull: // value === null
		return kindOf(v) == kindNull
	case matchLiteral: // JSON.stringify(value) === JSON.stringify(condition)
		return deepEqual(v, m.literal)
	}
	for i := range m.ops {
		if !m.ops[i].eval(v, g) {
			return false
		}
	}
	return true
}

// eval is GrowthBook's evalOperatorCondition.
func (o *operator) eval(v any, g SavedGroups) bool {
	switch o.code {
	case opEq: // actual === expected
		return strictEqual(v, o.scalar)
	case opNe:
		return !strictEqual(v, o.scalar)
	case opLt: // actual < expected, and so on
		c, ok := relate(v, &o.bound)
		return ok && c < 0
	case opLte:
		c, ok := relate(v, &o.bound)
		return ok && c <= 0
	case opGt:
		c, ok := relate(v, &o.bound)
		return ok && c > 0
	case opGte:
		c, ok := relate(v, &o.bound)
		return ok && c >= 0
	case opRegex: // regex.test(actual), which reads String(actual)
		return matchRegex(o.re, v)
	case opIn:
		return o.set.isIn(v, false)
	case opNin:
		return !o.set.isIn(v, false)
	case opIni:
		return o.set.isIn(v, true)
	case opNini:
		return !o.set.isIn(v, true)
	case opInGroup: // isIn(actual, savedGroups[expected] || [])
		return inList(v, g[o.text])
	case opNotInGroup:
		return !inList(v, g[o.text])
	case opAll:
		return o.all(v, g)
	case opSize: // Array.isArray(actual) && evalConditionValue(expected, actual.length)
		a, ok := v.([]any)
		return ok && o.match.eval(len(a), g)
	case opElemMatch:
		return o.elemMatch(v, g)
	case opExists: // expected ? actual != null : actual == null
		return (kindOf(v) != kindNull) == o.flag
	case opType: // getType(actual) === expected
		return typeName(v) == o.text
	case opNot: // !evalConditionValue(expected, actual)
		return !o.match.eval(v, g)
	}
	// paddedVersionString(actual) <op> paddedVersionString(expected)
	var buf [64]byte
	c := compareUTF16(appendPaddedVersion(buf[:0], v), o.text)
	switch o.code {
	case opVeq:
		return c == 0
	case opVne:
		return c != 0
	case opVgt:
		return c > 0
	case opVgte:
		return c >= 0
	case opVlt:
		return c < 0
	}
	return c <= 0 // opVlte
}

// relate is JavaScript's relational comparison of an attribute with a
// number or string operand: two strings compare as text (arrays and objects
// first become strings); anything else compares as numbers, where null is
// 0, booleans are 0 and 1, and NaN compares with nothing (ok is false).
func relate(v any, b *bound) (c int, ok bool) {
	if b.isString {
		switch kindOf(v) {
		case kindString:
			return compareUTF16(v.(string), b.str), true
		case kindArray:
			var buf [64]byte
			return compareUTF16(appendString(buf[:0], v), b.str), true
		case kindObject:
			return compareUTF16("[object Object]", b.str), true
		}
	}
	x, y := toNumber(v), b.num
	if x != x || y != y {
		return 0, false
	}
	return cmp.Compare(x, y), true
}

func matchRegex(re *regexp.Regexp, v any) bool {
	switch kindOf(v) {
	case kindString:
		return re.MatchString(v.(string))
	case kindNull: // a missing attribute, the usual case: nothing to build
		return re.MatchString("null")
	case kindBool:
		if v.(bool) {
			return re.MatchString("true")
		}
		return re.MatchString("false")
	}
	// Numbers, arrays and objects: regexp keeps its input, so the text
	// escapes; these allocate.
	return re.Match(appendString(nil, v))
}

// all is GrowthBook's isInAll: the attribute is an array, and every
// expected value matches at least one of its elements.
func (o *operator) all(v any, g SavedGroups) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, m := range o.matchers {
		found := false
		for _, e := range a {
			if m.eval(e, g) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// elemMatch is GrowthBook's elemMatch. Like GrowthBook it skips falsy
// elements (null, false, 0, ""), so {"$elemMatch": {"$eq": 0}} never
// matches.
func (o *operator) elemMatch(v any, g SavedGroups) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range a {
		if !truthy(e) {
			continue
		}
		if o.match != nil && o.match.eval(e, g) || o.node != nil && o.node.eval(e, g) {
			return true
		}
	}
	return false
}

// setIndexMin is the list length from which $in strings are looked up in a
// map rather than scanned.
const setIndexMin = 8

// set is the list of $in, $nin, $ini or $nini, split by type so a lookup
// compares only values of the attribute's type (Array.prototype.includes
// uses SameValueZero, which never equates different types). For $ini and
// $nini the strings are lowered.
type set struct {
	strs              []string
	nums              []float64
	hasTrue, hasFalse bool
	hasNull           bool
	index             map[string]struct{}
}

// isIn is GrowthBook's isIn: an array attribute matches when any element
// is in the list.
func (s *set) isIn(v any, fold bool) bool {
	if a, ok := v.([]any); ok {
		for _, e := range a {
			if s.has(e, fold) {
				return true
			}
		}
		return false
	}
	return s.has(v, fold)
}

func (s *set) has(v any, fold bool) bool {
	switch kindOf(v) {
	case kindString:
		x := v.(string)
		if fold {
			for _, e := range s.strs {
				if lowerEquals(x, e) {
					return true
				}
			}
			return false
		}
		if s.index != nil {
			_, ok := s.index[x]
			return ok
		}
		for _, e := range s.strs {
			if e == x {
				return true
			}
		}
	case kindNumber:
		x := numberOf(v)
		for _, e := range s.nums {
			if e == x {
				return true
			}
		}
	case kindBool:
		if v.(bool) {
			return s.hasTrue
		}
		return s.hasFalse
	case kindNull:
		return s.hasNull
	}
	return false
}

// inList is isIn over a saved group's members.
func inList(v any, list []any) bool {
	if a, ok := v.([]any); ok {
		for _, e := range a {
			if listHas(list, e) {
				return true
			}
		}
		return false
	}
	return listHas(list, v)
}

// listHas is list.includes(v).
func listHas(list []any, v any) bool {
	for _, e := range list {
		if sameValueZero(v, e) {
			return true
		}
	}
	return false
}
