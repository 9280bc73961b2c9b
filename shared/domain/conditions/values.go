package conditions

import (
	"cmp"
	"encoding/json"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the JavaScript type an attribute value has once GrowthBook's SDK
// would see it.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// kindOf classifies a decoded attribute value. Go's numeric types count as
// numbers, so callers building attributes by hand may use ints; any other Go
// type reads as null, like a missing attribute, rather than as something
// JavaScript has no name for.
func kindOf(v any) kind {
	switch v.(type) {
	case string:
		return kindString
	case float64, int, int64, int32, int16, int8, uint, uint64, uint32, uint16, uint8, float32, json.Number:
		return kindNumber
	case bool:
		return kindBool
	case []any:
		return kindArray
	case map[string]any:
		return kindObject
	}
	return kindNull
}

// numberOf returns the value of v, which kindOf says is a number.
func numberOf(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case int32:
		return float64(n)
	case int16:
		return float64(n)
	case int8:
		return float64(n)
	case uint:
		return float64(n)
	case uint64:
		return float64(n)
	case uint32:
		return float64(n)
	case uint16:
		return float64(n)
	case uint8:
		return float64(n)
	case float32:
		return float64(n)
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && f == 0 {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

// truthy is JavaScript's Boolean(v).
func truthy(v any) bool {
	switch kindOf(v) {
	case kindNull:
		return false
	case kindBool:
		return v.(bool)
	case kindNumber:
		n := numberOf(v)
		return n != 0 && n == n
	case kindString:
		return v.(string) != ""
	}
	return true
}

// toNumber is JavaScript's Number(v), which `value * 1` and the relational
// operators apply.
func toNumber(v any) float64 {
	switch kindOf(v) {
	case kindNull:
		return 0
	case kindBool:
		if v.(bool) {
			return 1
		}
		return 0
	case kindNumber:
		return numberOf(v)
	case kindString:
		return stringToNumber(v.(string))
	case kindArray:
		// An array becomes the string of its elements joined by commas. Two
		// or more elements always give a comma, which is not a number.
		a := v.([]any)
		switch len(a) {
		case 0:
			return 0
		case 1:
			if kindOf(a[0]) == kindNull {
				return 0 // String([null]) is ""
			}
			if kindOf(a[0]) == kindObject {
				return math.NaN()
			}
			return toNumber(toStringLike(a[0]))
		}
	}
	return math.NaN() // objects, and arrays of two or more
}

// toStringLike returns what Number(String(x)) needs of a lone array element:
// a string or a number stays as it is (a number's string reads back as the
// same number), a boolean becomes its text.
func toStringLike(x any) any {
	if kindOf(x) == kindBool {
		if x.(bool) {
			return "true"
		}
		return "false"
	}
	return x
}

// isJSSpace reports whether r is JavaScript WhiteSpace or LineTerminator,
// what Number() and String.prototype.trim strip.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

func trimJSSpace(s string) string {
	for s != "" {
		r, n := utf8.DecodeRuneInString(s)
		if !isJSSpace(r) {
			break
		}
		s = s[n:]
	}
	for s != "" {
		r, n := utf8.DecodeLastRuneInString(s)
		if !isJSSpace(r) {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}

// stringToNumber is JavaScript's Number(s) for a string: decimal literals
// with an optional sign, exponent and "Infinity"; unsigned 0x, 0o and 0b
// integers; blank is 0; anything else is NaN. strconv accepts more (inf,
// underscores, hex floats), so the grammar is checked here first.
func stringToNumber(s string) float64 {
	s = trimJSSpace(s)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			return parseRadix(s[2:], base)
		}
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimalLiteral(body) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) && f != 0 {
		return math.NaN()
	}
	return f // out of range parses to ±Inf or 0, as in JavaScript
}

// isDecimalLiteral checks StrUnsignedDecimalLiteral without "Infinity":
// digits, an optional fraction, at least one digit, an optional exponent.
func isDecimalLiteral(s string) bool {
	i, digits := 0, 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseRadix reads an unsigned integer in base 2, 8 or 16, rounded to the
// nearest float64 as JavaScript does for any length.
func parseRadix(digits string, base int) float64 {
	if digits == "" {
		return math.NaN()
	}
	width := uint(bits.TrailingZeros(uint(base))) // 1, 3 or 4 bits a digit
	var mant uint64
	exp, top := 0, uint(0) // exp counts bits dropped from the mantissa
	sticky := false
	for i := 0; i < len(digits); i++ {
		d, ok := digitValue(digits[i])
		if !ok || d >= base {
			return math.NaN()
		}
		if top+width <= 64 {
			mant = mant<<width | uint64(d)
			if mant != 0 {
				top = uint(64 - bits.LeadingZeros64(mant))
			}
			continue
		}
		// Beyond 64 significant bits only the exponent grows; keep a sticky
		// bit so rounding below still sees the dropped ones.
		exp += int(width)
		if d != 0 {
			sticky = true
		}
	}
	if sticky {
		mant |= 1 // below the 53 kept bits, so it only breaks ties upward
	}
	return math.Ldexp(float64(mant), exp) // the conversion rounds half to even
}

func digitValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// appendNumber appends JavaScript's String(f): the shortest digits that read
// back as f, in plain notation from 1e-7 up to 1e21 and in exponent notation
// ("1e+21", "1.5e-7") outside that.
func appendNumber(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case f == 0:
		return append(dst, '0')
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±XX
	var digits [20]byte
	k, i := 0, 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	x, _ := strconv.Atoi(string(e[i+1:]))
	n := x + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits[:k]...)
		for j := k; j < n; j++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:k]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for j := n; j < 0; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits[:k]...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:k]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendString appends JavaScript's String(v): arrays join their elements
// with commas (null elements as nothing), objects are "[object Object]".
func appendString(dst []byte, v any) []byte {
	switch kindOf(v) {
	case kindNull:
		return append(dst, "null"...)
	case kindBool:
		if v.(bool) {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case kindNumber:
		return appendNumber(dst, numberOf(v))
	case kindString:
		return append(dst, v.(string)...)
	case kindArray:
		for i, e := range v.([]any) {
			if i > 0 {
				dst = append(dst, ',')
			}
			if kindOf(e) != kindNull {
				dst = appendString(dst, e)
			}
		}
		return dst
	}
	return append(dst, "[object Object]"...)
}

// stringEquals is String(v) === s without building the string for the usual
// scalar attributes.
func stringEquals(v any, s string) bool {
	if x, ok := v.(string); ok {
		return x == s
	}
	var buf [64]byte
	return string(appendString(buf[:0], v)) == s
}

// strictEqual is JavaScript's a === b for an operand b that is a scalar.
// Arrays and objects are never === to a separately parsed operand.
func strictEqual(a, b any) bool {
	ka := kindOf(a)
	if ka != kindOf(b) {
		return false
	}
	switch ka {
	case kindNull:
		return true
	case kindBool:
		return a.(bool) == b.(bool)
	case kindNumber:
		return numberOf(a) == numberOf(b)
	case kindString:
		return a.(string) == b.(string)
	}
	return false
}

// sameValueZero is Array.prototype.includes' comparison: === except that
// NaN finds NaN.
func sameValueZero(a, b any) bool {
	if strictEqual(a, b) {
		return true
	}
	if kindOf(a) == kindNumber && kindOf(b) == kindNumber {
		x, y := numberOf(a), numberOf(b)
		return x != x && y != y
	}
	return false
}

// jsonKind is the kind JSON.stringify gives v: non-finite numbers print as null.
func jsonKind(v any) kind {
	k := kindOf(v)
	if k == kindNumber {
		if n := numberOf(v); math.IsNaN(n) || math.IsInf(n, 0) {
			return kindNull
		}
	}
	return k
}

// deepEqual stands in for JSON.stringify(a) === JSON.stringify(b). It
// compares objects as sets of keys: the JavaScript text also depends on key
// order, which a decoded Go map no longer has.
func deepEqual(a, b any) bool {
	k := jsonKind(a)
	if k != jsonKind(b) {
		return false
	}
	switch k {
	case kindNull:
		return true
	case kindBool:
		return a.(bool) == b.(bool)
	case kindNumber:
		return numberOf(a) == numberOf(b)
	case kindString:
		return a.(string) == b.(string)
	case kindArray:
		x, y := a.([]any), b.([]any)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	x, y := a.(map[string]any), b.(map[string]any)
	if len(x) != len(y) {
		return false
	}
	for k, xv := range x {
		yv, ok := y[k]
		if !ok || !deepEqual(xv, yv) {
			return false
		}
	}
	return true
}

// typeName is GrowthBook's getType: typeof, with null and array told apart.
func typeName(v any) string {
	switch kindOf(v) {
	case kindBool:
		return "boolean"
	case kindNumber:
		return "number"
	case kindString:
		return "string"
	case kindArray:
		return "array"
	case kindObject:
		return "object"
	}
	return "null"
}

// compareUTF16 orders two strings as JavaScript does, by UTF-16 code units.
// That is byte order for UTF-8 except where a character above U+FFFF (a
// surrogate pair, D800-DFFF) meets one in U+E000-U+FFFF. It takes bytes or
// strings so a version padded into a stack buffer compares without copying.
func compareUTF16[A, B ~string | ~[]byte](a A, b B) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	for i > 0 && !utf8.RuneStart(a[i]) {
		i-- // the first difference is inside a character both share the start of
	}
	ra := decodeRune(a, i)
	rb := decodeRune(b, i)
	return cmp.Compare(unitKey(ra), unitKey(rb))
}

func decodeRune[S ~string | ~[]byte](s S, i int) rune {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[i:min(len(s), i+utf8.UTFMax)])
	r, _ := utf8.DecodeRune(buf[:n])
	return r
}

// unitKey orders runes by their UTF-16 code units: the first unit (a high
// surrogate above U+FFFF), then, between runes sharing a high surrogate,
// the rest of the rune, which orders the low surrogates alike.
func unitKey(r rune) int64 {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return int64(hi)<<32 | int64(r)
	}
	return int64(r) << 32
}
