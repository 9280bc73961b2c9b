package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// Fuzz targets for every credential parser: API keys, the Authorization
// header, session tokens (HS256 and JWKS) and JWKS documents, and the
// authorizer that combines them. Everything is deterministic: fixed keys,
// a fixed clock, and JWKS tokens signed once and pasted below.

var fzNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const fzSecret = "fuzz-secret-0123456789abcdef0123" // 32 bytes

// fzJWKS publishes an RSA key (kid rsa1) and a P-256 key (kid ec1); the
// tokens below were signed with their private keys, which are not kept.
// Each has iss https://idp.example, aud abtest, sub user-a (user-b for
// fzES256b), iat fzNow-1m, exp fzNow+1h, unless its name says otherwise.
// fzES256wrongKid is signed by ec1 but names rsa1; fzConfused is HS256
// "signed" with rsa1's public key PEM (algorithm confusion). The rest are
// signed but must be refused: no iss/aud, another audience, a "crit" header,
// exp as a string, an expired exp with a later "EXP", a lone surrogate in
// sub (\ud800), U+202E in sub.
const fzJWKS = `{"keys":[{"e":"AQAB","kid":"rsa1","kty":"RSA","n":"pYoxl7-nqHaBpf7ybjdCh4qoRvLhCGOpDSUyoEtc-TGPNPQFOLCBWblmyfZO4FZoOuJr_p6Ph6ZXVILUQKsB1EN5ap6_3OzyA_kzPnCKkgz4ImP2Bi7cwCFMGKl9Jb_dQML88RLLV6rVtcjN3M_n_HhbWCYsJJEFMo9UeJ1r6CxP48BiafouEQl8nqidhzCrTBjOasn4U_Hp5tVQ30jL2s7KJQ-9RaAx08tiGQzrLGbotlxh8pVuHNFh4Jx4O5BSpzVH-rsLORKpVqDi3MKqAbscuGcgmwUAaGCtdBmv-FDb0rL1Tbm0f5MdHVfPoSYnDNUJbNaO0gQbmKJAO3siZQ","use":"sig"},{"crv":"P-256","kid":"ec1","kty":"EC","x":"I1iTYFbWtKGKNkV8yGnc39kD16yAl2dQmlzQaVaJcRo","y":"MZmtMRGzn00FpnmK8XpLSpnIOM5EAHtbMTQlVnuhBsA"}]}`

