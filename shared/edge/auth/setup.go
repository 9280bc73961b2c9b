package auth

import (
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Session token settings (the authorizer's environment), documented in the
// README.
const (
	EnvSessionSecret   = "SESSION_HS256_SECRET"
	EnvSessionJWKSURL  = "SESSION_JWKS_URL"
	EnvSessionJWKSJSON = "SESSION_JWKS_JSON"
	EnvSessionIssuer   = "SESSION_ISSUER"
	EnvSessionAudience = "SESSION_AUDIENCE"
	EnvSessionLeeway   = "SESSION_LEEWAY" // Go duration, default 30s
)

// SessionFromEnv reads how session tokens are verified.
func SessionFromEnv() (SessionConfig, error) {
	c := SessionConfig{
		HS256Secret: os.Getenv(EnvSessionSecret),
		JWKSURL:     os.Getenv(EnvSessionJWKSURL),
		JWKSJSON:    os.Getenv(EnvSessionJWKSJSON),
		Issuer:      os.Getenv(EnvSessionIssuer),
		Audience:    os.Getenv(EnvSessionAudience),
		Leeway:      30 * time.Second,
	}
	if v := os.Getenv(EnvSessionLeeway); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 10*time.Minute {
			return c, fmt.Errorf("auth: %s=%q must be a duration from 0 to 10m", EnvSessionLeeway, v)
		}
		c.Leeway = d
	}
	return c, nil
}

// Setup builds the authorizer from session settings. Without any, admin
// keys still work and client calls are refused until the deployment says
// how to verify sessions. It does no network I/O.
func Setup(logger *slog.Logger, keys KeyStore, session SessionConfig) (*Authorizer, error) {
	var jwks *JWKS
	switch {
	case session.JWKSJSON != "":
		var err error
		if jwks, err = NewJWKSFromJSON(session.JWKSJSON, JWKSLogger(logger)); err != nil {
			return nil, err
		}
	case session.JWKSURL != "":
		jwks = NewJWKSFromURL(session.JWKSURL, nil, JWKSLogger(logger))
	}
	var verifier *Verifier
	if session.HS256Secret != "" || jwks != nil {
		var err error
		if verifier, err = NewVerifier(session, jwks); err != nil {
			return nil, err
		}
	}
	return NewAuthorizer(logger, keys, verifier, time.Now), nil
}
