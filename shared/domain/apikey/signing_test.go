package apikey

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSigningGolden: tokens and signatures match vectors computed outside
// Go (testdata/README.md).
func TestSigningGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/signing-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ Secret, AK, ET, Token, Signature string }
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range cases {
		if got := SigningToken(c.Secret, c.AK); got != c.Token {
			t.Errorf("SigningToken(%q, %q) = %s, want %s", c.Secret, c.AK, got, c.Token)
		}
		if got := Signature(c.Token, c.AK, c.ET); got != c.Signature {
			t.Errorf("Signature(%s) = %s, want %s", c.AK, got, c.Signature)
		}
		if !SignatureMatches(c.Secret, c.AK, c.ET, c.Signature) || !SignatureMatches(c.Secret, c.AK, c.ET, strings.ToUpper(c.Signature)) {
			t.Errorf("%s: the golden signature does not match", c.AK)
		}
	}
}

func TestSignatureMatches(t *testing.T) {
	const secret, ak, et = "s3cret", "ABCDEFGHIJKLMNOP", "1764513000"
	good := Signature(SigningToken(secret, ak), ak, et)
	cases := []struct {
		name           string
		secret, ak, et string
		sig            string
		want           bool
	}{
		{"good", secret, ak, et, good, true},
		{"other deployment", "other", ak, et, good, false},
		{"other key", secret, "QRSTUVWXYZ234567", et, good, false},
		{"other time", secret, ak, "1764513001", good, false},
		{"truncated", secret, ak, et, good[:31], false},
		{"empty", secret, ak, et, "", false},
		{"token itself", secret, ak, et, SigningToken(secret, ak), false},
	}
	for _, c := range cases {
		if got := SignatureMatches(c.secret, c.ak, c.et, c.sig); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if SigningToken(secret, ak) == SigningToken(secret, "QRSTUVWXYZ234567") {
		t.Error("two keys share a token")
	}
}

func TestSignedAt(t *testing.T) {
	now := time.Unix(1764513000, 0)
	cases := []struct {
		et   string
		want bool
	}{
		{"1764513000", true}, {"1764512700", true}, {"1764513300", true},
		{"1764512699", false}, {"1764513301", false},
		{"", false}, {"-1764513000", false}, {"+1764513000", false}, {"17645130.0", false}, {"1764513000000", false}, {"abc", false},
	}
	for _, c := range cases {
		if _, got := SignedAt(c.et, now); got != c.want {
			t.Errorf("SignedAt(%q) = %v, want %v", c.et, got, c.want)
		}
	}
}

func BenchmarkSignatureMatches(b *testing.B) {
	const secret, ak, et = "s3cret", "ABCDEFGHIJKLMNOP", "1764513000"
	sig := Signature(SigningToken(secret, ak), ak, et)
	b.ReportAllocs()
	for b.Loop() {
		if !SignatureMatches(secret, ak, et, sig) {
			b.Fatal("no match")
		}
	}
}