const (
	fzIss, fzAud = "https://idp.example", "abtest"

	fzRS256         = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.QCGwKvJo7CVgFqAey7BG6YXbPfEJ-rxR-TBRwVoGdAFG-QCept-qr-BUP6lo1dM6X_w86SdptcxbxUzjyETjIZheDhKcYU2p21e8FNXN1AfK3R3cKl779QES6SNsIAVoKf2MwO0IkVbyGQDML5Mx_kmsgPey_qpy0AYBbWrY1G0llhh9aWZN8vywazMhGclu01BBf626sULrhZNrNxbXvw3gyhWwu4HeLem9ORIkpHa1oO7BQAl3C9rzfkCNoYnV84PcwXuoZODzoJssxw8uYDeBYq4cOdEkofr46FYEvMVay2JmThFfoBmQkJP9DOgXdq3jnCkxj96kqgDNww9IlA"
	fzES256         = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.uGBIYKLyo67YTcI9hardjRy3UjqR-8DNmeBgNc2FqN-kHifS5AXt7cMc4zuGE6wJbjOacFui5sWjjqzamF9EFg"
	fzES256b        = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1iIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.CSYdXg7uQzZVTmXmAEuveIv_IsdrmbxgeUGGcswV44EJQO4Nyqt-CYCgQT_SMAKYMxl7V7VEcDmE9Y0sTSuSkg"
	fzES256wrongKid = "eyJhbGciOiJFUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.gHUZHnRLO8COu_1apGibn6BSMMYCDD5m4l66VZLSOGhF3C20unjaRarWuRFu7FBUOTpdYq7SE9OwtYiLoTsVuQ"
	fzRS256noIssAud = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ1c2VyLWEiLCJpYXQiOjE3OTUzNDg3NDAsImV4cCI6MTc5NTM1MjQwMH0.FeuLELO9UHCCrMr41HNnAcutIgrL-_KAnxM2XTy-uH91BfBNAMi5f_Blr2jVg6JH4W3TZItZkn0h4keExB18vGByVgy6nmOwWRZVDGX9ey2MnU4jALPfCluQSjqv7AgMu_osBPOTTZqYbs2-_8ibINFW9zJzv_LanMjoq4Lcl2yi68rtkFsHwC69pH0SOQ7WTloKAwEpDf9uyMr98Mzhzz1BIL-TFBDLQpdE44zprjFKFMh88sjTAs7DLXypc_A8mNdVervbAoolH7JI2yLCYXH9v6t8FNoW0cLzNrRtlxD7MqSdt6cup0nPfyhm8nJjrUzQcxkye-iN604F1pulbw"
	fzRS256otherAud = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoib3RoZXItYXBwIiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.WjKKU0hzSEZjqK6OvLadjUn3EMcN95wqgVYJHNWTxY9tJjkp1fXy4YbhzfEf3gBzYXiHl-B4muoeEXtDgmPweYyoL1tfE_B8VMgWX6BA_s1opneJ16iuzRaflhs_XncKpMF9aYmjqQLXPBm5T01Fz7y5hqLcgg8NtL-Vk8opxwpkL0XwVw0FWlHqu4owhZX6LLbv0qRW_qY9s9C_LBOFik9dwxhApCkoipazIP6utuDLBuDrxkniy0P928EFXmQbvXifWdSpRKzv254oV2evD0lwknNtbIrXBX7ro3nhRtpEz8iXtsvSLb73Re1gCDajya0zcBliO_z5QJy5MHkS_Q"
	fzRS256crit     = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJjcml0IjpbImV4cCJdLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.HrhbiU_AmCIcqtG5B_ZL619uWIX_lYcfN8RbDPbXEuKby2Q4CWjAnv54vVL90ygWpnVjefQW4tIiW9YbwOfqV4J6GnbuysBwWRjIcW8t-glJU1PSJrdt5PAUW8kXVJr47ei5mHM4C_exh54h-I_LXw65X--jz-NYD06Ovt0cJJ4EBOaqZfy7y_bKbpSmxfmjnslPCDVQ3XhyO7q6FdDeJKxJOdn6tMu6ZV_winVBuuXET9cN1HjTFjirmGLsypEM6rp8pxFu9Qe-Jjq3TChLqUbtxkf7AJ6KsB1KnomyCzlHlGNnRjbkU32mwTFf4HFo2yyPHtzXsfPiyFnCRTO89Q"
	fzES256strExp   = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOiIxNzk1MzUyNDAwIn0.qrDBAHlcPupnE-33maNNrVA6KVVAYQUI4FjW_JhhZTBKFg1TYzIwATTsx9RNDqaYVsYUXKW5DpVm1XFueegeZQ"
	fzRS256EXP      = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNDUyMDAsIkVYUCI6MTc5NTM1MjQwMH0.AwFk_bovnkAsFrhk5cnUtg67wetbv0ptwqfj7EBdrwvJ4UVi0LMEKnrDgQA-9jjbxu2JSTZLBPJpWdISqdxBdjS8Qp4Sb9nBtGXuhajBnf4arProFeG4M7DO02LIFPwablknYovQ1UtV3KCtKQAdw2S5pkX0vKS5RUdDuHcbfUUZykfkX9iStM8l3H448xU1TDQsSnzWwt2EIvb0m9-tDACUE6w6cMczSy03RHo5ZugW36-XKzMFq6JyTE0A9r0_krq0QH42LA8hZRXMxEF23YFLf0TFIT5tpKPvSk1uTvAPy0d4UQ5erln2VJx2pc1XEbyTVr-xeGuPBNVK9H0tlA"
	fzRS256badSub   = "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1cdWQ4MDAiLCJpYXQiOjE3OTUzNDg3NDAsImV4cCI6MTc5NTM1MjQwMH0.AADRX_s0D3smzrg0N_YHxjKyEWXT6eDF63DWXr3zIWRkOv4cKzCKlRzAbn656exspQ60I63BjsVD2aJUh92kMKUdRjy9HrJGOMmTS6qGHMOxuhie25pKy5eKcRyYndiuhzZ9V5XcfW2qrJWaSx0QbgZlUhIAOxwl3w6_-1Zy_wzYNE45lEOQqRPBb7VXk35fkFPfpbOqawowhauJ_DByVrVja97kKf_EJm_U1ukUelutGw4gSFc8_xmb7BgAmNgOARh8demv2R3-UvBpkquZ31iupFf0iAWPKsFZ62aU2AS9WqkSFvbaD4nWU7iDrXbbPnvFwxUGxBjnM53ywLAOjA"
	fzES256rtlo     = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1cdTIwMmVhIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.Sl4Ua1fb4wGSEW-8SAVSIZQS_SeDeU2_RDgsghR_Tj3WWFBUMgpUHkNqXoy-9FeWoiNBxMVRnZWCy9mprAFpsg"
	fzConfused      = "eyJhbGciOiJIUzI1NiIsImtpZCI6InJzYTEiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIiwiYXVkIjoiYWJ0ZXN0Iiwic3ViIjoidXNlci1hIiwiaWF0IjoxNzk1MzQ4NzQwLCJleHAiOjE3OTUzNTI0MDB9.vHNWJQvaQt6XSMj5z-zACg7uwURulRDWn2AvpNqikUw"
)

