package conditions

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf8"
)

// GrowthBook evaluates $regex and $regexi with JavaScript's RegExp (no flags
// but i). Go's regexp is RE2: linear time, but a different dialect. compileJS
// translates the JavaScript syntax into RE2 where the two can agree and
// refuses what RE2 cannot do (lookaround, backreferences), so a condition
// never silently changes meaning between GrowthBook and this service:
//
//   - "." matches anything but \n, \r, U+2028 and U+2029, as in JavaScript;
//   - \s and \S use JavaScript's whitespace set, which is Unicode-wide;
//   - \uXXXX (and surrogate pairs of them) and \cX are rewritten;
//   - character classes are re-emitted escaped, so "[" inside a class and
//     JavaScript's empty class "[]" and "[^]" mean what they mean there;
//   - "\z", "\a", ... are JavaScript identity escapes (the letter itself),
//     not RE2 escapes.
//
// Differences that remain: a character above U+FFFF is one character to RE2
// and two UTF-16 code units to JavaScript, which only matters to patterns
// that count characters next to one; and $regexi folds case with Unicode
// simple folding, which, unlike JavaScript's /i, also pairs ſ (U+017F) with
// s and the Kelvin sign (U+212A) with k.

// jsSpace is JavaScript's \s as an RE2 class body.
const jsSpace = `\t-\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}`

// jsNotSpace is the complement of jsSpace, for \S inside a class.
const jsNotSpace = `\x00-\x08\x0e-\x1f!-\x{9f}\x{a1}-\x{167f}\x{1681}-\x{1fff}\x{200b}-\x{2027}\x{202a}-\x{202e}\x{2030}-\x{205e}\x{2060}-\x{2fff}\x{3001}-\x{fefe}\x{ff00}-\x{10ffff}`

// compileJS compiles a JavaScript regular expression source.
func compileJS(src string, insensitive bool) (*regexp.Regexp, error) {
	t := translator{src: src, named: strings.Contains(src, "(?<")}
	if insensitive {
		t.out.WriteString("(?i)")
	}
	if err := t.run(); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(t.out.String())
	if err != nil {
		// RE2's message quotes the translated text; its code alone reads
		// right next to the original pattern.
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, errors.New(se.Code.String())
		}
		return nil, err
	}
	return re, nil
}

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func unsupported(format string, args ...any) error {
	return &syntaxError{fmt.Sprintf(format, args...)}
}

type translator struct {
	src   string
	i     int
	out   strings.Builder
	named bool // the pattern has named groups, so \k is a backreference
}

func (t *translator) run() error {
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch c {
		case '\\':
			if err := t.escape(); err != nil {
				return err
			}
			continue
		case '.':
			t.out.WriteString(`[^\n\r\x{2028}\x{2029}]`)
		case '[':
			if err := t.class(); err != nil {
				return err
			}
			continue
		case '(':
			if err := t.group(); err != nil {
				return err
			}
			continue
		case '{':
			if n := quantifierLen(t.src[t.i:]); n > 0 {
				t.out.WriteString(t.src[t.i : t.i+n])
				t.i += n
				continue
			}
			t.out.WriteString(`\{`) // not a quantifier: a literal brace
		case '}', ']':
			t.out.WriteByte('\\')
			t.out.WriteByte(c)
		default:
			_, n := utf8.DecodeRuneInString(t.src[t.i:])
			t.out.WriteString(t.src[t.i : t.i+n])
			t.i += n
			continue
		}
		t.i++
	}
	return nil
}

// quantifierLen is the length of a {n}, {n,} or {n,m} quantifier at the
// start of s, or 0.
func quantifierLen(s string) int {
	i := 1
	digits := func() int {
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i - start
	}
	if digits() == 0 {
		return 0
	}
	if i < len(s) && s[i] == ',' {
		i++
		digits()
	}
	if i < len(s) && s[i] == '}' {
		return i + 1
	}
	return 0
}

