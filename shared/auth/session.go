package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
	return v, nil
}

// Verify returns the token's subject if the token is valid now.
func (v *Verifier) Verify(token string) (string, error) {
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
	var claims jwt.RegisteredClaims
	if _, err := jwt.ParseWithClaims(token, &claims, v.keyFunc, opts...); err != nil {
		if errors.Is(err, ErrJWKSUnavailable) {
			return "", err
		}
		return "", fmt.Errorf("%w: %w", ErrSession, err)
	}
	if claims.Subject == "" {
		return "", fmt.Errorf("%w: no subject", ErrSession)
	}
	return claims.Subject, nil
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
