package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/usecase/keys"
)

// fakeKeys is a KeyStore in memory.
type fakeKeys struct {
	keys     map[string]*store.APIKey
	getErr   error
	touchErr error
	touched  []string
	reads    int
}

func (f *fakeKeys) GetAPIKey(_ context.Context, id string) (*store.APIKey, error) {
	f.reads++
	if f.getErr != nil {
		return nil, f.getErr
	}
	k, ok := f.keys[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return k, nil
}

func (f *fakeKeys) TouchAPIKey(_ context.Context, id string, _ time.Time, _ time.Duration) error {
	f.touched = append(f.touched, id)
	return f.touchErr
}

func (f *fakeKeys) CreateAPIKey(_ context.Context, k *store.APIKey) error {
	f.keys[k.ID] = k
	return nil
}

func TestIdentify(t *testing.T) {
	ctx := context.Background()
	fake := &fakeKeys{keys: map[string]*store.APIKey{}}
	admin, _, err := keys.Issue(ctx, fake, "ops", apikey.RoleAdmin, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	client, clientKey, _ := keys.Issue(ctx, fake, "app", apikey.RoleClient, "test", now)
	revoked, revokedKey, _ := keys.Issue(ctx, fake, "old", apikey.RoleClient, "test", now)
	revokedKey.RevokedAt = now
	forged := client[:len(client)-4] + "AAAA" // right id, wrong secret
	_, unknownID, _, _ := apikey.NewKey()
	unknown := "abk_" + unknownID + "_" + client[len(client)-32:]

	v := verifier(t, SessionConfig{HS256Secret: secret}, nil)
	a := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, v, func() time.Time { return now })
	tokenA := sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(nil))
	expired := sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) }))
	rtlo := sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.Subject = "user-\u202ea" }))

	cases := []struct {
		name    string
		headers map[string]string
		want    map[string]any
	}{
		{"admin key", map[string]string{"x-api-key": admin}, map[string]any{"role": "admin"}},
		{"client key with session", map[string]string{"x-api-key": client, "authorization": "Bearer " + tokenA}, map[string]any{"role": "client", "user_id": "user-a", "key_id": clientKey.ID}},
		{"bearer scheme any case", map[string]string{"x-api-key": client, "authorization": "bearer " + tokenA}, map[string]any{"user_id": "user-a"}},
		{"no key", map[string]string{"authorization": "Bearer " + tokenA}, map[string]any{"error": "UNAUTHENTICATED", "message": "missing X-Api-Key header"}},
		{"malformed key", map[string]string{"x-api-key": "hello"}, map[string]any{"error": "UNAUTHENTICATED", "message": "invalid or revoked API key"}},
		{"unknown key", map[string]string{"x-api-key": unknown}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"wrong secret", map[string]string{"x-api-key": forged, "authorization": "Bearer " + tokenA}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"revoked key", map[string]string{"x-api-key": revoked, "authorization": "Bearer " + tokenA}, map[string]any{"error": "UNAUTHENTICATED", "message": "invalid or revoked API key"}},
		{"client key without session", map[string]string{"x-api-key": client}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"client key, Basic auth", map[string]string{"x-api-key": client, "authorization": "Basic dXNlcjpwYXNz"}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"client key, expired session", map[string]string{"x-api-key": client, "authorization": "Bearer " + expired}, map[string]any{"error": "UNAUTHENTICATED", "message": "invalid or expired session token"}},
		{"client key, subject with a format character", map[string]string{"x-api-key": client, "authorization": "Bearer " + rtlo}, map[string]any{"error": "UNAUTHENTICATED", "message": "session subject is not a usable user id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := a.Identify(ctx, c.headers)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Fatalf("%s = %v, want %v (context %v)", k, got[k], v, got)
				}
			}
			if _, refused := got["error"]; refused && (got["role"] != nil || got["user_id"] != nil) {
				t.Fatalf("a refusal carries an identity: %v", got)
			}
		})
	}

	// Through Handle: always "authorized", the refusal travels in the context.
	res, err := a.Handle(ctx, eventWith(map[string]string{"x-api-key": "nope"}))
	if err != nil || !res.IsAuthorized || res.Context["error"] != "UNAUTHENTICATED" {
		t.Fatalf("Handle: %+v %v", res, err)
	}
	// A failed last-used write never refuses the caller.
	fake.touchErr = errors.New("throttled")
	if got, _ := a.Identify(ctx, map[string]string{"x-api-key": admin}); got["role"] != "admin" {
		t.Fatalf("touch failure refused the caller: %v", got)
	}
	// A failure to read keys is an error (API Gateway: 500, not cached);
	// a new instance, whose key cache is empty, must read.
	fake.getErr = errors.New("dynamodb down")
	cold := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, v, func() time.Time { return now })
	if _, err := cold.Handle(ctx, eventWith(map[string]string{"x-api-key": admin})); err == nil {
		t.Fatal("key store failure did not surface as an error")
	}
}