func fzClaims(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
	c := jwt.RegisteredClaims{Subject: "user-a", IssuedAt: jwt.NewNumericDate(fzNow.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(fzNow.Add(time.Hour))}
	if mod != nil {
		mod(&c)
	}
	return c
}

func fzSign(f *testing.F, method jwt.SigningMethod, key any, c jwt.RegisteredClaims) string {
	f.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// fzSignRaw signs a hand-written header and payload with the HS256 secret:
// what no JWT library would produce.
func fzSignRaw(header, payload string) string {
	signing := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(fzSecret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// fzHS256Tokens are deterministic HS256 tokens, valid and not.
func fzHS256Tokens(f *testing.F) []string {
	key := []byte(fzSecret)
	iat, exp, past := fzNow.Add(-time.Minute).Unix(), fzNow.Add(time.Hour).Unix(), fzNow.Add(-time.Hour).Unix()
	hs := `{"alg":"HS256","typ":"JWT"}`
	return []string{
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(nil)),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.Subject = "ü日本😀" })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.Subject = "a\nb" })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.Subject = strings.Repeat("u", httpapi.MaxUserIDLen+1) })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.Subject = "" })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(fzNow.Add(-time.Minute)) })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(fzNow.Add(-10 * time.Second)) })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(fzNow.Add(time.Hour)) })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(fzNow.Add(time.Hour)) })),
		fzSign(f, jwt.SigningMethodHS256, key, fzClaims(func(c *jwt.RegisteredClaims) {
			c.Issuer, c.Audience = "https://idp.example", jwt.ClaimStrings{"abtest"}
		})),
		fzSign(f, jwt.SigningMethodHS384, key, fzClaims(nil)),
		fzSign(f, jwt.SigningMethodHS512, key, fzClaims(nil)),
		fzSign(f, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0"), fzClaims(nil)),
		fzSign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, fzClaims(nil)),
		// Signed, hand-written: dates as strings or null, claim names in
		// other case, "crit", subjects that are not usable user ids.
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":"%d"}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":"%d","exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d,"nbf":"%d"}`, iat, exp, past)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d,"nbf":null}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d,"EXP":"%d"}`, iat, past, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d,"Exp":"soon","SUB":"x"}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d.25}`, iat, exp)),
		fzSignRaw(`{"alg":"HS256","crit":["exp"]}`, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(`{"alg":"HS256","crit":[]}`, fmt.Sprintf(`{"sub":"user-a","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-\xff","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-\ud800","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"\ud83d\ude00","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"\ufffd","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-\u202ea","iat":%d,"exp":%d}`, iat, exp)),
		fzSignRaw(hs, fmt.Sprintf("{\"sub\":\"user\u200b-a\",\"iat\":%d,\"exp\":%d}", iat, exp)),
		fzSignRaw(hs, fmt.Sprintf(`{"sub":"user-a\u0000","iat":%d,"exp":%d}`, iat, exp)),
		// Hand-made ones: odd encodings and shapes.
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1IiwiZXhwIjo5OTk5OTk5OTk5fQ.",
		"e30.e30.e30", "..", ".", "", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9.bnVsbA.AAAA", "eyJhbGciOiJIUzI1NiJ9.W10.AAAA",
		"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiJzb29uIn0.AAAA", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjFlOTk5fQ.AAAA", "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOlsxXX0.AAAA",
		"eyJhbGciOiJIUzI1NiJ9==.e30=.AAAA", "\xff.\xfe.\x00", fzRS256, fzES256, fzConfused,
	}
}

