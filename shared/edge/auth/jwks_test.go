package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// withKeys adds raw JWK members to the test JWKS (rsa-1, the good key).
func withKeys(extra ...string) string {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwksDoc("rsa-1", "")), &set); err != nil {
		panic(err)
	}
	for _, k := range extra {
		set.Keys = append(set.Keys, json.RawMessage(k))
	}
	b, _ := json.Marshal(set)
	return string(b)
}

func rsaJWK(kid string, bits int) string {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return `{"kty":"RSA","kid":"` + kid + `","use":"sig","n":"` + b64(k.N.Bytes()) + `","e":"` + b64(big.NewInt(int64(k.E)).Bytes()) + `"}`
}

func ecJWK(kid string, curve elliptic.Curve, crv string) string {
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		panic(err)
	}
	return `{"kty":"EC","kid":"` + kid + `","crv":"` + crv + `","x":"` + b64(k.X.Bytes()) + `","y":"` + b64(k.Y.Bytes()) + `"}`
}

// unusableKeys: each sits next to a good RSA-2048 key in a JWKS, and none
// may take that key down with it.
var unusableKeys = []struct{ name, kid, jwk string }{
	{"P-384", "p384", ecJWK("p384", elliptic.P384(), "P-384")},
	{"P-521", "p521", ecJWK("p521", elliptic.P521(), "P-521")},
	{"RSA-1024", "rsa1024", rsaJWK("rsa1024", 1024)},
	{"RSA-1536", "rsa1536", `{"kty":"RSA","kid":"rsa1536","n":"` + b64(rsaPriv.N.Bytes()[:192]) + `","e":"AQAB"}`},
	{"unknown curve", "x", `{"kty":"EC","kid":"x","crv":"secp256k1","x":"AQ","y":"AQ"}`},
	{"Ed25519", "ed", `{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`},
	{"symmetric", "oct", `{"kty":"oct","kid":"oct","k":"c2VjcmV0"}`},
	{"no kty", "none", `{"kid":"none","n":"AQAB","e":"AQAB"}`},
	{"unknown kty", "weird", `{"kty":"PQC","kid":"weird"}`},
	{"RSA with bad base64", "bad64", `{"kty":"RSA","kid":"bad64","n":"!!!","e":"AQAB"}`},
	{"RSA with exponent 1", "e1", `{"kty":"RSA","kid":"e1","n":"` + b64(rsaPriv.N.Bytes()) + `","e":"AQ"}`},
	{"P-256 point off the curve", "off", `{"kty":"EC","kid":"off","crv":"P-256","x":"AQ","y":"AQ"}`},
	{"P-256 without y", "noy", `{"kty":"EC","kid":"noy","crv":"P-256","x":"AQ"}`},
}

// TestJWKSSkipsUnusableKeys: one key the service cannot use (another curve,
// a short RSA modulus, an unknown type, a malformed key) is skipped and
// logged; the good key next to it keeps verifying tokens. Before, the whole
// set failed to load: every client call was a 500.
func TestJWKSSkipsUnusableKeys(t *testing.T) {
	good := sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(nil))
	cfg := SessionConfig{Issuer: "https://idp.example", Audience: "abtest"}
	for _, k := range unusableKeys {
		for _, first := range []bool{false, true} {
			doc, name := withKeys(k.jwk), k.name+" after the good key"
			if first {
				doc, name = strings.Replace(withKeys(), `{"keys":[`, `{"keys":[`+k.jwk+`,`, 1), k.name+" before the good key"
			}
			t.Run(name, func(t *testing.T) {
				t.Run("inline", func(t *testing.T) {
					var logs bytes.Buffer
					jwks, err := NewJWKSFromJSON(doc, JWKSLogger(slog.New(slog.NewTextHandler(&logs, nil))))
					if err != nil {
						t.Fatalf("NewJWKSFromJSON: %v", err)
					}
					c := cfg
					c.JWKSJSON = doc
					v := verifier(t, c, jwks)
					if sub, err := v.Verify(good); err != nil || sub != "user-a" {
						t.Fatalf("token of the good key: %q %v", sub, err)
					}
					if !strings.Contains(logs.String(), "kid="+k.kid) || !strings.Contains(logs.String(), "level=WARN") {
						t.Fatalf("skipped key not logged: %s", logs.String())
					}
					// A token naming the skipped key is refused as a bad token (401).
					if _, err := v.Verify(sign(t, jwt.SigningMethodRS256, k.kid, rsaPriv, claims(nil))); !errors.Is(err, ErrSession) {
						t.Fatalf("token naming the skipped key: %v", err)
					}
				})
				t.Run("url", func(t *testing.T) {
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(doc)) }))
					defer srv.Close()
					var logs bytes.Buffer
					jwks := NewJWKSFromURL(srv.URL, srv.Client(), JWKSLogger(slog.New(slog.NewTextHandler(&logs, nil))))
					c := cfg
					c.JWKSURL = srv.URL
					v := verifier(t, c, jwks)
					if sub, err := v.Verify(good); err != nil || sub != "user-a" {
						t.Fatalf("token of the good key: %q %v", sub, err)
					}
					if !strings.Contains(logs.String(), "kid="+k.kid) {
						t.Fatalf("skipped key not logged: %s", logs.String())
					}
				})
			})
		}
	}
}

// TestJWKSWithoutUsableKey: a set where every key is skipped still fails,
// inline (at start) and fetched (unavailable: a 500, not a 401).
func TestJWKSWithoutUsableKey(t *testing.T) {
	var all []string
	for _, k := range unusableKeys {
		all = append(all, k.jwk)
	}
	docs := map[string]string{
		"no keys":         `{"keys":[]}`,
		"only P-384":      `{"keys":[` + unusableKeys[0].jwk + `]}`,
		"only RSA-1024":   `{"keys":[` + unusableKeys[2].jwk + `]}`,
		"all unusable":    `{"keys":[` + strings.Join(all, ",") + `]}`,
		"only encryption": strings.Replace(jwksDoc("rsa-1", ""), `"use":"sig"`, `"use":"enc"`, 1),
		"not a JWKS":      `[1,2]`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			quiet := JWKSLogger(slog.New(slog.DiscardHandler))
			if _, err := NewJWKSFromJSON(doc, quiet); err == nil {
				t.Fatal("NewJWKSFromJSON accepted a set without a usable key")
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(doc)) }))
			defer srv.Close()
			jwks := NewJWKSFromURL(srv.URL, srv.Client(), quiet)
			v := verifier(t, SessionConfig{JWKSURL: srv.URL, Issuer: "https://idp.example", Audience: "abtest"}, jwks)
			_, err := v.Verify(sign(t, jwt.SigningMethodRS256, "rsa-1", rsaPriv, claims(nil)))
			if !errors.Is(err, ErrJWKSUnavailable) || errors.Is(err, ErrSession) {
				t.Fatalf("Verify: %v, want ErrJWKSUnavailable", err)
			}
		})
	}
}
