package conditions

import (
	"regexp"
	"slices"
	"strings"
)

// The compiled form mirrors GrowthBook's two levels:
//
//   - a node is a condition object: every clause must hold. A clause is
//     $and, $or, $nor or $not of nodes, or an attribute path with a value
//     matcher;
//   - a matcher is what a path's value must satisfy: a literal (with
//     GrowthBook's coercions), or an object of operators, all of which
//     must hold.
//
// Everything that can be decided from the definition alone (operand types,
// regular expressions, padded versions, lowered strings, split paths) is
// decided here, once.

type node struct {
	clauses []clause
}

type clauseKind uint8

const (
	clausePath clauseKind = iota
	clauseAnd
	clauseOr
	clauseNor
	clauseNot
)

type clause struct {
	kind  clauseKind
	path  []string // clausePath: the attribute path split on "."
	match *matcher // clausePath
	nodes []*node  // the others; $not has one
}

type matcherKind uint8

const (
	matchString     matcherKind = iota // String(value) === s
	matchStringFold                    // String(value).toLowerCase() === s ($alli)
	matchNumber                        // Number(value) === n
	matchBool                          // value !== null && Boolean(value) === b
	matchNull                          // value === null
	matchLiteral                       // JSON.stringify equality with an array or object
	matchOperators                     // every operator holds
)

type matcher struct {
	kind    matcherKind
	str     string
	num     float64
	boolean bool
	literal any
	ops     []operator
}

type opCode uint8

const (
	opEq opCode = iota
	opNe
	opLt
	opLte
	opGt
	opGte
	opRegex // $regex and $regexi: the i is compiled into the expression
	opIn
	opNin
	opIni
	opNini
	opInGroup
	opNotInGroup
	opAll // $all and $alli: the i is compiled into the element matchers
	opSize
	opElemMatch
	opExists
	opType
	opNot
	opVeq
	opVne
	opVgt
	opVgte
	opVlt
	opVlte
)

var opCodes = map[string]opCode{
	"$eq": opEq, "$ne": opNe, "$lt": opLt, "$lte": opLte, "$gt": opGt, "$gte": opGte,
	"$regex": opRegex, "$regexi": opRegex,
	"$in": opIn, "$nin": opNin, "$ini": opIni, "$nini": opNini,
	"$inGroup": opInGroup, "$notInGroup": opNotInGroup,
	"$all": opAll, "$alli": opAll, "$size": opSize, "$elemMatch": opElemMatch,
	"$exists": opExists, "$type": opType, "$not": opNot,
	"$veq": opVeq, "$vne": opVne, "$vgt": opVgt, "$vgte": opVgte, "$vlt": opVlt, "$vlte": opVlte,
}

type operator struct {
	code     opCode
	scalar   any            // $eq, $ne
	bound    bound          // $lt, $lte, $gt, $gte
	set      *set           // $in, $nin, $ini, $nini
	re       *regexp.Regexp // $regex, $regexi
	text     string         // $type's name, a saved group's id, a padded version
	flag     bool           // $exists
	match    *matcher       // $not, $size, $elemMatch on an operator object
	matchers []*matcher
	node     *node // $elemMatch on a condition
}

// bound is a relational operand: a number, or a string with its numeric
// value for comparisons that JavaScript makes numeric.
type bound struct {
	isString bool
	str      string
	num      float64
}

// typeNames are the $type names GrowthBook's getType can return for a JSON
// value. ("undefined" is refused: a missing attribute reads as null.)
var typeNames = []string{"string", "number", "boolean", "array", "object", "null"}

// compileNode compiles a condition object.
func compileNode(obj map[string]any, path string) (*node, error) {
	n := &node{clauses: make([]clause, 0, len(obj))}
	for _, k := range sortedKeys(obj) {
		v, p := obj[k], key(path, k)
		var c clause
		var err error
		switch k {
		case "$and", "$or", "$nor":
			c.kind = clauseAnd
			if k == "$or" {
				c.kind = clauseOr
			} else if k == "$nor" {
				c.kind = clauseNor
			}
			c.nodes, err = compileNodes(v, p)
		case "$not":
			c.kind = clauseNot
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, refuse(p, "must be a condition object, not %s", describe(v))
			}
			var sub *node
			sub, err = compileNode(obj, p)
			c.nodes = []*node{sub}
		default:
			// Any other key, even one starting with "$" ($groups, say), is an
			// attribute path, as in GrowthBook.
			c.kind = clausePath
			c.path = strings.Split(k, ".")
			c.match, err = compileMatcher(v, p, false)
		}
		if err != nil {
			return nil, err
		}
		n.clauses = append(n.clauses, c)
	}
	return n, nil
}

