package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const secret = "0123456789abcdef0123456789abcdef"

var (
	now     = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rsaPriv = mustRSA()
	ecPriv  = mustEC()
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksDoc publishes the test keys under the given kids.
func jwksDoc(rsaKid, ecKid string) string {
	keys := []map[string]string{}
	if rsaKid != "" {
		keys = append(keys, map[string]string{"kty": "RSA", "kid": rsaKid, "use": "sig", "n": b64(rsaPriv.N.Bytes()), "e": b64(big.NewInt(int64(rsaPriv.E)).Bytes())})
	}
	if ecKid != "" {
		pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
		keys = append(keys, map[string]string{"kty": "EC", "kid": ecKid, "crv": "P-256", "x": b64(pad(ecPriv.X.Bytes())), "y": b64(pad(ecPriv.Y.Bytes()))})
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return string(b)
}

func claims(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
	c := jwt.RegisteredClaims{
		Subject: "user-a", Issuer: "https://idp.example", Audience: jwt.ClaimStrings{"abtest"},
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, kid string, key any, c jwt.RegisteredClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t *testing.T, cfg SessionConfig, jwks *JWKS) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg, jwks)
	if err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return now }
	return v
}

func TestVerifyForgedAndInvalidTokens(t *testing.T) {
	jwks, err := NewJWKSFromJSON(jwksDoc("rsa-1", "ec-1"))
	if err != nil {
		t.Fatal(err)
	}
	asym := verifier(t, SessionConfig{JWKSJSON: "inline", Issuer: "https://idp.example", Audience: "abtest", Leeway: 30 * time.Second}, jwks)
	sym := verifier(t, SessionConfig{HS256Secret: secret, Issuer: "https://idp.example", Audience: "abtest", Leeway: 30 * time.Second}, nil)

	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaPriv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	valid := sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(nil))
	parts := strings.Split(valid, ".")

	cases := []struct {
		name  string
		v     *Verifier
		token string
		ok    bool
	}{
		{"valid RS256", asym, valid, true},
		{"valid ES256", asym, sign(t, jwt.SigningMethodES256, "ec-1", ecPriv, claims(nil)), true},
		{"valid HS256", sym, sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(nil)), true},
		{"expired within leeway", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second)) })), true},
		{"alg none", asym, none, false},
		{"alg none on HS256", sym, none, false},
		{"HS256 signed with the RSA public key (algorithm confusion)", asym, sign(t, jwt.SigningMethodHS256, "rsa-1", pubPEM, claims(nil)), false},
		{"HS256 with the wrong secret", sym, sign(t, jwt.SigningMethodHS256, "", []byte(secret+"x"), claims(nil)), false},
		{"RS256 on an HS256 deployment", sym, valid, false},
		{"ES256 token naming the RSA key", asym, sign(t, jwt.SigningMethodES256, "rsa-1", ecPriv, claims(nil)), false},
		{"expired", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) })), false},
		{"no expiry", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), false},
		{"not yet valid", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) })), false},
		{"issued in the future", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })), false},
		{"wrong issuer", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example" })), false},
		{"wrong audience", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other"} })), false},
		{"no subject", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.Subject = "" })), false},
		{"unknown kid", asym, sign(t, jwt.SigningMethodRS256, "rsa-2", rsaPriv, claims(nil)), false},
		{"signed by another RSA key", asym, sign(t, jwt.SigningMethodRS256, "rsa-1", mustRSA(), claims(nil)), false},
		{"tampered payload", asym, parts[0] + "." + b64([]byte(`{"sub":"admin","exp":9999999999}`)) + "." + parts[2], false},
		{"two segments", asym, parts[0] + "." + parts[1], false},
		{"four segments", asym, valid + ".x", false},
		{"garbage", asym, "not-a-token", false},
		{"bad base64", asym, "###." + parts[1] + "." + parts[2], false},
		{"empty", asym, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub, err := c.v.Verify(c.token)
			if c.ok {
				if err != nil || sub != "user-a" {
					t.Fatalf("Verify = %q, %v; want user-a", sub, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted a bad token (sub %q)", sub)
			}
			if !errors.Is(err, ErrSession) {
				t.Fatalf("rejection %v is not ErrSession", err)
			}
		})
	}
}

func TestJWKSURLRotationAndOutage(t *testing.T) {
	var doc atomic.Value
	doc.Store(jwksDoc("rsa-1", ""))
	var fetches, failing atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if failing.Load() == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(doc.Load().(string)))
	}))
	defer srv.Close()
	jwks := NewJWKSFromURL(srv.URL, srv.Client())
	clock := now
	jwks.now = func() time.Time { return clock }
	v := verifier(t, SessionConfig{JWKSURL: srv.URL, Issuer: "https://idp.example", Audience: "abtest"}, jwks)

	if fetches.Load() != 0 {
		t.Fatal("the JWKS was fetched before first use")
	}
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(nil))); err != nil {
			t.Fatal(err)
		}
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for one key, want 1 (cached)", fetches.Load())
	}
	// The provider rotates to a new key id: an unknown kid refetches.
	doc.Store(jwksDoc("rsa-1", "ec-2"))
	clock = clock.Add(time.Minute)
	if _, err := v.Verify(sign(t, jwt.SigningMethodES256, "ec-2", ecPriv, claims(nil))); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// Unknown kids do not hammer the provider: at most one fetch per interval.
	before := fetches.Load()
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, "nope", rsaPriv, claims(nil))); !errors.Is(err, ErrSession) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if fetches.Load()-before > 1 {
		t.Fatalf("%d fetches for repeated unknown kids", fetches.Load()-before)
	}
	// An outage is not the token's fault: it must not read as a rejection.
	failing.Store(1)
	clock = clock.Add(time.Minute)
	_, err := v.Verify(sign(t, jwt.SigningMethodRS256, "rsa-9", rsaPriv, claims(nil)))
	if err == nil || errors.Is(err, ErrSession) || !errors.Is(err, ErrJWKSUnavailable) {
		t.Fatalf("outage: %v, want ErrJWKSUnavailable", err)
	}
}

