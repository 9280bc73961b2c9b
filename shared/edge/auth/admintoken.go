package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// Admin tokens: a JWT from the deployment's identity provider, verified
// exactly as sessions are (the same secret or JWKS, issuer and audience),
// whose role claim names the admin role. Its subject is then an admin, and
// the audit trail names it. The classic Experiments API takes only these;
// the admin routes take one in place of an admin key.

// Defaults of the admin role claim (SessionConfig.AdminRoleClaim, Value).
const (
	DefaultAdminRoleClaim = "role"
	DefaultAdminRoleValue = "admin"
)

// VerifyAdmin returns the token's subject if the token is valid now, and
// whether its role claim (claim; a dotted path reaches into objects, e.g.
// "realm_access.roles", when no claim has the whole name) is value or a
// list holding it.
func (v *Verifier) VerifyAdmin(token, claim, value string) (string, bool, error) {
	var claims adminClaims
	sub, err := v.verify(token, &claims)
	if err != nil {
		return "", false, err
	}
	return sub, holdsRole(claims.raw, claim, value), nil
}

// adminClaims are a session's claims and every other claim, raw.
type adminClaims struct {
	sessionClaims
	raw map[string]json.RawMessage
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *adminClaims) UnmarshalJSON(b []byte) error {
	if err := c.sessionClaims.UnmarshalJSON(b); err != nil {
		return err
	}
	return json.Unmarshal(b, &c.raw)
}

// holdsRole reports whether claim in raw is value, or a list of strings
// holding it.
func holdsRole(raw map[string]json.RawMessage, claim, value string) bool {
	v, ok := raw[claim]
	if !ok {
		path := strings.Split(claim, ".")
		for i, name := range path {
			if v, ok = raw[name]; !ok {
				return false
			}
			if i < len(path)-1 {
				var inner map[string]json.RawMessage
				if json.Unmarshal(v, &inner) != nil {
					return false
				}
				raw = inner
			}
		}
	}
	var one string
	if json.Unmarshal(v, &one) == nil {
		return one == value
	}
	var many []string
	return json.Unmarshal(v, &many) == nil && slices.Contains(many, value)
}

// adminToken is the authorizer context of a request presenting an admin
// token (Authorization: Bearer); missing says what to present instead.
func (a *Authorizer) adminToken(ctx context.Context, headers map[string]string, missing string) (map[string]any, error) {
	if a.sessions == nil {
		return refuse(fault.CodeUnauthenticated, "this deployment has no token verification configured"), nil
	}
	token, ok := bearer(headers[HeaderAuthorization])
	if !ok {
		return refuse(fault.CodeUnauthenticated, missing), nil
	}
	sub, admin, err := a.sessions.VerifyAdmin(token, a.adminClaim, a.adminValue)
	if err != nil {
		if !errors.Is(err, ErrSession) {
			return nil, fmt.Errorf("authorize: %w", err)
		}
		a.logger.InfoContext(ctx, "admin token refused", "reason", err.Error())
		return refuse(fault.CodeUnauthenticated, "invalid or expired token"), nil
	}
	if !admin {
		a.logger.InfoContext(ctx, "admin token without the admin role", "subject", sub)
		return refuse(fault.CodeForbidden, "this token does not carry the admin role"), nil
	}
	return map[string]any{httpapi.CtxRole: string(apikey.RoleAdmin), httpapi.CtxSubject: sub}, nil
}

// MintAdminHS256 issues an admin token signed with secret whose claim holds
// value (a session token with the admin role): for local development and
// tests, where the service plays the identity provider.
func MintAdminHS256(secret, subject, claim, value string, ttl time.Duration, now time.Time) (string, error) {
	claims := jwt.MapClaims{"sub": subject, "iat": now.Unix(), "exp": now.Add(ttl).Unix(), claim: value}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}