func TestKeyFormat(t *testing.T) {
	key, id, hash, err := apikey.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := apikey.ParseKeyID(key); !ok || got != id {
		t.Fatalf("apikey.ParseKeyID(%q) = %q %v, want %q", key, got, ok, id)
	}
	if !apikey.Matches(key, hash) || apikey.Matches(key+"x", hash) || len(hash) != 64 {
		t.Fatal("hash")
	}
	other, _, _, _ := apikey.NewKey()
	if other == key {
		t.Fatal("two keys are equal")
	}
	for _, bad := range []string{"", "abk_", "abk_" + id, "abk_" + id + "_short", "xyz_" + key[4:], "abk_UPPERCASEUPPERCA_" + key[len(key)-32:]} {
		if _, ok := apikey.ParseKeyID(bad); ok {
			t.Errorf("ParseKeyID accepted %q", bad)
		}
	}
}

func eventWith(headers map[string]string) events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{Headers: headers}
}

// TestHandleDecidesRoleByRoute: the authorizer compares the key's role with
// the route's before it asks for a session, so a client key on an admin
// route is 403 FORBIDDEN as the API promises, not 401 "missing session
// token". Bad keys stay 401 on every route; a route of neither kind (or a
// request without route key) gets the route-blind answer of Identify.
func TestHandleDecidesRoleByRoute(t *testing.T) {
	ctx := context.Background()
	fake := &fakeKeys{keys: map[string]*store.APIKey{}}
	admin, adminKey, _ := keys.Issue(ctx, fake, "ops", apikey.RoleAdmin, "test", now)
	client, clientKey, _ := keys.Issue(ctx, fake, "app", apikey.RoleClient, "test", now)
	server, serverKey, _ := keys.Issue(ctx, fake, "backend", apikey.RoleServer, "test", now)
	session := "Bearer " + sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(nil))
	withSessions := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, verifier(t, SessionConfig{HS256Secret: secret}, nil), func() time.Time { return now })
	noSessions := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, nil, func() time.Time { return now })

	const (
		adminRoute  = "GET /v1/admin/experiments"
		adminDeep   = "POST /v1/admin/experiments/{key}/start"
		keysRoute   = "DELETE /v1/admin/api-keys/{id}"
		clientRoute = "GET /v1/client/experiments/{key}/assignment"
		eventsRoute = "POST /v1/client/events"
		serverRoute = "POST /v1/server/evaluate"
	)
	needServer := map[string]any{"error": "FORBIDDEN", "message": "this route needs a server key"}
	asServer := map[string]any{"role": "server", "key_id": serverKey.ID}
	needAdmin := map[string]any{"error": "FORBIDDEN", "message": "this route needs an admin key"}
	needClient := map[string]any{"error": "FORBIDDEN", "message": "this route needs a client key"}
	badKey := map[string]any{"error": "UNAUTHENTICATED", "message": "invalid or revoked API key"}
	asAdmin := map[string]any{"role": "admin", "key_id": adminKey.ID}
	asClient := map[string]any{"role": "client", "key_id": clientKey.ID, "user_id": "user-a"}
	cases := []struct {
		name     string
		a        *Authorizer
		route    string
		inCtx    bool // the route key only in requestContext.routeKey
		key, tok string
		want     map[string]any
	}{
		{"client key alone on an admin route", withSessions, adminRoute, false, client, "", needAdmin},
		{"client key alone on a deep admin route", withSessions, adminDeep, false, client, "", needAdmin},
		{"client key alone on the keys route", withSessions, keysRoute, false, client, "", needAdmin},
		{"client key with session on an admin route", withSessions, adminRoute, false, client, session, needAdmin},
		{"client key with a bad session on an admin route", withSessions, adminRoute, false, client, "Bearer x", needAdmin},
		{"client key on an admin route, no session verification", noSessions, adminRoute, false, client, "", needAdmin},
		{"client key on an admin route, route key in the context", withSessions, adminRoute, true, client, "", needAdmin},
		{"admin key on a client route", withSessions, clientRoute, false, admin, session, needClient},
		{"admin key on the events route", withSessions, eventsRoute, false, admin, "", needClient},
		{"admin key on an admin route", withSessions, adminRoute, false, admin, "", asAdmin},
		{"server key on a server route, no session", withSessions, serverRoute, false, server, "", asServer},
		{"server key on a server route, no session verification", noSessions, serverRoute, false, server, "", asServer},
		{"server key on a client route", withSessions, clientRoute, false, server, session, needClient},
		{"server key on an admin route", withSessions, adminRoute, false, server, "", needAdmin},
		{"client key with session on a server route", withSessions, serverRoute, false, client, session, needServer},
		{"admin key on a server route", withSessions, serverRoute, false, admin, "", needServer},
		{"admin key on an admin route, route key in the context", withSessions, adminDeep, true, admin, "", asAdmin},
		{"client key with session on a client route", withSessions, clientRoute, false, client, session, asClient},
		{"client key without session on a client route", withSessions, clientRoute, false, client, "", map[string]any{"error": "UNAUTHENTICATED"}},
		{"bad key on an admin route", withSessions, adminRoute, false, client[:len(client)-4] + "AAAA", "", badKey},
		{"bad key on a client route", withSessions, clientRoute, false, "abk_nope", session, badKey},
		{"no key on an admin route", withSessions, adminRoute, false, "", "", map[string]any{"error": "UNAUTHENTICATED", "message": "missing X-Api-Key header (or Authorization: Bearer <admin token>)"}},
		{"admin path without its slash is no admin route", withSessions, "GET /v1/adminx", false, client, session, asClient},
		{"unknown route, client key", withSessions, "GET /health", false, client, session, asClient},
		{"unknown route, admin key", withSessions, "$default", false, admin, "", asAdmin},
		{"no route key, client key alone", withSessions, "", false, client, "", map[string]any{"error": "UNAUTHENTICATED", "message": "missing session token (Authorization: Bearer <token>)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := eventWith(map[string]string{"x-api-key": c.key, "authorization": c.tok})
			if c.inCtx {
				ev.RequestContext.RouteKey = c.route
			} else {
				ev.RouteKey = c.route
			}
			res, err := c.a.Handle(ctx, ev)
			if err != nil || !res.IsAuthorized {
				t.Fatalf("Handle: %+v %v", res, err)
			}
			for k, v := range c.want {
				if res.Context[k] != v {
					t.Fatalf("%s = %v, want %v (context %v)", k, res.Context[k], v, res.Context)
				}
			}
			if _, refused := res.Context["error"]; refused && len(res.Context) != 2 {
				t.Fatalf("a refusal carries more than error and message: %v", res.Context)
			}
		})
	}
}

