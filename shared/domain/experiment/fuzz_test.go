package experiment

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzValidKey: the hand-written key check and the documented KeyPattern
// accept exactly the same strings.
func FuzzValidKey(f *testing.F) {
	for _, s := range []string{
		"", "a", "0", "checkout_button_v2", "0-x", "a_", "a-", "a__--b",
		"_a", "-a", "A", "aB", "a b", "a/b", "a.b", "a#b", "a\n", "\na", "a\x00",
		"ü", "aü", "\xff", "a\xff", "日本", "😀",
		strings.Repeat("a", MaxKeyLen-1), strings.Repeat("a", MaxKeyLen), strings.Repeat("a", MaxKeyLen+1),
		strings.Repeat("a", MaxKeyLen) + "\n", "a\u0130", "a\u212a", // Unicode case folding traps
	} {
		f.Add(s)
	}
	re := regexp.MustCompile(KeyPattern)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidKey(s), re.MatchString(s); got != want {
			t.Fatalf("ValidKey(%q) = %v, KeyPattern says %v", s, got, want)
		}
	})
}
