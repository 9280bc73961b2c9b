// Package auth decides who is calling: API keys (client, server or admin role) and,
// for client calls, the end user's session token (a JWT from the app's own
// identity provider). The Lambda authorizer runs it on AWS; the local
// gateway runs the same code before each handler.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

// Headers the authorizer reads (lower-case, as API Gateway passes them).
const (
	HeaderAPIKey        = "x-api-key"
	HeaderAuthorization = "authorization"
	// A signed request's headers (routes.CredentialSigned).
	HeaderSignedKey  = "x-ak"
	HeaderSignedTime = "x-et"
	HeaderSignature  = "x-es"
)

// TouchInterval is how often a key's last-used time is written at most.
const TouchInterval = time.Minute

// KeyStore is what the authorizer needs from the data layer.
type KeyStore interface {
	GetAPIKey(ctx context.Context, id string) (*store.APIKey, error)
	TouchAPIKey(ctx context.Context, id string, at time.Time, interval time.Duration) error
}

// Authorizer is the Lambda authorizer (HTTP API, payload 2.0, simple
// responses).
//
// It always answers isAuthorized=true and puts either the caller or the
// reason for refusal in the context; the handler's httpapi.Endpoint then
// answers 401 UNAUTHENTICATED or 403 FORBIDDEN with the API's error body.
// API Gateway's own refusals cannot carry that body, and every route checks
// its caller in httpapi.Endpoint before anything else, so nothing runs for a
// refused caller. A failure to read keys is returned as an error instead:
// API Gateway then answers 500 and, unlike a refusal, does not cache it.
type Authorizer struct {
	keys     KeyStore
	cache    *keyCache
	sessions *Verifier
	signing  string // the deployment's signing secret ("": none)
	// The admin token's role claim and the value naming the admin role.
	adminClaim, adminValue string
	logger                 *slog.Logger
	now                    func() time.Time
}

// NewAuthorizer returns an authorizer; sessions verifies client sessions
// (nil: none configured, so only admin keys are accepted).
func NewAuthorizer(logger *slog.Logger, keys KeyStore, sessions *Verifier, now func() time.Time) *Authorizer {
	return &Authorizer{keys: keys, cache: newKeyCache(KeyCacheTTL), sessions: sessions, logger: logger, now: now,
		adminClaim: DefaultAdminRoleClaim, adminValue: DefaultAdminRoleValue}
}

// WithAdminRole returns a copy of a that takes a token as an admin's when
// its claim is value or a list holding it ("" keeps the default).
func (a *Authorizer) WithAdminRole(claim, value string) *Authorizer {
	c := *a
	if claim != "" {
		c.adminClaim = claim
	}
	if value != "" {
		c.adminValue = value
	}
	return &c
}

// WithSigning returns a copy of a that verifies signed requests with the
// deployment's signing secret ("": refuses them).
func (a *Authorizer) WithSigning(secret string) *Authorizer {
	c := *a
	c.signing = secret
	return &c
}

// Handle is the Lambda entry point. It decides the key's role against the
// route's (from the route key) before it asks for a session: a
// valid key of the other role is refused with FORBIDDEN.
func (a *Authorizer) Handle(ctx context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	routeKey := req.RouteKey
	if routeKey == "" {
		routeKey = req.RequestContext.RouteKey
	}
	rt, _ := routes.ByKey(routeKey)
	var id map[string]any
	var err error
	switch {
	case rt.Credential == routes.CredentialAdminToken:
		id, err = a.adminToken(ctx, req.Headers, "missing Authorization: Bearer <admin token> header")
	case rt.AcceptsAdminToken() && req.Headers[HeaderAPIKey] == "":
		// An admin route without a key: an admin token instead. A key,
		// when sent, is read exactly as before.
		id, err = a.adminToken(ctx, req.Headers, "missing X-Api-Key header (or Authorization: Bearer <admin token>)")
	default:
		id, err = a.identify(ctx, routeRole(routeKey), rt.Credential, req.Headers)
	}
	if err != nil {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, err
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: id}, nil
}

// routeRole is the role a route needs, from its API Gateway route key
// ("GET /v1/admin/experiments"): admin under /v1/admin/ and for the MCP
// server (/mcp), client under /v1/client/, server under /v1/server/ and on
// the vendors' drop-in routes (a backend calls them, naming the unit), none
// ("") otherwise.
func routeRole(routeKey string) apikey.Role {
	_, path, _ := strings.Cut(routeKey, " ")
	if rt, ok := routes.ByKey(routeKey); ok && rt.Credential == routes.CredentialAdminToken {
		return apikey.RoleAdmin
	} else if ok && rt.Credential != routes.CredentialAPIKey {
		return apikey.RoleServer
	}
	switch {
	case strings.HasPrefix(path, "/v1/admin/") || path == "/mcp":
		return apikey.RoleAdmin
	case strings.HasPrefix(path, "/v1/client/"):
		return apikey.RoleClient
	case strings.HasPrefix(path, "/v1/server/"):
		return apikey.RoleServer
	}
	return ""
}

// Identify turns a request's credential headers into the authorizer
// context: role, key id and user id, or error and message. It does not know
// the route, so it never refuses a key for its role (Handle does; the
// handler's httpapi.Authorize checks the role in any case).
func (a *Authorizer) Identify(ctx context.Context, headers map[string]string) (map[string]any, error) {
	return a.identify(ctx, "", routes.CredentialAPIKey, headers)
}