// TestAmplitudeCredential: GET /v1/vardata takes a server key as
// "Authorization: Api-Key <key>" (Amplitude's form) and nothing else; other
// routes never read a key from Authorization.
func TestAmplitudeCredential(t *testing.T) {
	ctx := context.Background()
	fake := &fakeKeys{keys: map[string]*store.APIKey{}}
	server, serverKey, _ := keys.Issue(ctx, fake, "backend", apikey.RoleServer, "test", now)
	client, _, _ := keys.Issue(ctx, fake, "app", apikey.RoleClient, "test", now)
	a := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, verifier(t, SessionConfig{HS256Secret: secret}, nil), func() time.Time { return now })
	missing := map[string]any{"error": "UNAUTHENTICATED", "message": "missing Authorization: Api-Key <server key> header"}
	cases := []struct {
		name    string
		route   string
		headers map[string]string
		want    map[string]any
	}{
		{"server key as Api-Key", "GET /v1/vardata", map[string]string{"authorization": "Api-Key " + server}, map[string]any{"role": "server", "key_id": serverKey.ID}},
		{"scheme in any case", "GET /v1/vardata", map[string]string{"authorization": "api-key  " + server}, map[string]any{"role": "server"}},
		{"X-Api-Key is not this route's form", "GET /v1/vardata", map[string]string{"x-api-key": server}, missing},
		{"bearer is not Api-Key", "GET /v1/vardata", map[string]string{"authorization": "Bearer " + server}, missing},
		{"empty key", "GET /v1/vardata", map[string]string{"authorization": "Api-Key "}, missing},
		{"forged key", "GET /v1/vardata", map[string]string{"authorization": "Api-Key " + server[:len(server)-4] + "AAAA"}, map[string]any{"error": "UNAUTHENTICATED", "message": "invalid or revoked API key"}},
		{"client key", "GET /v1/vardata", map[string]string{"authorization": "Api-Key " + client}, map[string]any{"error": "FORBIDDEN", "message": "this route needs a server key"}},
		{"Api-Key on a server route", "POST /v1/server/evaluate", map[string]string{"authorization": "Api-Key " + server}, map[string]any{"error": "UNAUTHENTICATED", "message": "missing X-Api-Key header"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := eventWith(c.headers)
			ev.RouteKey = c.route
			res, err := a.Handle(ctx, ev)
			if err != nil || !res.IsAuthorized {
				t.Fatalf("Handle: %+v %v", res, err)
			}
			for k, v := range c.want {
				if res.Context[k] != v {
					t.Fatalf("%s = %v, want %v (context %v)", k, res.Context[k], v, res.Context)
				}
			}
		})
	}
}

