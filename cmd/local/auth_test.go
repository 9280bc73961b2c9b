package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/routes"
)

// TestEveryRouteNeedsCredentials hits every route of the gateway without
// credentials, then with credentials of the wrong kind. The one public
// route, the health check, answers without any.
func TestEveryRouteNeedsCredentials(t *testing.T) {
	l := startLocal(t)
	c := api{t: t, base: l.base, creds: l.creds}
	aliceToken := "Bearer " + l.creds.AliceToken
	for _, r := range routes.All {
		path := strings.NewReplacer("{key}", DemoExperiment, "{id}", "aaaaaaaaaaaaaaaa").Replace(r.Path)
		if r.Public {
			if st, body := c.do(r.Method, path, nil, nil); st != http.StatusOK {
				t.Errorf("%s (public) without credentials: %d %v, want 200", r.Key(), st, body)
			}
			continue
		}
		if st, body := c.do(r.Method, path, nil, nil); st != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d %v, want 401", r.Key(), st, body)
		}
		client := strings.HasPrefix(r.Path, "/v1/client/")
		var headers map[string]string
		if client {
			// An admin key never works on a client route, even with a session.
			headers = map[string]string{"X-Api-Key": l.creds.AdminKey, "Authorization": aliceToken}
		} else {
			// A client key (with a session) never works on an admin route.
			headers = map[string]string{"X-Api-Key": l.creds.ClientKey, "Authorization": aliceToken}
		}
		if r.Credential == routes.CredentialAmplitude {
			// A client key in the route's own form is still the wrong kind.
			headers = map[string]string{"Authorization": "Api-Key " + l.creds.ClientKey}
		}
		if r.Credential == routes.CredentialSigned {
			// A client key signing correctly is still the wrong kind, and a
			// forged signature is refused: ABetterChoice's ret_code 101.
			id, _ := apikey.ParseKeyID(l.creds.ClientKey)
			et := strconv.FormatInt(time.Now().Unix(), 10)
			for _, token := range []string{apikey.SigningToken(l.creds.Signing, id), "forged"} {
				st, body := c.do(r.Method, path, map[string]string{"X-Ak": id, "X-Et": et, "X-Es": apikey.Signature(token, id, et)}, nil)
				if (st != http.StatusForbidden && st != http.StatusUnauthorized) || body["ret_code"] != float64(101) {
					t.Errorf("%s signed with a client key's id: %d %v, want 101", r.Key(), st, body)
				}
			}
			continue
		}
		st, body := c.do(r.Method, path, headers, nil)
		if st != http.StatusForbidden || body["error"].(map[string]any)["code"] != "FORBIDDEN" {
			t.Errorf("%s with the wrong role: %d %v, want 403 FORBIDDEN", r.Key(), st, body)
		}
		// A key of the right role but garbage: 401 with the API's body.
		bad := map[string]string{"X-Api-Key": "abk_garbage", "Authorization": aliceToken}
		if r.Credential == routes.CredentialAmplitude {
			bad = map[string]string{"Authorization": "Api-Key abk_garbage"}
		}
		if r.Credential == routes.CredentialAdminToken {
			// The classic API takes tokens only: a garbage one.
			bad = map[string]string{"Authorization": "Bearer garbage"}
		}
		st, body = c.do(r.Method, path, bad, nil)
		if st != http.StatusUnauthorized || body["error"].(map[string]any)["code"] != "UNAUTHENTICATED" {
			t.Errorf("%s with a bad key: %d %v", r.Key(), st, body)
		}
	}
}

func TestAPIKeysAndSessions(t *testing.T) {
	l := startLocal(t)
	c := api{t: t, base: l.base, creds: l.creds}
	exp := "/v1/client/experiments/" + DemoExperiment

	// A new client key works; listed without its secret; revoked, it stops.
	created := c.must(c.admin("POST", "/v1/admin/api-keys", map[string]any{"name": "mobile app", "role": "client"}))(201, "create key")
	key, id := created["key"].(string), created["id"].(string)
	if !strings.HasPrefix(key, "abk_"+id+"_") || created["role"] != "client" {
		t.Fatalf("created %v", created)
	}
	c.must(c.admin("POST", "/v1/admin/api-keys", map[string]any{"name": "x", "role": "root", "extra": 1}))(400, "bad key request")
	dave, _ := auth.MintHS256(testSecret, "dave", time.Hour, time.Now())
	withNewKey := map[string]string{"X-Api-Key": key, "Authorization": "Bearer " + dave}
	c.must(c.do("GET", exp+"/assignment", withNewKey, nil))(200, "new key")
	list := c.must(c.admin("GET", "/v1/admin/api-keys?limit=100", nil))(200, "list keys")
	found := false
	for _, k := range list["api_keys"].([]any) {
		k := k.(map[string]any)
		if _, leaked := k["key"]; leaked {
			t.Fatalf("listing shows a secret: %v", k)
		}
		if k["id"] == id {
			found = true
			if k["last_used_at"] == nil {
				t.Fatalf("last_used_at not recorded: %v", k)
			}
		}
	}
	if !found {
		t.Fatalf("new key not listed: %v", list)
	}
	c.must(c.admin("DELETE", "/v1/admin/api-keys/"+id, nil))(204, "revoke")
	c.must(c.admin("DELETE", "/v1/admin/api-keys/aaaaaaaaaaaaaaaa", nil))(404, "revoke unknown")
	st, body := c.do("GET", exp+"/assignment", withNewKey, nil)
	if st != 401 || body["error"].(map[string]any)["code"] != "UNAUTHENTICATED" {
		t.Fatalf("revoked key: %d %v", st, body)
	}

	// A valid session for alice records alice's exposure, never bob's.
	alice := map[string]string{"X-Api-Key": l.creds.ClientKey, "Authorization": "Bearer " + l.creds.AliceToken}
	c.must(c.do("GET", exp+"/assignment", alice, nil))(200, "alice assigned")
	c.must(c.do("POST", exp+"/exposure", alice, nil))(201, "alice exposed")
	bobOK := map[string]string{"X-Api-Key": l.creds.ClientKey, "Authorization": "Bearer " + l.creds.BobToken}
	c.must(c.do("POST", exp+"/exposure", bobOK, nil))(404, "bob has no assignment")
	// Whatever the caller puts in headers, the user comes from the token.
	spoof := map[string]string{"X-Api-Key": l.creds.ClientKey, "Authorization": "Bearer " + l.creds.BobToken, "X-User-Id": "alice"}
	c.must(c.do("POST", exp+"/exposure", spoof, nil))(404, "spoofed user id")

	// A token signed with another secret, or expired, is refused.
	other, _ := auth.MintHS256(testSecret+"-other", "alice", time.Hour, time.Now())
	expired, _ := auth.MintHS256(testSecret, "alice", time.Minute, time.Now().Add(-time.Hour))
	for _, tok := range []string{other, expired, "x.y.z"} {
		h := map[string]string{"X-Api-Key": l.creds.ClientKey, "Authorization": "Bearer " + tok}
		if st, body := c.do("GET", exp+"/assignment", h, nil); st != 401 {
			t.Fatalf("bad token: %d %v", st, body)
		}
	}
}