func TestNewVerifierConfig(t *testing.T) {
	for _, cfg := range []SessionConfig{
		{},
		{HS256Secret: "short"},
		{HS256Secret: secret, JWKSURL: "https://x"},
		{JWKSURL: "https://x"}, // no JWKS given
	} {
		if _, err := NewVerifier(cfg, nil); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", cfg)
		}
	}
	if _, err := NewJWKSFromJSON(`{"keys":[]}`); err == nil {
		t.Error("empty JWKS accepted")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	doc := `{"keys":[{"kty":"RSA","kid":"s","n":"` + b64(small.N.Bytes()) + `","e":"AQAB"}]}`
	if _, err := NewJWKSFromJSON(doc); err == nil {
		t.Error("1024-bit RSA key accepted")
	}
	if _, err := NewJWKSFromJSON(`{"keys":[{"kty":"EC","kid":"e","crv":"P-256","x":"AQ","y":"AQ"}]}`); err == nil {
		t.Error("point off the curve accepted")
	}
	_ = context.Background
}

// TestNewVerifierNeedsIssuerAndAudienceWithJWKS: a JWKS names an identity
// provider that also serves other apps; without iss and aud checks their
// tokens would open sessions here. A shared HS256 secret is this app's own.
func TestNewVerifierNeedsIssuerAndAudienceWithJWKS(t *testing.T) {
	jwks, err := NewJWKSFromJSON(jwksDoc("rsa-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	const iss, aud = "https://idp.example", "abtest"
	cases := []struct {
		name string
		cfg  SessionConfig
		ok   bool
	}{
		{"JWKS URL, issuer and audience", SessionConfig{JWKSURL: "https://idp.example/jwks", Issuer: iss, Audience: aud}, true},
		{"inline JWKS, issuer and audience", SessionConfig{JWKSJSON: "{}", Issuer: iss, Audience: aud}, true},
		{"JWKS URL alone", SessionConfig{JWKSURL: "https://idp.example/jwks"}, false},
		{"JWKS URL without audience", SessionConfig{JWKSURL: "https://idp.example/jwks", Issuer: iss}, false},
		{"JWKS URL without issuer", SessionConfig{JWKSURL: "https://idp.example/jwks", Audience: aud}, false},
		{"inline JWKS alone", SessionConfig{JWKSJSON: "{}"}, false},
		{"inline JWKS without audience", SessionConfig{JWKSJSON: "{}", Issuer: iss}, false},
		{"inline JWKS without issuer", SessionConfig{JWKSJSON: "{}", Audience: aud}, false},
		{"inline JWKS, blank issuer and audience", SessionConfig{JWKSJSON: "{}", Issuer: " ", Audience: "\t"}, false},
		{"HS256 alone", SessionConfig{HS256Secret: secret}, true},
		{"HS256 with issuer and audience", SessionConfig{HS256Secret: secret, Issuer: iss, Audience: aud}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var j *JWKS
			if c.cfg.HS256Secret == "" {
				j = jwks
			}
			_, err := NewVerifier(c.cfg, j)
			if c.ok != (err == nil) {
				t.Fatalf("NewVerifier: %v, want ok=%v", err, c.ok)
			}
		})
	}
	// The tokens of another app of the same provider are refused.
	v := verifier(t, SessionConfig{JWKSJSON: "{}", Issuer: iss, Audience: aud}, jwks)
	other := sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other-app"} }))
	if _, err := v.Verify(other); !errors.Is(err, ErrSession) {
		t.Fatalf("token for another app: %v", err)
	}
}

func TestMintHS256RoundTrip(t *testing.T) {
	tok, err := MintHS256(secret, "bob", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, SessionConfig{HS256Secret: secret}, nil)
	if sub, err := v.Verify(tok); err != nil || sub != "bob" {
		t.Fatalf("%q %v", sub, err)
	}
}

// TestJWKSFailureIsNotARejection: after a failed fetch, valid tokens keep
// failing as "unavailable" (500, not cached) until a fetch succeeds; they
// never become 401s for the refresh interval.
func TestJWKSFailureIsNotARejection(t *testing.T) {
	var failing atomic.Int32
	failing.Store(1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(jwksDoc("rsa-1", "")))
	}))
	defer srv.Close()
	jwks := NewJWKSFromURL(srv.URL, srv.Client())
	clock := now
	jwks.now = func() time.Time { return clock }
	v := verifier(t, SessionConfig{JWKSURL: srv.URL, Issuer: "https://idp.example", Audience: "abtest"}, jwks)
	token := sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(nil))
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(token); !errors.Is(err, ErrJWKSUnavailable) || errors.Is(err, ErrSession) {
			t.Fatalf("during the outage: %v, want ErrJWKSUnavailable", err)
		}
		clock = clock.Add(time.Second)
	}
	failing.Store(0)
	clock = clock.Add(retryAfterFailure)
	if sub, err := v.Verify(token); err != nil || sub != "user-a" {
		t.Fatalf("after the outage: %q %v", sub, err)
	}
}