func fzHSVerifier(tb testing.TB) *Verifier {
	v, err := NewVerifier(SessionConfig{HS256Secret: fzSecret, Leeway: 30 * time.Second}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	v.now = func() time.Time { return fzNow }
	return v
}

// fzSegment decodes a token segment as JWTs encode them.
func fzSegment(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil
}

// FuzzVerifyHS256: a token is accepted only if it really is HS256 signed
// with the secret (checked here independently), unexpired, with the
// subject returned; every rejection wraps ErrSession (anything else would
// make the authorizer fail with a 500 instead of a 401).
func FuzzVerifyHS256(f *testing.F) {
	for _, tok := range fzHS256Tokens(f) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		v := fzHSVerifier(t)
		sub, err := v.Verify(token)
		if err != nil {
			if !errors.Is(err, ErrSession) || sub != "" {
				t.Fatalf("Verify(%q) = %q, %v: want an ErrSession", token, sub, err)
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 || sub == "" {
			t.Fatalf("Verify(%q) accepted subject %q", token, sub)
		}
		sig, ok := fzSegment(parts[2])
		mac := hmac.New(sha256.New, []byte(fzSecret))
		mac.Write([]byte(parts[0] + "." + parts[1]))
		if !ok || !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatalf("Verify accepted %q, which is not signed with the secret", token)
		}
		// Claim and header names are case-sensitive (RFC 7519, 7515).
		var header, claims map[string]json.RawMessage
		var alg, claimedSub string
		var exp float64
		h, _ := fzSegment(parts[0])
		p, _ := fzSegment(parts[1])
		if json.Unmarshal(h, &header) != nil || json.Unmarshal(header["alg"], &alg) != nil || alg != "HS256" ||
			json.Unmarshal(p, &claims) != nil || json.Unmarshal(claims["sub"], &claimedSub) != nil || claimedSub != sub ||
			json.Unmarshal(claims["exp"], &exp) != nil || exp+30 < float64(fzNow.Unix()) {
			t.Fatalf("Verify accepted %q: header %s claims %s", token, h, p)
		}
		if _, ok := header["crit"]; ok {
			t.Fatalf("Verify accepted %q with a crit header %s", token, h)
		}
		for _, name := range []string{"exp", "nbf", "iat"} { // numbers, not "123" nor null
			var n float64
			if v, ok := claims[name]; ok && (json.Unmarshal(v, &n) != nil || string(v) == "null") {
				t.Fatalf("Verify accepted %q with %s %s", token, name, v)
			}
		}
		// encoding/json turns bad UTF-8 and lone surrogates into U+FFFD:
		// the subject may hold no more U+FFFD than the token spelled out.
		raw := string(claims["sub"])
		if !httpapi.ValidUserID(sub) || strings.Count(sub, "\ufffd") != strings.Count(raw, "\ufffd")+strings.Count(strings.ToLower(raw), `\ufffd`) {
			t.Fatalf("Verify accepted %q with subject %q (raw %s)", token, sub, raw)
		}
	})
}