func (t *translator) group() error {
	rest := t.src[t.i:]
	switch {
	case !strings.HasPrefix(rest, "(?"):
		t.out.WriteByte('(')
		t.i++
	case strings.HasPrefix(rest, "(?:"):
		t.out.WriteString("(?:")
		t.i += 3
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
		return unsupported("lookahead (?= or (?! is not supported")
	case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		return unsupported("lookbehind (?<= or (?<! is not supported")
	case strings.HasPrefix(rest, "(?<"):
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return unsupported("unterminated group name")
		}
		name := rest[3:end]
		if !validGroupName(name) {
			return unsupported("invalid group name %q", name)
		}
		t.out.WriteString("(?P<" + name + ">")
		t.i += end + 1
	default:
		return unsupported("invalid group %q", rest[:min(len(rest), 3)])
	}
	return nil
}

// validGroupName accepts the group names both dialects read alike.
func validGroupName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// escape translates the escape at t.i outside a class.
func (t *translator) escape() error {
	if t.i+1 >= len(t.src) {
		return unsupported(`\ at end of pattern`)
	}
	c := t.src[t.i+1]
	switch c {
	case 'd', 'D', 'w', 'W', 'b', 'B', 'f', 'n', 'r', 't', 'v':
		t.out.WriteString(t.src[t.i : t.i+2])
		t.i += 2
		return nil
	case 's':
		t.out.WriteString("[" + jsSpace + "]")
		t.i += 2
		return nil
	case 'S':
		t.out.WriteString("[^" + jsSpace + "]")
		t.i += 2
		return nil
	}
	r, n, err := t.characterEscape(false)
	if err != nil {
		return err
	}
	if n == 0 { // "\c" without a letter is a backslash, then "c"
		t.out.WriteString(`\\`)
		t.i++
		return nil
	}
	writeLiteral(&t.out, r)
	t.i += n
	return nil
}

// characterEscape reads an escape at t.i that stands for one character and
// returns it with the escape's length. A length of 0 means "\c" not
// followed by a control letter, which JavaScript reads as a backslash.
func (t *translator) characterEscape(inClass bool) (rune, int, error) {
	s := t.src[t.i:]
	c := s[1]
	switch c {
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'v':
		return '\v', 2, nil
	case 'c':
		if len(s) > 2 && isASCIILetter(s[2]) || inClass && len(s) > 2 && (isDigit(s[2]) || s[2] == '_') {
			return rune(s[2] % 32), 3, nil
		}
		return 0, 0, nil
	case '0':
		if len(s) > 2 && isDigit(s[2]) {
			return 0, 0, unsupported(`octal escapes (\0%c) are not supported`, s[2])
		}
		return 0, 2, nil
	case 'x':
		if len(s) >= 4 && isHex(s[2]) && isHex(s[3]) {
			v, _ := strconv.ParseUint(s[2:4], 16, 8)
			return rune(v), 4, nil
		}
		return 'x', 2, nil
	case 'u':
		hi, ok := hex4(s[2:])
		if !ok {
			return 'u', 2, nil
		}
		if hi < 0xD800 || hi > 0xDFFF {
			return hi, 6, nil
		}
		if lo, ok := hex4(strings.TrimPrefix(s[6:], `\u`)); ok && hi < 0xDC00 && strings.HasPrefix(s[6:], `\u`) && lo >= 0xDC00 && lo <= 0xDFFF {
			return (hi-0xD800)<<10 | (lo - 0xDC00) + 0x10000, 12, nil
		}
		return 0, 0, unsupported(`lone surrogate \u%04X is not supported`, hi)
	case 'k':
		if t.named {
			return 0, 0, unsupported(`backreferences (\k<name>) are not supported`)
		}
		return 'k', 2, nil
	}
	if c >= '1' && c <= '9' {
		return 0, 0, unsupported(`backreferences (\%c) are not supported`, c)
	}
	// An identity escape: the character itself.
	r, n := utf8.DecodeRuneInString(s[1:])
	return r, 1 + n, nil
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isHex(c byte) bool { _, ok := digitValue(c); return ok }

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	for i := 0; i < 4; i++ {
		if !isHex(s[i]) {
			return 0, false
		}
	}
	v, _ := strconv.ParseUint(s[:4], 16, 32)
	return rune(v), true
}

