package experiment

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidKey(t *testing.T) {
	re := regexp.MustCompile(KeyPattern)
	cases := []struct {
		key  string
		want bool
	}{
		{"checkout_button_v2", true},
		{"a", true},
		{"0-x", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"_lead", false},
		{"-lead", false},
		{"Upper", false},
		{"has space", false},
		{"hash#sign", false},
		{"dot.ted", false},
		{"ünï", false},
		{"a/b", false},
	}
	for _, c := range cases {
		if got := ValidKey(c.key); got != c.want {
			t.Errorf("ValidKey(%q) = %v, want %v", c.key, got, c.want)
		}
		// The documented pattern and the hand-written check must agree.
		if got := re.MatchString(c.key); got != c.want {
			t.Errorf("KeyPattern on %q = %v, want %v", c.key, got, c.want)
		}
	}
}