// FuzzVerifyJWKS: with a JWKS (RS256/ES256 pinned), a token is accepted only
// if its signed part is one of the genuinely signed seeds (signatures cannot
// be forged by a fuzzer; some may have equivalent encodings); rejections
// wrap ErrSession.
func FuzzVerifyJWKS(f *testing.F) {
	signed := map[string]bool{}
	for _, tok := range []string{fzRS256, fzES256, fzES256b} {
		signed[tok[:strings.LastIndex(tok, ".")]] = true
		f.Add(tok)
	}
	for _, tok := range append([]string{fzES256wrongKid, fzConfused, fzRS256noIssAud, fzRS256otherAud, fzRS256crit, fzES256strExp,
		fzRS256EXP, fzRS256badSub, fzES256rtlo}, fzHS256Tokens(f)...) {
		f.Add(tok)
	}
	f.Add(fzES256[:strings.LastIndex(fzES256, ".")+1] + strings.Repeat("A", 86))
	f.Add(strings.Replace(fzRS256, "rsa1", "xxxx", 1))
	jwks, err := NewJWKSFromJSON(fzJWKS)
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(SessionConfig{JWKSJSON: fzJWKS, Issuer: fzIss, Audience: fzAud}, jwks)
	if err != nil {
		f.Fatal(err)
	}
	v.now = func() time.Time { return fzNow }
	f.Fuzz(func(t *testing.T, token string) {
		sub, err := v.Verify(token)
		if err != nil {
			if !errors.Is(err, ErrSession) || sub != "" {
				t.Fatalf("Verify(%q) = %q, %v: want an ErrSession", token, sub, err)
			}
			return
		}
		i := strings.LastIndex(token, ".")
		if i < 0 || !signed[token[:i]] || (sub != "user-a" && sub != "user-b") {
			t.Fatalf("Verify accepted %q (subject %q), which was never signed", token, sub)
		}
	})
}

