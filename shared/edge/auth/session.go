package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/abtest/abtest/shared/edge/httpapi"
)

// SessionConfig says how end-user session tokens are verified. Exactly one
// of HS256Secret, JWKSURL and JWKSJSON is set. With a JWKS, Issuer and
// Audience are required: an identity provider signs the tokens of all its
// apps with the same keys, so only "iss" and "aud" tell this app's apart.
type SessionConfig struct {
	HS256Secret string        // shared secret: simple set-ups and local development
	JWKSURL     string        // the identity provider's JWKS (RS256/ES256), fetched lazily and cached
	JWKSJSON    string        // the same keys inline, for deployments without outbound network
	Issuer      string        // required "iss" when set; required setting with a JWKS
	Audience    string        // required in "aud" when set; required setting with a JWKS
	Leeway      time.Duration // clock skew allowed on exp/nbf/iat
	// SigningSecret is the deployment's secret signed requests' tokens are
	// derived from ("": signed requests are refused). Not a session
	// setting, but read and deployed the same way.
	SigningSecret string
	// AdminRoleClaim and AdminRoleValue say which tokens are admins' (""
	// for the defaults "role" and "admin"): see EnvAdminRoleClaim.
	AdminRoleClaim, AdminRoleValue string
}

// Verifier checks session tokens and returns their subject, the user id.
type Verifier struct {
	cfg     SessionConfig
	methods []string
	keyFunc jwt.Keyfunc
	now     func() time.Time
}

// ErrSession is wrapped by every rejection of a token.
var ErrSession = errors.New("invalid session token")

// errSubject is wrapped (with ErrSession) when the token's subject is not a
// usable user id (httpapi.ValidUserID), so the authorizer can say so.
var errSubject = errors.New("subject is not a usable user id")

// NewVerifier builds a verifier; it does no network I/O.
func NewVerifier(cfg SessionConfig, jwks *JWKS) (*Verifier, error) {
	v := &Verifier{cfg: cfg, now: time.Now}
	sources := 0
	for _, s := range []string{cfg.HS256Secret, cfg.JWKSURL, cfg.JWKSJSON} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("session config: set exactly one of the HS256 secret, the JWKS URL or the inline JWKS")
	}
	switch {
	case cfg.HS256Secret != "":
		if len(cfg.HS256Secret) < 32 {
			return nil, errors.New("session config: the HS256 secret must be at least 32 bytes")
		}
		secret := []byte(cfg.HS256Secret)
		v.methods = []string{jwt.SigningMethodHS256.Alg()}
		v.keyFunc = func(t *jwt.Token) (any, error) { return secret, nil }
	default:
		if jwks == nil {
			return nil, errors.New("session config: a JWKS is required")
		}
		if strings.TrimSpace(cfg.Issuer) == "" || strings.TrimSpace(cfg.Audience) == "" {
			// The provider's keys also sign its other apps' tokens.
			return nil, errors.New("session config: a JWKS needs both the issuer and the audience, or tokens minted for other apps would be accepted")
		}
		v.methods = []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}
		v.keyFunc = func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			return jwks.Key(context.Background(), kid, t.Method.Alg())
		}
	}
	keyFunc := v.keyFunc
	v.keyFunc = func(t *jwt.Token) (any, error) {
		// Runs before any key is looked up (or fetched).
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515 4.1.11: a recipient must refuse a token whose "crit"
			// names extensions it does not process, and this one processes
			// none ("crit" may not be empty either).
			return nil, errors.New(`header "crit" names extensions this service does not process`)
		}
		return keyFunc(t)
	}
	return v, nil
}

// Verify returns the token's subject if the token is valid now.
func (v *Verifier) Verify(token string) (string, error) {
	var claims sessionClaims
	return v.verify(token, &claims)
}