// writeLiteral writes r so RE2 reads it as itself.
func writeLiteral(b *strings.Builder, r rune) {
	if r < utf8.RuneSelf && (isASCIILetter(byte(r)) || isDigit(byte(r))) {
		b.WriteRune(r)
		return
	}
	fmt.Fprintf(b, `\x{%x}`, r)
}

// classItem is one member of a character class: a range, or a named set.
type classItem struct {
	lo, hi rune
	set    string // RE2 text of \d, \w, \s, ... when not a range
}

// class translates the character class at t.i.
func (t *translator) class() error {
	t.i++ // [
	negate := false
	if t.i < len(t.src) && t.src[t.i] == '^' {
		negate = true
		t.i++
	}
	var items []classItem
	for {
		if t.i >= len(t.src) {
			return unsupported("unterminated character class")
		}
		if t.src[t.i] == ']' {
			t.i++
			break
		}
		lo, err := t.classAtom()
		if err != nil {
			return err
		}
		// A range needs "-" followed by an atom other than the closing "]".
		if t.i+1 < len(t.src) && t.src[t.i] == '-' && t.src[t.i+1] != ']' {
			t.i++
			hi, err := t.classAtom()
			if err != nil {
				return err
			}
			if lo.set == "" && hi.set == "" {
				if lo.lo > hi.lo {
					return unsupported("range out of order in character class")
				}
				items = append(items, classItem{lo: lo.lo, hi: hi.lo})
				continue
			}
			// A class escape at either end makes "-" a literal (Annex B).
			items = append(items, lo, classItem{lo: '-', hi: '-'}, hi)
			continue
		}
		items = append(items, lo)
	}
	switch {
	case len(items) == 0 && negate: // [^] matches any character
		t.out.WriteString(`[\x00-\x{10ffff}]`)
		return nil
	case len(items) == 0: // [] matches nothing
		t.out.WriteString(`[^\x00-\x{10ffff}]`)
		return nil
	}
	t.out.WriteByte('[')
	if negate {
		t.out.WriteByte('^')
	}
	for _, it := range items {
		if it.set != "" {
			t.out.WriteString(it.set)
			continue
		}
		writeLiteral(&t.out, it.lo)
		if it.hi != it.lo {
			t.out.WriteByte('-')
			writeLiteral(&t.out, it.hi)
		}
	}
	t.out.WriteByte(']')
	return nil
}

// classAtom reads one class member at t.i.
func (t *translator) classAtom() (classItem, error) {
	if t.src[t.i] != '\\' {
		r, n := utf8.DecodeRuneInString(t.src[t.i:])
		t.i += n
		return classItem{lo: r, hi: r}, nil
	}
	if t.i+1 >= len(t.src) {
		return classItem{}, unsupported(`\ at end of pattern`)
	}
	switch c := t.src[t.i+1]; c {
	case 'd', 'D', 'w', 'W':
		t.i += 2
		return classItem{set: `\` + string(c)}, nil
	case 's':
		t.i += 2
		return classItem{set: jsSpace}, nil
	case 'S':
		t.i += 2
		return classItem{set: jsNotSpace}, nil
	case 'b': // backspace inside a class
		t.i += 2
		return classItem{lo: '\b', hi: '\b'}, nil
	case '-':
		t.i += 2
		return classItem{lo: '-', hi: '-'}, nil
	}
	r, n, err := t.characterEscape(true)
	if err != nil {
		return classItem{}, err
	}
	if n == 0 { // "\c" without a control letter: a backslash; "c" follows
		t.i++
		return classItem{lo: '\\', hi: '\\'}, nil
	}
	t.i += n
	return classItem{lo: r, hi: r}, nil
}