// FuzzParseJWKS: a JWKS document never panics the parser, only usable
// signing keys come out (RSA >= 2048 bits, P-256 points on the curve), a
// success has at least one, and whatever one more key is (any JSON value),
// it never takes a good key down with it.
func FuzzParseJWKS(f *testing.F) {
	for _, s := range []string{fzJWKS, `{"keys":[]}`, `{"keys":null}`, `{}`, `null`, `[]`, ``, `{"keys":[{"kty":"oct","k":"AAAA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`, `{"keys":[{"kty":"RSA","n":"","e":""}]}`, `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQ"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQABAQABAQABAQAB"}]}`, `{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}`, `{"keys":[{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("_", 60) + `","y":"` + strings.Repeat("_", 60) + `"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"!!","y":"AA"}]}`, `{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}`, `{"keys":[1,"x",null]}`,
		// One unusable key next to good ones.
		strings.Replace(fzJWKS, `{"keys":[`, `{"keys":[{"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},`, 1),
		strings.Replace(fzJWKS, `{"keys":[`, `{"keys":[{"kty":"RSA","kid":"short","n":"`+strings.Repeat("_", 171)+`","e":"AQAB"},`, 1),
		strings.Replace(fzJWKS, `{"keys":[`, `{"keys":[{"kty":"OKP","kid":"ed","crv":"Ed25519","x":"AA"},{"kty":"oct","k":"AA"},7,[],"k",`, 1),
		strings.Replace(fzJWKS, `{"keys":[`, `{"keys":[{"kty":"EC","kid":"rsa1","crv":"P-256","x":"AA","y":"AA"},`, 1),
		`{"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"}`, `{"kty":"RSA","kid":"rsa1","n":"AQAB","e":"AQAB"}`, `{"kid":{}}`, `7`,
	} {
		f.Add([]byte(s))
	}
	goodKey := fzJWKS[len(`{"keys":[`) : strings.Index(fzJWKS, `},{`)+1] // rsa1
	f.Fuzz(func(t *testing.T, doc []byte) {
		if json.Valid(doc) {
			// doc as one more key next to a good one.
			keys, skipped, err := parseJWKS([]byte(`{"keys":[` + goodKey + `,` + string(doc) + `]}`))
			if err != nil || len(keys) == 0 || len(skipped) > 1 {
				t.Fatalf("a good key and %s: %d keys, %d skipped, %v", doc, len(keys), len(skipped), err)
			}
		}
		keys, skipped, err := parseJWKS(doc)
		for _, s := range skipped {
			if s.reason == "" {
				t.Fatalf("key %q skipped without a reason", s.kid)
			}
		}
		if err != nil {
			if keys != nil {
				t.Fatalf("keys %v with error %v", keys, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for kid, k := range keys {
			switch k := k.(type) {
			case *rsa.PublicKey:
				if k.N.BitLen() < 2048 || k.E < 3 {
					t.Fatalf("weak RSA key %q", kid)
				}
			case *ecdsa.PublicKey:
				if k.Curve != elliptic.P256() || !k.Curve.IsOnCurve(k.X, k.Y) {
					t.Fatalf("bad EC key %q", kid)
				}
			default:
				t.Fatalf("key %q of type %T", kid, k)
			}
		}
	})
}

// FuzzParseKeyID: the id comes out exactly for "abk_" + 16 base32
// characters + "_" + 32 bytes, and it is the id inside the key.
func FuzzParseKeyID(f *testing.F) {
	for _, s := range []string{"", "abk_", "abk__", "abk_abcdefghijklmnop_" + strings.Repeat("s", 32), "abk_abcdefghijklmnop_" + strings.Repeat("s", 31),
		"abk_abcdefghijklmnop_" + strings.Repeat("s", 33), "abk_abcdefghijklmno1_" + strings.Repeat("s", 32), "abk_ABCDEFGHIJKLMNOP_" + strings.Repeat("s", 32),
		"abk_abcdefghijklmnop_" + strings.Repeat("_", 32), "abk_abcdefghijklmnop" + strings.Repeat("s", 33), "ABK_abcdefghijklmnop_" + strings.Repeat("s", 32),
		"abk_abcdefghijklmno_" + strings.Repeat("s", 33), "abk_abcdefghijklmnop_" + strings.Repeat("日", 10) + "ss", "abk_abcdefghijklmnop_\xff" + strings.Repeat("s", 31),
		" abk_abcdefghijklmnop_" + strings.Repeat("s", 32), "hello"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		id, ok := apikey.ParseKeyID(key)
		want := len(key) == 53 && key[:4] == "abk_" && key[20] == '_'
		for i := 4; want && i < 20; i++ {
			c := key[i]
			want = c >= 'a' && c <= 'z' || c >= '2' && c <= '7'
		}
		if ok != want || (ok && (id != key[4:20] || !apikey.ValidKeyID(id))) || (!ok && id != "") {
			t.Fatalf("apikey.ParseKeyID(%q) = %q, %v; want ok=%v", key, id, ok, want)
		}
	})
}

// FuzzBearer: a token comes out only of "Bearer <token>" (scheme in any
// case), trimmed and non-empty.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"", "Bearer", "Bearer ", "Bearer  ", "Bearer x", "bearer x", "BEARER x", " Bearer  x  ", "Bearer\tx", "Bearer x y",
		"Basic dXNlcjpwYXNz", "Bearerx", "Bearer \u00a0", "Bearer \xff", "Beare x", "ſearer x", "Bearer\u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if !ok {
			if tok != "" {
				t.Fatalf("bearer(%q) = %q with !ok", h, tok)
			}
			return
		}
		scheme, _, _ := strings.Cut(strings.TrimSpace(h), " ")
		if tok == "" || tok != strings.TrimSpace(tok) || !strings.Contains(h, tok) || !strings.EqualFold(scheme, "bearer") {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
	})
}

