package auth

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Session token settings (the authorizer's environment), documented in the
// README.
const (
	// EnvSessionSecret holds the HS256 secret itself: local development
	// only (make run); the deployed stack never sets it.
	EnvSessionSecret = "SESSION_HS256_SECRET"
	// EnvSessionSecretARN names the Secrets Manager secret holding it: what
	// the stack sets (-c sessionHs256=true, dev stage); read at cold start.
	EnvSessionSecretARN = "SESSION_HS256_SECRET_ARN"
	EnvSessionJWKSURL   = "SESSION_JWKS_URL"
	EnvSessionJWKSJSON  = "SESSION_JWKS_JSON"
	EnvSessionIssuer    = "SESSION_ISSUER"
	EnvSessionAudience  = "SESSION_AUDIENCE"
	EnvSessionLeeway    = "SESSION_LEEWAY" // Go duration, default 30s
	// EnvSigningSecret holds the deployment's signing secret, from which
	// each server key's signing token is derived (apikey.SigningToken):
	// local development only (make run generates it).
	EnvSigningSecret = "SIGNING_SECRET"
	// EnvSigningSecretARN names the Secrets Manager secret holding it: what
	// the stack sets on the authorizer and the admin function.
	EnvSigningSecretARN = "SIGNING_SECRET_ARN"
	// EnvAdminRoleClaim names the claim of an admin token that holds its
	// role (default "role"; a dotted path reaches into objects), and
	// EnvAdminRoleValue the value naming the admin role (default "admin"):
	// the claim is that string, or a list holding it.
	EnvAdminRoleClaim = "ADMIN_JWT_ROLE_CLAIM"
	EnvAdminRoleValue = "ADMIN_JWT_ROLE_VALUE"
)

// SessionFromEnv reads how session tokens are verified.
func SessionFromEnv() (SessionConfig, error) {
	c := SessionConfig{
		HS256Secret:    os.Getenv(EnvSessionSecret),
		JWKSURL:        os.Getenv(EnvSessionJWKSURL),
		JWKSJSON:       os.Getenv(EnvSessionJWKSJSON),
		Issuer:         os.Getenv(EnvSessionIssuer),
		Audience:       os.Getenv(EnvSessionAudience),
		Leeway:         30 * time.Second,
		SigningSecret:  os.Getenv(EnvSigningSecret),
		AdminRoleClaim: os.Getenv(EnvAdminRoleClaim),
		AdminRoleValue: os.Getenv(EnvAdminRoleValue),
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

// SecretReader reads a deployed secret's value by its ARN (secrets.FromAWS:
// AWS Secrets Manager). Tests pass a fake.
type SecretReader func(ctx context.Context, arn string) (string, error)

// SessionFromEnvAndSecrets is SessionFromEnv at a deployed function's cold
// start: when SESSION_HS256_SECRET_ARN is set, the HS256 secret is read
// through read, once, and SESSION_HS256_SECRET must not be set too. Without
// the ARN it is SessionFromEnv and read is not called. A failed read or an
// empty value is an error (the cold start fails); errors name the ARN,
// never the value.
func SessionFromEnvAndSecrets(ctx context.Context, read SecretReader) (SessionConfig, error) {
	c, err := SessionFromEnv()
	if err != nil {
		return c, err
	}
	if c.SigningSecret, err = SigningSecret(ctx, read); err != nil {
		return c, err
	}
	arn := os.Getenv(EnvSessionSecretARN)
	if arn == "" {
		return c, nil
	}
	if c.HS256Secret != "" {
		return c, fmt.Errorf("auth: set %s or %s, not both", EnvSessionSecretARN, EnvSessionSecret)
	}
	v, err := read(ctx, arn)
	if err != nil {
		return c, fmt.Errorf("auth: session secret from %s: %w", EnvSessionSecretARN, err)
	}
	if v == "" {
		return c, fmt.Errorf("auth: session secret from %s: %s has an empty value", EnvSessionSecretARN, arn)
	}
	c.HS256Secret = v
	return c, nil
}

// SigningSecret is the deployment's signing secret: SIGNING_SECRET, or at a
// deployed function's cold start the value of the secret SIGNING_SECRET_ARN
// names, read once through read (not both). "" when neither is set: signed
// requests are then refused.
func SigningSecret(ctx context.Context, read SecretReader) (string, error) {
	v, arn := os.Getenv(EnvSigningSecret), os.Getenv(EnvSigningSecretARN)
	if arn == "" {
		return v, nil
	}
	if v != "" {
		return "", fmt.Errorf("auth: set %s or %s, not both", EnvSigningSecretARN, EnvSigningSecret)
	}
	if read == nil {
		return "", fmt.Errorf("auth: %s is set but this program reads no deployed secrets", EnvSigningSecretARN)
	}
	v, err := read(ctx, arn)
	if err != nil {
		return "", fmt.Errorf("auth: signing secret from %s: %w", EnvSigningSecretARN, err)
	}
	if v == "" {
		return "", fmt.Errorf("auth: signing secret from %s: %s has an empty value", EnvSigningSecretARN, arn)
	}
	return v, nil
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
	return NewAuthorizer(logger, keys, verifier, time.Now).WithSigning(session.SigningSecret).
		WithAdminRole(session.AdminRoleClaim, session.AdminRoleValue), nil
}
