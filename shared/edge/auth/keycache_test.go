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
	"github.com/abtest/abtest/shared/usecase/keys"
)

// TestKeyCache: new sessions on a key read it once per KeyCacheTTL; a
// revocation is seen at the next read, at most KeyCacheTTL later; a key
// created after an unknown id was tried works at once; the last-used
// write stays at most once per TouchInterval.
func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	fake := &fakeKeys{keys: map[string]*store.APIKey{}}
	client, clientKey, err := keys.Issue(ctx, fake, "app", apikey.RoleClient, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	a := NewAuthorizer(slog.New(slog.NewTextHandler(io.Discard, nil)), fake, verifier(t, SessionConfig{HS256Secret: secret}, nil), func() time.Time { return clock })
	session := func(user string) map[string]string {
		tok := sign(t, jwt.SigningMethodHS256, "", []byte(secret), claims(func(c *jwt.RegisteredClaims) { c.Subject = user }))
		return map[string]string{"x-api-key": client, "authorization": "Bearer " + tok}
	}
	identify := func(user string) map[string]any {
		t.Helper()
		got, err := a.Identify(ctx, session(user))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for i, user := range []string{"u1", "u2", "u3"} {
		if got := identify(user); got["user_id"] != user {
			t.Fatalf("call %d: %v", i, got)
		}
	}
	if fake.reads != 1 || len(fake.touched) != 1 {
		t.Fatalf("three sessions read the key %d times and touched it %d times, want 1 and 1", fake.reads, len(fake.touched))
	}

	// Revoked: still served from memory within the TTL, refused after.
	fake.keys[clientKey.ID].RevokedAt = clock
	clock = clock.Add(KeyCacheTTL - time.Second)
	if got := identify("u4"); got["user_id"] != "u4" {
		t.Fatalf("within the TTL: %v", got)
	}
	clock = clock.Add(2 * time.Second)
	if got := identify("u5"); got["error"] != "UNAUTHENTICATED" {
		t.Fatalf("after the TTL a revoked key was accepted: %v", got)
	}
	if fake.reads != 2 {
		t.Fatalf("reads %d, want 2", fake.reads)
	}
	if len(fake.touched) != 1 {
		t.Fatalf("touched %d times within a minute", len(fake.touched))
	}

	// An unknown id is read every time, so a key issued now works now.
	_, unknownID, _, _ := apikey.NewKey()
	unknown := "abk_" + unknownID + "_" + client[len(client)-32:]
	for range 2 {
		if got, _ := a.Identify(ctx, map[string]string{"x-api-key": unknown}); got["error"] != "UNAUTHENTICATED" {
			t.Fatalf("unknown key: %v", got)
		}
	}
	if fake.reads != 4 {
		t.Fatalf("reads %d, want 4 (unknown ids are not cached)", fake.reads)
	}
	admin, _, _ := keys.Issue(ctx, fake, "ops", apikey.RoleAdmin, "test", clock)
	if got, _ := a.Identify(ctx, map[string]string{"x-api-key": admin}); got["role"] != "admin" {
		t.Fatalf("a new key: %v", got)
	}
}