// fzKeyStore is a KeyStore in memory; it never fails.
type fzKeyStore struct{ keys map[string]*store.APIKey }

func (s *fzKeyStore) GetAPIKey(_ context.Context, id string) (*store.APIKey, error) {
	if k, ok := s.keys[id]; ok {
		c := *k
		return &c, nil
	}
	return nil, store.ErrNotFound
}

func (s *fzKeyStore) TouchAPIKey(context.Context, string, time.Time, time.Duration) error { return nil }

// Deterministic keys: plaintext -> stored key.
var fzKeys = map[string]store.APIKey{
	"abk_adminkeyadminkey_0123456789abcdefghijABCDEFGHIJ-_": {ID: "adminkeyadminkey", Role: "admin"},
	"abk_clientkeyclientk_Zyxwvutsrqponmlkjihgfedcba987654": {ID: "clientkeyclientk", Role: "client"},
	"abk_revokedkeyrevoke_Zyxwvutsrqponmlkjihgfedcba987654": {ID: "revokedkeyrevoke", Role: "client", RevokedAt: fzNow.Add(-time.Hour)},
	"abk_serverkeyserverk_Zyxwvutsrqponmlkjihgfedcba987654": {ID: "serverkeyserverk", Role: "server"},
}

// FuzzIdentify: whatever the credential headers and the route, the
// authorizer answers an identity only for a stored, unrevoked key given
// exactly, of the route's role when the route has one (and, for a client
// key, a valid session whose subject is a usable user id); a good key of
// the other role is FORBIDDEN, anything else UNAUTHENTICATED. It never
// fails, since the key store here never does. An empty route key is
// Identify, which knows no route.
func FuzzIdentify(f *testing.F) {
	tokens := fzHS256Tokens(f)
	routes := []string{"", "GET /v1/admin/experiments", "POST /v1/admin/experiments/{key}/start", "DELETE /v1/admin/api-keys/{id}",
		"GET /v1/client/experiments/{key}/assignment", "POST /v1/client/events", "GET /v1/adminx", "$default", "/v1/admin/x", "GET  /v1/admin/x"}
	client := "abk_clientkeyclientk_Zyxwvutsrqponmlkjihgfedcba987654"
	for i, route := range routes {
		for plain := range fzKeys {
			f.Add(plain, "", true, route)
			for _, tok := range tokens[:4] {
				f.Add(plain, "Bearer "+tok, true, route)
			}
		}
		if i < 2 {
			for _, tok := range tokens[4:] {
				f.Add(client, "Bearer "+tok, true, route)
			}
		}
	}
	for _, a := range []string{"bearer " + tokens[0], "Bearer  " + tokens[0] + " ", "Basic dXNlcjpwYXNz", "Bearer", tokens[0]} {
		f.Add(client, a, true, "")
	}
	for _, k := range []string{"", "hello", client[:len(client)-4] + "AAAA", client + " ", " " + client, strings.ToUpper(client),
		"abk_unknownunknownu_Zyxwvutsrqponmlkjihgfedcba987654", "abk_clientkeyclientk_Zyxwvutsrqponmlkjihgfedcba98765"} {
		f.Add(k, "Bearer "+tokens[0], true, "")
		f.Add(k, "", true, routes[1])
	}
	f.Add(client, "Bearer "+tokens[0], false, "")
	f.Add(client, "Bearer "+tokens[0], false, routes[1])
	hashed := &fzKeyStore{keys: map[string]*store.APIKey{}}
	for plain, k := range fzKeys {
		k.Name, k.Hash, k.CreatedAt = "k", apikey.HashKey(plain), fzNow.Add(-time.Hour)
		hashed.keys[k.ID] = &k
	}
	a := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), hashed, fzHSVerifier(f), func() time.Time { return fzNow })
	f.Fuzz(func(t *testing.T, apiKey, authorization string, present bool, route string) {
		headers := map[string]string{HeaderAPIKey: apiKey, HeaderAuthorization: authorization, "X-Api-Key": client}
		if !present {
			delete(headers, HeaderAPIKey)
		}
		var got map[string]any
		var err error
		if route == "" {
			got, err = a.Identify(context.Background(), headers)
		} else {
			var res events.APIGatewayV2CustomAuthorizerSimpleResponse
			res, err = a.Handle(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{RouteKey: route, Headers: headers})
			if err == nil && !res.IsAuthorized {
				t.Fatalf("Handle answered unauthorized: %+v", res)
			}
			got = res.Context
		}
		if err != nil {
			t.Fatalf("Identify(%q, %q) on %q failed: %v", apiKey, authorization, route, err)
		}
		// The route's role, independently: the path is what follows the
		// method and one space.
		var need string
		if i := strings.IndexByte(route, ' '); i >= 0 {
			switch path := route[i+1:]; {
			case strings.HasPrefix(path, "/v1/admin/"):
				need = "admin"
			case strings.HasPrefix(path, "/v1/client/"):
				need = "client"
			case strings.HasPrefix(path, "/v1/server/"):
				need = "server"
			}
		}
		if need == "admin" && headers[HeaderAPIKey] == "" {
			// No key on an admin route: an admin token in its place. The
			// fuzzer cannot sign one carrying the admin role, so a valid
			// token is 403 and anything else 401, never an identity.
			tok, ok := bearer(authorization)
			_, verr := fzHSVerifier(t).Verify(tok)
			want := fault.CodeUnauthenticated
			if ok && verr == nil {
				want = fault.CodeForbidden
			}
			if got[httpapi.CtxError] != want || len(got) != 2 {
				t.Fatalf("admin route without a key, Authorization %q: %v", authorization, got)
			}
			return
		}
		k, stored := fzKeys[headers[HeaderAPIKey]]
		goodKey := stored && !k.Revoked()
		if code, refused := got[httpapi.CtxError]; refused {
			msg, _ := got[httpapi.CtxMessage].(string)
			if msg == "" || len(got) != 2 {
				t.Fatalf("refusal %v", got)
			}
			wrongRole := goodKey && need != "" && k.Role != need
			if wrongRole != (code == fault.CodeForbidden) || (!wrongRole && code != fault.CodeUnauthenticated) {
				t.Fatalf("refusal %v for key %+v on %q", got, k, route)
			}
			if wrongRole && msg != map[string]string{"admin": "this route needs an admin key", "client": "this route needs a client key", "server": "this route needs a server key"}[need] {
				t.Fatalf("message %q", msg)
			}
			return
		}
		if !goodKey || got[httpapi.CtxRole] != k.Role || got[httpapi.CtxKeyID] != k.ID || (need != "" && k.Role != need) {
			t.Fatalf("Identify(%q, %q) on %q = %v", apiKey, authorization, route, got)
		}
		if k.Role == "admin" || k.Role == "server" {
			if len(got) != 2 {
				t.Fatalf("admin identity %v", got)
			}
			return
		}
		user, _ := got[httpapi.CtxUserID].(string)
		tok, ok := bearer(authorization)
		sub, err := fzHSVerifier(t).Verify(tok)
		if !ok || err != nil || sub != user || !httpapi.ValidUserID(user) || len(got) != 3 {
			t.Fatalf("Identify(%q, %q) = %v", apiKey, authorization, got)
		}
	})
}
