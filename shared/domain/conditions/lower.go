package conditions

import (
	"unicode"
	"unicode/utf8"
)

// JavaScript's toLowerCase, which $ini, $nini and $alli compare with, is the
// Unicode default lowercase mapping: the per-character mapping Go's
// unicode.ToLower also gives, plus two rules from SpecialCasing.txt that Go
// leaves out. The expected side is lowered once at compile time (lowerJS);
// the attribute side is lowered while it is compared (lowerEquals), so an
// evaluation allocates nothing.

// lowerRune appends the lowercase of the rune at s[i:i+size] to dst.
func lowerRune(dst []rune, s string, i int, r rune, size int) []rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	case r == 'İ': // U+0130 lowers to i + combining dot above
		return append(dst, 'i', '\u0307')
	case r == 'Σ' && finalSigma(s, i, size):
		return append(dst, 'ς')
	}
	return append(dst, unicode.ToLower(r))
}

// lowerJS is JavaScript's s.toLowerCase().
func lowerJS(s string) string {
	out := make([]rune, 0, len(s))
	for i, r := range s {
		out = lowerRune(out, s, i, r, utf8.RuneLen(r))
	}
	return string(out)
}

// lowerEquals reports whether s.toLowerCase() === lowered.
func lowerEquals(s, lowered string) bool {
	var buf [2]rune
	j := 0
	for i, r := range s {
		for _, lr := range lowerRune(buf[:0], s, i, r, utf8.RuneLen(r)) {
			if j >= len(lowered) {
				return false
			}
			er, n := utf8.DecodeRuneInString(lowered[j:])
			if er != lr {
				return false
			}
			j += n
		}
	}
	return j == len(lowered)
}

// finalSigma is Unicode's Final_Sigma condition for the Σ at s[i:i+size]: a
// cased letter before it and none after it, skipping case-ignorable
// characters (apostrophes, combining marks, ...) on both sides.
func finalSigma(s string, i, size int) bool {
	before := false
	for j := i; j > 0; {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if caseIgnorable(r) {
			continue
		}
		before = cased(r)
		break
	}
	if !before {
		return false
	}
	for _, r := range s[i+size:] {
		if caseIgnorable(r) {
			continue
		}
		return !cased(r)
	}
	return true
}

// cased is Unicode's Cased property: Lowercase, Uppercase or Lt.
func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable property: marks, format
// characters, modifiers, and the Word_Break MidLetter, MidNumLet and
// Single_Quote characters.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
