package experiment

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