// TestSignedCredential: the ABetterChoice routes take X-Ak (a server key's
// id), X-Et and X-Es = md5(token + ak + et), the token derived from the key
// id under the deployment's signing secret; a time more than 5 minutes
// off, a wrong signature, an unknown or revoked key, or no signing secret
// configured are refused.
func TestSignedCredential(t *testing.T) {
	ctx := context.Background()
	fake := &fakeKeys{keys: map[string]*store.APIKey{}}
	_, serverKey, _ := keys.Issue(ctx, fake, "backend", apikey.RoleServer, "test", now)
	_, clientKey, _ := keys.Issue(ctx, fake, "app", apikey.RoleClient, "test", now)
	_, revoked, _ := keys.Issue(ctx, fake, "old", apikey.RoleServer, "test", now)
	revoked.RevokedAt = now
	const signing = "deployment-signing-secret"
	a := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, nil, func() time.Time { return now }).WithSigning(signing)
	unsigned := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, nil, func() time.Time { return now })
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	signed := func(secret, ak, et string) map[string]string {
		return map[string]string{"x-ak": ak, "x-et": et, "x-es": apikey.Signature(apikey.SigningToken(secret, ak), ak, et)}
	}
	badSig := map[string]any{"error": "UNAUTHENTICATED", "message": "invalid signature or key"}
	badTime := map[string]any{"error": "UNAUTHENTICATED", "message": "X-Et must be unix seconds within 5 minutes of the server's time"}
	cases := []struct {
		name    string
		a       *Authorizer
		headers map[string]string
		want    map[string]any
	}{
		{"signed now", a, signed(signing, serverKey.ID, at(0)), map[string]any{"role": "server", "key_id": serverKey.ID}},
		{"4 minutes late", a, signed(signing, serverKey.ID, at(-4*time.Minute)), map[string]any{"role": "server"}},
		{"4 minutes early", a, signed(signing, serverKey.ID, at(4*time.Minute)), map[string]any{"role": "server"}},
		{"6 minutes late", a, signed(signing, serverKey.ID, at(-6*time.Minute)), badTime},
		{"6 minutes early", a, signed(signing, serverKey.ID, at(6*time.Minute)), badTime},
		{"not a number", a, signed(signing, serverKey.ID, "soon"), badTime},
		{"another deployment's token", a, signed("other", serverKey.ID, at(0)), badSig},
		{"unknown key", a, signed(signing, "AAAAAAAAAAAAAAAA", at(0)), badSig},
		{"revoked key", a, signed(signing, revoked.ID, at(0)), badSig},
		{"client key", a, signed(signing, clientKey.ID, at(0)), map[string]any{"error": "FORBIDDEN", "message": "this route needs a server key"}},
		{"no signature", a, map[string]string{"x-ak": serverKey.ID, "x-et": at(0)}, map[string]any{"error": "UNAUTHENTICATED", "message": "missing X-Ak, X-Et or X-Es header"}},
		{"no signing secret", unsigned, signed("", serverKey.ID, at(0)), map[string]any{"error": "UNAUTHENTICATED", "message": "this deployment has no signing secret configured"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := eventWith(c.headers)
			ev.RouteKey = "POST /abc/get_experiments"
			res, err := c.a.Handle(ctx, ev)
			if err != nil || !res.IsAuthorized {
				t.Fatalf("Handle: %+v %v", res, err)
			}
			for k, v := range c.want {
				if res.Context[k] != v {
					t.Fatalf("%s = %v, want %v (context %v)", k, res.Context[k], v, res.Context)
				}
			}
		})
	}
}