// identify is Identify for a route that needs role need ("": any) and
// takes its key as cred says.
func (a *Authorizer) identify(ctx context.Context, need apikey.Role, cred routes.Credential, headers map[string]string) (map[string]any, error) {
	var key *store.APIKey
	var why string
	var err error
	if cred == routes.CredentialSigned {
		key, why, err = a.signedKey(ctx, headers)
	} else {
		key, why, err = a.presentedKey(ctx, cred, headers)
	}
	if err != nil {
		return nil, err
	}
	if key == nil {
		return refuse(fault.CodeUnauthenticated, why), nil
	}
	// The key just read says when it was last recorded: write only when that
	// is over a minute old (the write's condition settles races).
	if now := a.now().UTC(); now.Sub(key.LastUsedAt) >= TouchInterval {
		if err := a.keys.TouchAPIKey(ctx, key.ID, now, TouchInterval); err != nil {
			// Last-used is bookkeeping: never refuse a caller over it.
			a.logger.WarnContext(ctx, "touch API key", "key_id", key.ID, "error", err.Error())
		} else {
			a.cache.touched(key.ID, now)
		}
	}
	if need != "" && apikey.Role(key.Role) != need {
		// Before any session check: a client key alone on an admin route
		// is a wrong key (403), not a missing session (401).
		return refuse(fault.CodeForbidden, httpapi.WrongRoleMessage(need)), nil
	}
	out := map[string]any{httpapi.CtxRole: key.Role, httpapi.CtxKeyID: key.ID}
	if apikey.Role(key.Role) != apikey.RoleClient {
		return out, nil
	}
	if a.sessions == nil {
		return refuse(fault.CodeUnauthenticated, "this deployment has no session verification configured"), nil
	}
	token, ok := bearer(headers[HeaderAuthorization])
	if !ok {
		return refuse(fault.CodeUnauthenticated, "missing session token (Authorization: Bearer <token>)"), nil
	}
	sub, err := a.sessions.Verify(token)
	if err != nil {
		if !errors.Is(err, ErrSession) {
			return nil, fmt.Errorf("authorize: %w", err)
		}
		// Why verification failed stays in the log.
		a.logger.InfoContext(ctx, "session refused", "key_id", key.ID, "reason", err.Error())
		if errors.Is(err, errSubject) {
			return refuse(fault.CodeUnauthenticated, "session subject is not a usable user id"), nil
		}
		return refuse(fault.CodeUnauthenticated, "invalid or expired session token"), nil
	}
	if !httpapi.ValidUserID(sub) { // Verify checks it; kept as the last gate
		return refuse(fault.CodeUnauthenticated, "session subject is not a usable user id"), nil
	}
	out[httpapi.CtxUserID] = sub
	return out, nil
}

// invalidKey is the refusal of a key that does not exist, is revoked, or
// does not match: which of these stays unsaid.
const invalidKey = "invalid or revoked API key"

// presentedKey is the stored key of the API key the request presents (nil
// and why not).
func (a *Authorizer) presentedKey(ctx context.Context, cred routes.Credential, headers map[string]string) (*store.APIKey, string, error) {
	raw, missing := rawKey(cred, headers)
	if raw == "" {
		return nil, missing, nil
	}
	id, ok := apikey.ParseKeyID(raw)
	if !ok {
		return nil, invalidKey, nil
	}
	key, err := a.storedKey(ctx, id)
	if key == nil || err != nil || !apikey.Matches(raw, key.Hash) {
		return nil, invalidKey, err
	}
	return key, "", nil
}

// signedKey is the stored key of a signed request (ABetterChoice's scheme:
// X-Ak the key id, X-Et unix seconds, X-Es the signature), nil and why not.
// Replays within the window are refused by the handler, which may write.
func (a *Authorizer) signedKey(ctx context.Context, headers map[string]string) (*store.APIKey, string, error) {
	if a.signing == "" {
		return nil, "this deployment has no signing secret configured", nil
	}
	ak, et, sig := headers[HeaderSignedKey], headers[HeaderSignedTime], headers[HeaderSignature]
	if ak == "" || et == "" || sig == "" {
		return nil, "missing X-Ak, X-Et or X-Es header", nil
	}
	if _, ok := apikey.SignedAt(et, a.now()); !ok {
		return nil, "X-Et must be unix seconds within 5 minutes of the server's time", nil
	}
	if !apikey.ValidKeyID(ak) || !apikey.SignatureMatches(a.signing, ak, et, sig) {
		return nil, "invalid signature or key", nil
	}
	key, err := a.storedKey(ctx, ak)
	if key == nil || err != nil {
		return nil, "invalid signature or key", err
	}
	return key, "", nil
}

// storedKey reads key id through the cache: nil for a key that does not
// exist or is revoked.
func (a *Authorizer) storedKey(ctx context.Context, id string) (*store.APIKey, error) {
	key, err := a.cache.get(ctx, a.keys, id, a.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	if key.Revoked() {
		return nil, nil
	}
	return key, nil
}

// rawKey is the API key as the route takes it, or "" and why not.
func rawKey(cred routes.Credential, headers map[string]string) (string, string) {
	if cred == routes.CredentialAmplitude {
		scheme, key, ok := strings.Cut(strings.TrimSpace(headers[HeaderAuthorization]), " ")
		if key = strings.TrimSpace(key); !ok || !strings.EqualFold(scheme, "api-key") || key == "" {
			return "", "missing Authorization: Api-Key <server key> header"
		}
		return key, ""
	}
	return headers[HeaderAPIKey], "missing X-Api-Key header"
}

func refuse(code, message string) map[string]any {
	return map[string]any{httpapi.CtxError: code, httpapi.CtxMessage: message}
}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
