package auth

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/keys"
)

// signMap signs arbitrary claims (the registered ones valid now) with the
// test secret.
func signMap(t *testing.T, extra map[string]any) string {
	t.Helper()
	c := jwt.MapClaims{"sub": "ops@example.com", "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyAdminRoleClaim(t *testing.T) {
	v := verifier(t, SessionConfig{HS256Secret: secret}, nil)
	cases := []struct {
		name         string
		claims       map[string]any
		claim, value string
		want         bool
	}{
		{"string", map[string]any{"role": "admin"}, "role", "admin", true},
		{"other role", map[string]any{"role": "viewer"}, "role", "admin", false},
		{"no claim", nil, "role", "admin", false},
		{"list holding it", map[string]any{"roles": []string{"viewer", "admin"}}, "roles", "admin", true},
		{"list without it", map[string]any{"roles": []string{"viewer"}}, "roles", "admin", false},
		{"case matters", map[string]any{"role": "Admin"}, "role", "admin", false},
		{"a number is no role", map[string]any{"role": 1}, "role", "1", false},
		{"nested path", map[string]any{"realm_access": map[string]any{"roles": []string{"abtest-admin"}}}, "realm_access.roles", "abtest-admin", true},
		{"nested path, not an object", map[string]any{"realm_access": "abtest-admin"}, "realm_access.roles", "abtest-admin", false},
		{"a dotted name first", map[string]any{"https://example.com/roles": []string{"admin"}}, "https://example.com/roles", "admin", true},
		{"configured claim", map[string]any{"cognito:groups": []string{"admins"}}, "cognito:groups", "admins", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub, admin, err := v.VerifyAdmin(signMap(t, c.claims), c.claim, c.value)
			if err != nil || sub != "ops@example.com" || admin != c.want {
				t.Fatalf("VerifyAdmin = %q, %v, %v; want admin %v", sub, admin, err, c.want)
			}
		})
	}
	// Verified as sessions are: a bad signature is refused before any role.
	bad := sign(t, jwt.SigningMethodHS256, "", []byte("another-secret-another-secret-32"), claims(nil))
	if _, _, err := v.VerifyAdmin(bad, "role", "admin"); err == nil {
		t.Fatal("a token signed with another secret was accepted")
	}
}

