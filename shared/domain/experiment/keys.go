package experiment

import (
	"unicode"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/fault"
)

// MaxKeyLen bounds experiment and variant keys. Keys end up inside DynamoDB
// key attributes and counter attribute names, so they are short and plain.
const MaxKeyLen = 64

// KeyPattern documents the accepted form of experiment and variant keys.
const KeyPattern = `^[a-z0-9][a-z0-9_-]{0,63}$`

// ValidKey reports whether s matches KeyPattern: lower-case ASCII letters,
// digits, '_' and '-', starting with a letter or digit, at most 64 long.
// Written by hand rather than with regexp because it runs on every request.
func ValidKey(s string) bool {
	if len(s) == 0 || len(s) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// MaxEventNameLen bounds event names: they become part of counter names.
const MaxEventNameLen = 100

// EventNamePattern documents the accepted event names. ':' is excluded
// because names become part of counter attribute names.
const EventNamePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`

// ValidEventName reports whether s matches EventNamePattern.
func ValidEventName(s string) bool {
	if len(s) == 0 || len(s) > MaxEventNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// CheckKey returns an INVALID_KEY error unless s is a valid experiment key.
func CheckKey(s string) error {
	if ValidKey(s) {
		return nil
	}
	return fault.New(fault.Invalid, fault.CodeInvalidKey, "experiment key must match "+KeyPattern).
		With(map[string]any{"pattern": KeyPattern})
}

// MaxIDLen bounds idempotency ids (of events and exposures).
const MaxIDLen = 128

// ValidID reports whether id can be a client's idempotency id: 1-128 bytes
// of valid UTF-8 with no control or invisible format character.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// MaxUnitIDLen bounds unit ids (bytes): they are part of DynamoDB keys.
const MaxUnitIDLen = 256

// ValidUnitID is the one rule for unit ids (a user id, the session's
// subject): 1-256 bytes of valid UTF-8 with no control character (Unicode
// category Cc: C0, DEL, C1 such as NUL, "\n", U+0085) and no format character
// (category Cf: invisible or reordering characters such as U+200B, U+202E,
// U+FEFF, U+00AD), so that ids that look alike in logs and consoles are
// alike.
func ValidUnitID(id string) bool {
	if id == "" || len(id) > MaxUnitIDLen || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
