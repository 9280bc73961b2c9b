package conditions

// The version operators ($veq, $vne, $vgt, $vgte, $vlt, $vlte) compare
// GrowthBook's paddedVersionString of both sides as strings:
//
//	"v1.2.3+build" -> drop a leading "v" and the build after "+"
//	               -> split on "-" and "." -> ["1","2","3"]
//	               -> a release (exactly three parts) gains "~", which sorts
//	                  after any pre-release tag -> ["1","2","3","~"]
//	               -> numeric parts are left-padded with spaces to 5
//	               -> "    1-    2-    3-~"
//
// A number is read as its JavaScript string; anything else, and "", is "0".
// The operand is padded once at compile time; the attribute is padded into a
// stack buffer at evaluation.

// appendPaddedVersion appends paddedVersionString(v) to dst.
func appendPaddedVersion(dst []byte, v any) []byte {
	switch kindOf(v) {
	case kindString:
		if s := v.(string); s != "" {
			return padVersion(dst, s)
		}
	case kindNumber:
		var num [32]byte
		return padVersion(dst, appendNumber(num[:0], numberOf(v)))
	}
	return padVersion(dst, "0")
}

// padVersion pads a non-empty version string.
func padVersion[S ~string | ~[]byte](dst []byte, s S) []byte {
	start, end := 0, len(s)
	if end > 0 && s[0] == 'v' {
		start = 1
	}
	// The build is /\+.*$/: the first "+" from which "." can reach the end,
	// that is, the first one after the last line terminator.
	from := start
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\n' || s[i] == '\r':
			from = max(from, i+1)
		case s[i] == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
			from = max(from, i+3) // U+2028, U+2029
		}
	}
	for i := from; i < len(s); i++ {
		if s[i] == '+' {
			end = i
			break
		}
	}
	s = s[start:end]
	parts := 1
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == '.' {
			parts++
		}
	}
	first := true
	for len(s) > 0 || first {
		n := 0
		for n < len(s) && s[n] != '-' && s[n] != '.' {
			n++
		}
		if !first {
			dst = append(dst, '-')
		}
		dst = appendPart(dst, s[:n])
		first = false
		if n == len(s) {
			break
		}
		s = s[n+1:]
		if len(s) == 0 {
			dst = append(dst, '-') // a trailing separator leaves an empty last part
		}
	}
	if parts == 3 {
		dst = append(dst, "-~"...)
	}
	return dst
}

// appendPart appends one part, left-padded to 5 with spaces when it is all
// ASCII digits.
func appendPart[S ~string | ~[]byte](dst []byte, p S) []byte {
	numeric := len(p) > 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			numeric = false
			break
		}
	}
	if numeric {
		for i := len(p); i < 5; i++ {
			dst = append(dst, ' ')
		}
	}
	return append(dst, p...)
}