func compileNodes(v any, path string) ([]*node, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, refuse(path, "must be an array of conditions, not %s", describe(v))
	}
	nodes := make([]*node, len(list))
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, refuse(index(path, i), "must be a condition object, not %s", describe(e))
		}
		var err error
		if nodes[i], err = compileNode(obj, index(path, i)); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// compileMatcher compiles the value a path must match. fold marks an
// element of $alli, whose plain strings compare case-insensitively.
func compileMatcher(v any, path string, fold bool) (*matcher, error) {
	switch x := v.(type) {
	case string:
		if fold {
			return &matcher{kind: matchStringFold, str: lowerJS(x)}, nil
		}
		return &matcher{kind: matchString, str: x}, nil
	case float64:
		return &matcher{kind: matchNumber, num: x}, nil
	case bool:
		return &matcher{kind: matchBool, boolean: x}, nil
	case nil:
		return &matcher{kind: matchNull}, nil
	case []any:
		return &matcher{kind: matchLiteral, literal: x}, nil
	case map[string]any:
		ops := 0
		for k := range x {
			if strings.HasPrefix(k, "$") {
				ops++
			}
		}
		switch {
		case ops == 0: // {} too: GrowthBook compares it as a literal
			return &matcher{kind: matchLiteral, literal: x}, nil
		case ops < len(x):
			return nil, refuse(path, "mixes operators with plain keys (%s); GrowthBook would compare it as a literal object, so use either operators or a literal", strings.Join(plainKeys(x), ", "))
		}
		return compileOperators(x, path)
	}
	return nil, refuse(path, "unsupported value %s", describe(v))
}

func compileOperators(obj map[string]any, path string) (*matcher, error) {
	m := &matcher{kind: matchOperators, ops: make([]operator, 0, len(obj))}
	for _, name := range sortedKeys(obj) {
		op, err := compileOperator(name, obj[name], key(path, name))
		if err != nil {
			return nil, err
		}
		m.ops = append(m.ops, op)
	}
	return m, nil
}