// verify parses and checks token into claims and returns its subject.
func (v *Verifier) verify(token string, claims subjectClaims) (string, error) {
	opts := []jwt.ParserOption{
		// Pinning the methods defeats "alg: none" and algorithm confusion
		// (an HS256 token "signed" with an RSA public key).
		jwt.WithValidMethods(v.methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.cfg.Leeway),
		jwt.WithTimeFunc(v.now),
	}
	if v.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.cfg.Issuer))
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	if _, err := jwt.ParseWithClaims(token, claims, v.keyFunc, opts...); err != nil {
		if errors.Is(err, ErrJWKSUnavailable) {
			return "", err
		}
		return "", fmt.Errorf("%w: %w", ErrSession, err)
	}
	sub, _ := claims.GetSubject()
	if sub == "" {
		return "", fmt.Errorf("%w: no subject", ErrSession)
	}
	if !httpapi.ValidUserID(sub) {
		return "", fmt.Errorf("%w: %w", ErrSession, errSubject)
	}
	return sub, nil
}

// subjectClaims are the claims verify reads: the registered ones, and
// maybe more.
type subjectClaims interface {
	jwt.Claims
	json.Unmarshaler
}

// sessionClaims are the registered claims read exactly as RFC 7519 defines
// them, where golang-jwt's RegisteredClaims is lenient: claim names match
// case-sensitively ("EXP" is another claim, not "exp"), "exp", "nbf" and
// "iat" must be JSON numbers (json.Number also takes "1795352400" quoted, and
// null reads as absent), and "sub" must be valid UTF-8 (encoding/json turns
// bad bytes and lone surrogate escapes into U+FFFD, which would map
// different subjects to one user).
type sessionClaims struct {
	jwt.RegisteredClaims
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *sessionClaims) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		return errors.New("claims are not a JSON object")
	}
	var rc jwt.RegisteredClaims
	for name, dst := range map[string]**jwt.NumericDate{"exp": &rc.ExpiresAt, "nbf": &rc.NotBefore, "iat": &rc.IssuedAt} {
		v, ok := raw[name]
		if !ok {
			continue
		}
		if !isJSONNumber(v) {
			return fmt.Errorf("claim %q is not a number", name)
		}
		*dst = new(jwt.NumericDate)
		if err := json.Unmarshal(v, *dst); err != nil {
			return fmt.Errorf("claim %q: %w", name, err)
		}
	}
	if v, ok := raw["sub"]; ok {
		if !isUTF8JSONString(v) {
			// Not errSubject: the signature is not checked yet.
			return errors.New(`claim "sub" is not a UTF-8 string`)
		}
		if err := json.Unmarshal(v, &rc.Subject); err != nil {
			return fmt.Errorf("claim \"sub\": %w", err)
		}
	}
	for name, dst := range map[string]*string{"iss": &rc.Issuer, "jti": &rc.ID} {
		if v, ok := raw[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("claim %q: %w", name, err)
			}
		}
	}
	if v, ok := raw["aud"]; ok {
		if err := json.Unmarshal(v, &rc.Audience); err != nil {
			return fmt.Errorf("claim \"aud\": %w", err)
		}
	}
	c.RegisteredClaims = rc
	return nil
}

// isJSONNumber reports whether v, one valid JSON value, is a number.
func isJSONNumber(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}

// isUTF8JSONString reports whether v, one valid JSON value, is a string
// whose bytes are valid UTF-8 and whose \u escapes pair surrogates.
func isUTF8JSONString(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) < 2 || v[0] != '"' || !utf8.Valid(v) {
		return false
	}
	s := v[1 : len(v)-1]
	pendingHigh := false // the last escape was a high surrogate
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			if pendingHigh {
				return false
			}
			continue
		}
		i++ // valid JSON: an escape character follows
		if i >= len(s) {
			return false
		}
		if s[i] != 'u' {
			if pendingHigh {
				return false
			}
			continue
		}
		if i+5 > len(s) {
			return false
		}
		n, err := strconv.ParseUint(string(s[i+1:i+5]), 16, 16)
		if err != nil {
			return false
		}
		i += 4
		r := rune(n)
		high, low := r >= 0xd800 && r <= 0xdbff, r >= 0xdc00 && r <= 0xdfff
		switch {
		case pendingHigh && !low, !pendingHigh && low:
			return false
		case pendingHigh:
			pendingHigh = false // a pair: one code point
		default:
			pendingHigh = high
		}
	}
	return !pendingHigh
}

// MintHS256 issues a session token signed with secret: for local
// development and tests, where the service plays the identity provider.
func MintHS256(secret, subject string, ttl time.Duration, now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