// TestAdminToken: the classic API takes only an admin token; admin routes
// take a key exactly as before, or a token in its place; a token without
// the role is 403, a missing or invalid one 401.
func TestAdminToken(t *testing.T) {
	ctx := context.Background()
	fake := &fakeKeys{keys: map[string]*store.APIKey{}}
	adminKey, stored, err := keys.Issue(ctx, fake, "ops", apikey.RoleAdmin, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, _, _ := keys.Issue(ctx, fake, "app", apikey.RoleClient, "test", now)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := NewAuthorizer(quiet, fake, verifier(t, SessionConfig{HS256Secret: secret}, nil), func() time.Time { return now })
	admin := "Bearer " + signMap(t, map[string]any{"role": "admin"})
	user := "Bearer " + signMap(t, nil) // a valid session, no role
	expired := "Bearer " + signMap(t, map[string]any{"role": "admin", "exp": now.Add(-time.Hour).Unix()})
	cases := []struct {
		name    string
		route   routes.Route
		headers map[string]string
		want    map[string]any
	}{
		{"classic, admin token", routes.ClassicList, map[string]string{"authorization": admin}, map[string]any{"role": "admin", "subject": "ops@example.com", "key_id": nil}},
		{"classic, token without the role", routes.ClassicList, map[string]string{"authorization": user}, map[string]any{"error": "FORBIDDEN"}},
		{"classic, expired token", routes.ClassicList, map[string]string{"authorization": expired}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"classic, garbage", routes.ClassicList, map[string]string{"authorization": "Bearer abc"}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"classic, no token", routes.ClassicList, map[string]string{}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"classic, an admin key is no token", routes.ClassicList, map[string]string{"x-api-key": adminKey}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"admin route, key", routes.AdminList, map[string]string{"x-api-key": adminKey}, map[string]any{"role": "admin", "key_id": stored.ID, "subject": nil}},
		{"admin route, key wins over a token", routes.AdminList, map[string]string{"x-api-key": adminKey, "authorization": user}, map[string]any{"role": "admin", "key_id": stored.ID}},
		{"admin route, client key", routes.AdminList, map[string]string{"x-api-key": clientKey}, map[string]any{"error": "FORBIDDEN"}},
		{"admin route, token", routes.AdminList, map[string]string{"authorization": admin}, map[string]any{"role": "admin", "subject": "ops@example.com"}},
		{"admin route, token without the role", routes.AdminList, map[string]string{"authorization": user}, map[string]any{"error": "FORBIDDEN"}},
		{"admin route, nothing", routes.AdminList, map[string]string{}, map[string]any{"error": "UNAUTHENTICATED", "message": "missing X-Api-Key header (or Authorization: Bearer <admin token>)"}},
		{"MCP stays key only", routes.MCP, map[string]string{"authorization": admin}, map[string]any{"error": "UNAUTHENTICATED"}},
		{"a server route takes no token", routes.ServerEvaluate, map[string]string{"authorization": admin}, map[string]any{"error": "UNAUTHENTICATED"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := eventWith(c.headers)
			ev.RouteKey = c.route.Key()
			res, err := a.Handle(ctx, ev)
			if err != nil || !res.IsAuthorized {
				t.Fatalf("Handle: %+v, %v", res, err)
			}
			for k, v := range c.want {
				if res.Context[k] != v {
					t.Fatalf("%s = %v, want %v (context %v)", k, res.Context[k], v, res.Context)
				}
			}
		})
	}
	// The claim and value are the deployment's.
	custom := a.WithAdminRole("groups", "abtest-admins")
	ev := eventWith(map[string]string{"authorization": "Bearer " + signMap(t, map[string]any{"groups": []string{"abtest-admins"}})})
	ev.RouteKey = routes.ClassicGet.Key()
	if res, _ := custom.Handle(ctx, ev); res.Context["role"] != "admin" {
		t.Fatalf("configured claim: %v", res.Context)
	}
	ev.Headers["authorization"] = admin // role=admin no longer counts
	if res, _ := custom.Handle(ctx, ev); res.Context["error"] != "FORBIDDEN" {
		t.Fatalf("default claim under a configured one: %v", res.Context)
	}
	// Without session verification no token is accepted.
	none := NewAuthorizer(quiet, fake, nil, func() time.Time { return now })
	if res, _ := none.Handle(ctx, ev); res.Context["error"] != "UNAUTHENTICATED" {
		t.Fatalf("without verification: %v", res.Context)
	}
}

func TestMintAdminHS256(t *testing.T) {
	tok, err := MintAdminHS256(secret, "ops", "role", "admin", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	sub, admin, err := verifier(t, SessionConfig{HS256Secret: secret}, nil).VerifyAdmin(tok, "role", "admin")
	if err != nil || sub != "ops" || !admin {
		t.Fatalf("VerifyAdmin = %q, %v, %v", sub, admin, err)
	}
}

// TestOneRolePerAuthorizer: routes that share an authorizer, and so API
// Gateway's answer cache (keyed by header values only), need the same role,
// so an answer cached for one route is right for every other.
func TestOneRolePerAuthorizer(t *testing.T) {
	roles := map[string]apikey.Role{}
	for _, r := range routes.All {
		name := r.AuthorizerName()
		if r.Public || !r.Cached() {
			continue // no cache to share
		}
		role := routeRole(r.Key())
		if prev, ok := roles[name]; ok && prev != role {
			t.Errorf("%s (%s) shares %s with routes needing %s", r.Key(), role, name, prev)
		}
		roles[name] = role
	}
}