func compileOperator(name string, arg any, path string) (operator, error) {
	code, known := opCodes[name]
	if !known {
		switch name {
		case "$and", "$or", "$nor":
			return operator{}, refuse(path, "unknown operator %s on a value: %s combines conditions, so it belongs beside attribute names, not under one", name, name)
		}
		return operator{}, refuse(path, "unknown operator %s", name)
	}
	op := operator{code: code}
	var err error
	switch code {
	case opEq, opNe:
		if !isScalar(arg) {
			return op, refuse(path, "must be a string, number, boolean or null, not %s (GrowthBook compares by identity, so an array or object never equals; use the literal value instead of %s)", describe(arg), name)
		}
		op.scalar = arg
	case opLt, opLte, opGt, opGte:
		switch x := arg.(type) {
		case float64:
			op.bound = bound{num: x}
		case string:
			op.bound = bound{isString: true, str: x, num: stringToNumber(x)}
		default:
			return op, refuse(path, "must be a number or a string, not %s", describe(arg))
		}
	case opRegex:
		src, ok := arg.(string)
		if !ok {
			return op, refuse(path, "must be a regular expression string, not %s", describe(arg))
		}
		re, cerr := compileJS(src, name == "$regexi")
		if cerr != nil {
			return op, refuse(path, "invalid regex %q: %v", src, cerr)
		}
		op.re = re
	case opIn, opNin, opIni, opNini:
		op.set, err = compileSet(arg, path, code == opIni || code == opNini)
	case opInGroup, opNotInGroup:
		id, ok := arg.(string)
		if !ok || id == "" {
			return op, refuse(path, "must be a saved group id (a non-empty string), not %s", describeEmpty(arg))
		}
		op.text = id
	case opAll:
		list, ok := arg.([]any)
		if !ok {
			return op, refuse(path, "must be an array, not %s", describe(arg))
		}
		op.matchers = make([]*matcher, len(list))
		for i, e := range list {
			if op.matchers[i], err = compileMatcher(e, index(path, i), name == "$alli"); err != nil {
				return op, err
			}
		}
	case opSize:
		switch x := arg.(type) {
		case float64:
			if x < 0 || x != float64(int64(x)) {
				return op, refuse(path, "must be a non-negative integer or an operator object such as {\"$gt\": 2}, not %v", x)
			}
			op.match = &matcher{kind: matchNumber, num: x}
		case map[string]any:
			if !isOperatorObject(x) {
				return op, refuse(path, "must be a non-negative integer or an operator object such as {\"$gt\": 2}")
			}
			op.match, err = compileOperators(x, path)
		default:
			return op, refuse(path, "must be a non-negative integer or an operator object such as {\"$gt\": 2}, not %s", describe(arg))
		}
	case opElemMatch:
		obj, ok := arg.(map[string]any)
		if !ok {
			return op, refuse(path, "must be a condition or an operator object, not %s", describe(arg))
		}
		// As in GrowthBook: an object of operators applies to each element
		// itself; anything else is a condition on each element's fields.
		if isOperatorObject(obj) {
			op.match, err = compileOperators(obj, path)
		} else {
			op.node, err = compileNode(obj, path)
		}
	case opExists:
		b, ok := arg.(bool)
		if !ok {
			return op, refuse(path, "must be true or false, not %s", describe(arg))
		}
		op.flag = b
	case opType:
		t, _ := arg.(string)
		if t == "undefined" {
			return op, refuse(path, "\"undefined\" never matches: a missing attribute reads as null; use {\"$exists\": false}")
		}
		if !slices.Contains(typeNames, t) {
			return op, refuse(path, "must be one of %s, not %s", strings.Join(typeNames, ", "), describeEmpty(arg))
		}
		op.text = t
	case opNot:
		op.match, err = compileMatcher(arg, path, false)
	case opVeq, opVne, opVgt, opVgte, opVlt, opVlte:
		switch x := arg.(type) {
		case string:
			if x == "" {
				return op, refuse(path, "must be a version such as \"1.2.3\", not an empty string")
			}
		case float64:
		default:
			return op, refuse(path, "must be a version string such as \"1.2.3\", not %s", describe(arg))
		}
		op.text = string(appendPaddedVersion(nil, arg))
	}
	return op, err
}

// compileSet compiles the list of $in and its kin. Its elements must be
// scalars: GrowthBook finds them with Array.prototype.includes, which never
// finds an array or object.
func compileSet(arg any, path string, fold bool) (*set, error) {
	list, ok := arg.([]any)
	if !ok {
		return nil, refuse(path, "must be an array, not %s", describe(arg))
	}
	s := &set{}
	for i, e := range list {
		switch x := e.(type) {
		case string:
			if fold {
				x = lowerJS(x)
			}
			s.strs = append(s.strs, x)
		case float64:
			s.nums = append(s.nums, x)
		case bool:
			if x {
				s.hasTrue = true
			} else {
				s.hasFalse = true
			}
		case nil:
			s.hasNull = true
		default:
			return nil, refuse(index(path, i), "must be a string, number, boolean or null, not %s (GrowthBook compares list elements by identity, so an array or object never matches)", describe(e))
		}
	}
	if !fold && len(s.strs) > setIndexMin {
		s.index = make(map[string]struct{}, len(s.strs))
		for _, x := range s.strs {
			s.index[x] = struct{}{}
		}
	}
	return s, nil
}

// isOperatorObject is GrowthBook's test: a non-empty object whose keys all
// start with "$".
func isOperatorObject(obj map[string]any) bool {
	if len(obj) == 0 {
		return false
	}
	for k := range obj {
		if !strings.HasPrefix(k, "$") {
			return false
		}
	}
	return true
}

func isScalar(v any) bool {
	switch v.(type) {
	case nil, bool, float64, string:
		return true
	}
	return false
}

func describeEmpty(v any) string {
	if s, ok := v.(string); ok && s == "" {
		return "an empty string"
	}
	if s, ok := v.(string); ok {
		return `"` + s + `"`
	}
	return describe(v)
}

// sortedKeys orders an object's keys so compiling, and the first error
// reported, never depend on map order.
func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func plainKeys(obj map[string]any) []string {
	var keys []string
	for _, k := range sortedKeys(obj) {
		if !strings.HasPrefix(k, "$") {
			keys = append(keys, k)
		}
	}
	return keys
}
