package auth

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// signRaw signs a hand-written header and payload, so tests can send what
// no JWT library would produce: string dates, crit headers, bad UTF-8.
func signRaw(t *testing.T, header, payload string, key any) string {
	t.Helper()
	signing := b64([]byte(header)) + "." + b64([]byte(payload))
	switch k := key.(type) {
	case []byte:
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(signing))
		return signing + "." + b64(mac.Sum(nil))
	case *rsa.PrivateKey:
		sum := sha256.Sum256([]byte(signing))
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return signing + "." + b64(sig)
	}
	t.Fatalf("key type %T", key)
	return ""
}

// TestVerifyStrictClaims: the claims and header the verifier reads are taken
// exactly as RFC 7519/7515 define them. golang-jwt decodes exp/nbf/iat through
// json.Number, which also takes a quoted number ("exp":"1795352400"), matches
// claim names case-insensitively ("EXP" overrides "exp"), ignores "crit", and
// turns bad UTF-8 in "sub" into U+FFFD (two different subjects become one
// user). Every such token must be refused as ErrSession (401), never as
// another error (500).
func TestVerifyStrictClaims(t *testing.T) {
	jwks, err := NewJWKSFromJSON(jwksDoc("rsa-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	cfg := SessionConfig{Issuer: "https://idp.example", Audience: "abtest", Leeway: 30 * time.Second}
	hsCfg, rsCfg := cfg, cfg
	hsCfg.HS256Secret, rsCfg.JWKSJSON = secret, "inline"
	hs, rs := verifier(t, hsCfg, nil), verifier(t, rsCfg, jwks)

	exp, iat, past := now.Add(time.Hour).Unix(), now.Add(-time.Minute).Unix(), now.Add(-time.Hour).Unix()
	// payload builds a claims set around sub and extra members.
	payload := func(sub string, extra ...string) string {
		members := append([]string{`"iss":"https://idp.example"`, `"aud":"abtest"`, `"sub":` + sub}, extra...)
		if !strings.Contains(strings.Join(extra, ","), `"iat"`) {
			members = append(members, fmt.Sprintf(`"iat":%d`, iat))
		}
		if !strings.Contains(strings.Join(extra, ","), `"exp"`) {
			members = append(members, fmt.Sprintf(`"exp":%d`, exp))
		}
		return "{" + strings.Join(members, ",") + "}"
	}
	hsHeader, rsHeader := `{"alg":"HS256","typ":"JWT"}`, `{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`

	cases := []struct {
		name    string
		header  string // HS256 header when empty
		payload string
		want    string // the subject; empty: refused
	}{
		{"plain", "", payload(`"user-a"`), "user-a"},
		{"escaped subject", "", payload(`"\u0075ser-a"`), "user-a"},
		{"surrogate pair in subject", "", payload(`"\ud83d\ude00"`), "😀"},
		{"non-ASCII subject", "", payload(`"ü日本"`), "ü日本"},
		{"fractional exp", "", payload(`"user-a"`, fmt.Sprintf(`"exp":%d.5`, exp)), "user-a"},
		{"nbf in the past", "", payload(`"user-a"`, fmt.Sprintf(`"nbf":%d`, past)), "user-a"},
		{"other claims in other case are other claims", "", payload(`"user-a"`, `"Exp":"soon"`, `"SUB":"x\u202e"`), "user-a"},

		{"exp as a string", "", payload(`"user-a"`, fmt.Sprintf(`"exp":"%d"`, exp)), ""},
		{"exp as a word", "", payload(`"user-a"`, `"exp":"soon"`), ""},
		{"exp null", "", payload(`"user-a"`, `"exp":null`), ""},
		{"exp true", "", payload(`"user-a"`, `"exp":true`), ""},
		{"exp an object", "", payload(`"user-a"`, `"exp":{"n":1}`), ""},
		{"exp a list", "", payload(`"user-a"`, fmt.Sprintf(`"exp":[%d]`, exp)), ""},
		{"nbf as a string", "", payload(`"user-a"`, fmt.Sprintf(`"nbf":"%d"`, past)), ""},
		{"nbf null", "", payload(`"user-a"`, `"nbf":null`), ""},
		{"iat as a string", "", payload(`"user-a"`, fmt.Sprintf(`"iat":"%d"`, iat)), ""},
		{"expired exp overridden by a string EXP", "", payload(`"user-a"`, fmt.Sprintf(`"exp":%d`, past), fmt.Sprintf(`"EXP":"%d"`, exp)), ""},
		{"expired exp overridden by a numeric Exp", "", payload(`"user-a"`, fmt.Sprintf(`"exp":%d`, past), fmt.Sprintf(`"Exp":%d`, exp)), ""},

		{"crit naming a claim", `{"alg":"HS256","crit":["exp"]}`, payload(`"user-a"`), ""},
		{"crit b64", `{"alg":"HS256","b64":false,"crit":["b64"]}`, payload(`"user-a"`), ""},
		{"crit empty list", `{"alg":"HS256","crit":[]}`, payload(`"user-a"`), ""},
		{"crit a string", `{"alg":"HS256","crit":"exp"}`, payload(`"user-a"`), ""},
		{"crit null", `{"alg":"HS256","crit":null}`, payload(`"user-a"`), ""},
		{"crit on RS256", `{"alg":"RS256","kid":"rsa-1","crit":["http://example.com/x"],"http://example.com/x":1}`, payload(`"user-a"`), ""},

		{"subject with a bad byte", "", payload("\"user-\xff\""), ""},
		{"subject with a truncated sequence", "", payload("\"user-\xe6\x97\""), ""},
		{"subject with a lone high surrogate", "", payload(`"user-\ud800"`), ""},
		{"subject with a lone low surrogate", "", payload(`"\udc00user"`), ""},
		{"subject with a high surrogate then a letter", "", payload(`"user-\ud800\u0041"`), ""},
		{"subject with two high surrogates", "", payload(`"\ud800\ud800"`), ""},
		{"subject with RIGHT-TO-LEFT OVERRIDE", "", payload("\"user-\u202e-a\""), ""},
		{"subject with escaped RIGHT-TO-LEFT OVERRIDE", "", payload(`"user-\u202e-a"`), ""},
		{"subject with ZERO WIDTH SPACE", "", payload("\"user\u200b-a\""), ""},
		{"subject with BYTE ORDER MARK", "", payload(`"\ufeffuser-a"`), ""},
		{"subject with SOFT HYPHEN", "", payload(`"user\u00ad-a"`), ""},
		{"subject with NUL", "", payload(`"user-a\u0000"`), ""},
		{"subject with DEL", "", payload(`"user-a\u007f"`), ""},
		{"subject with NEXT LINE", "", payload(`"user-a\u0085"`), ""},
		{"subject with a newline", "", payload(`"user\na"`), ""},
		{"subject of 257 bytes", "", payload(`"` + strings.Repeat("u", 257) + `"`), ""},
		{"subject a number", "", payload(`42`), ""},
		{"subject empty", "", payload(`""`), ""},
	}
	for _, c := range cases {
		for _, alg := range []string{"HS256", "RS256"} {
			t.Run(alg+"/"+c.name, func(t *testing.T) {
				v, header, key := hs, hsHeader, any([]byte(secret))
				if alg == "RS256" {
					v, header, key = rs, rsHeader, any(rsaPriv)
				}
				if c.header != "" {
					if !strings.Contains(c.header, `"`+alg+`"`) {
						t.Skip("header for the other algorithm")
					}
					header = c.header
				}
				sub, err := v.Verify(signRaw(t, header, c.payload, key))
				if c.want != "" {
					if err != nil || sub != c.want {
						t.Fatalf("Verify = %q, %v; want %q", sub, err, c.want)
					}
					return
				}
				if err == nil {
					t.Fatalf("Verify accepted %s (subject %q)", c.payload, sub)
				}
				if !errors.Is(err, ErrSession) || sub != "" {
					t.Fatalf("rejection %q, %v is not an ErrSession", sub, err)
				}
			})
		}
	}
}
