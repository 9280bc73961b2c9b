package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// withContext builds a request carrying an authorizer context.
func withContext(lambda map[string]any) httpapi.Request {
	req := httpapi.Request{}
	if lambda != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambda}
	}
	return req
}

func adminRequest() httpapi.Request {
	return withContext(map[string]any{httpapi.CtxRole: "admin", httpapi.CtxKeyID: "k1"})
}

func TestAuthorize(t *testing.T) {
	client := map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k1", httpapi.CtxUserID: "ü日本😀"}
	admin := map[string]any{httpapi.CtxRole: "admin", httpapi.CtxKeyID: "k2"}
	cases := []struct {
		name   string
		ctx    map[string]any
		role   apikey.Role
		status int
		code   string
		msg    string
	}{
		{"client on client route", client, apikey.RoleClient, 0, "", ""},
		{"admin on admin route", admin, apikey.RoleAdmin, 0, "", ""},
		{"no authorizer context", nil, apikey.RoleClient, 401, fault.CodeUnauthenticated, "missing credentials"},
		{"refusal passes its message", map[string]any{httpapi.CtxError: "UNAUTHENTICATED", httpapi.CtxMessage: "missing X-Api-Key header"}, apikey.RoleAdmin, 401, fault.CodeUnauthenticated, "missing X-Api-Key header"},
		{"forbidden refusal", map[string]any{httpapi.CtxError: "FORBIDDEN", httpapi.CtxMessage: "no"}, apikey.RoleAdmin, 403, fault.CodeForbidden, "no"},
		{"client key on admin route", client, apikey.RoleAdmin, 403, fault.CodeForbidden, "this route needs an admin key"},
		{"admin key on client route", admin, apikey.RoleClient, 403, fault.CodeForbidden, "this route needs a client key"},
		{"client without user", map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k1"}, apikey.RoleClient, 401, fault.CodeUnauthenticated, ""},
		{"client with control chars", map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k1", httpapi.CtxUserID: "a\nb"}, apikey.RoleClient, 401, fault.CodeUnauthenticated, ""},
		{"client with a format char", map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k1", httpapi.CtxUserID: "a\u202eb"}, apikey.RoleClient, 401, fault.CodeUnauthenticated, ""},
		{"no key id", map[string]any{httpapi.CtxRole: "admin"}, apikey.RoleAdmin, 401, fault.CodeUnauthenticated, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := httpapi.Authorize(withContext(tc.ctx), tc.role)
			if tc.status == 0 {
				if err != nil || c.Role != tc.role || c.KeyID == "" {
					t.Fatalf("Authorize = %+v, %v", c, err)
				}
				return
			}
			e := asAPIError(t, err, tc.status, tc.code)
			if tc.msg != "" && e.Message != tc.msg {
				t.Fatalf("message %q, want %q", e.Message, tc.msg)
			}
		})
	}
}

// TestEndpointChecksCallerFirst: the route's logic never runs for a caller
// of the wrong role.
func TestEndpointChecksCallerFirst(t *testing.T) {
	logger, _ := bufLogger()
	ran := false
	h := httpapi.Endpoint(logger, "X_FAILED", apikey.RoleAdmin, func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
		ran = true
		return httpapi.OK(nil), nil
	})
	resp, _ := h(context.Background(), withContext(map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k", httpapi.CtxUserID: "u"}))
	if resp.StatusCode != http.StatusForbidden || ran {
		t.Fatalf("status %d, ran=%v", resp.StatusCode, ran)
	}
}

// TestValidUserID: 1-256 bytes of valid UTF-8 without control (Cc) or
// format (Cf) characters; format characters are invisible (U+200B) or
// reorder what is shown (U+202E), so two ids that look alike could differ.
func TestValidUserID(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"user-42", true}, {"ü日本😀", true}, {"a b", true}, {"u", true}, {"\u00a0nbsp", true}, {"\ufffd", true},
		{"e\u0301", true}, // a combining mark (Mn) is visible: allowed
		{strings.Repeat("u", httpapi.MaxUserIDLen), true},
		{strings.Repeat("日", 85) + "u", true}, // 256 bytes
		{strings.Repeat("u", httpapi.MaxUserIDLen+1), false},
		{strings.Repeat("日", 86), false}, // 258 bytes
		{"", false},
		// Cc: C0, DEL, C1.
		{"user\n1", false}, {"user\t1", false}, {"user\x001", false}, {"\x00", false}, {"user\x7f", false}, {"user\u0085", false}, {"user\u009f", false},
		// Not UTF-8.
		{"user\xff", false}, {"\xe6\x97", false}, {"\xed\xa0\x80", false}, // the last: an encoded surrogate
		// Cf: format characters.
		{"user\u202e1", false},    // RIGHT-TO-LEFT OVERRIDE
		{"user\u200b1", false},    // ZERO WIDTH SPACE
		{"\ufeffuser", false},     // BYTE ORDER MARK
		{"user\u00ad", false},     // SOFT HYPHEN
		{"user\u200d1", false},    // ZERO WIDTH JOINER
		{"user\u2066", false},     // LEFT-TO-RIGHT ISOLATE
		{"user\u061c", false},     // ARABIC LETTER MARK
		{"user\U000e0001", false}, // LANGUAGE TAG
	}
	for _, c := range cases {
		if got := httpapi.ValidUserID(c.id); got != c.want {
			t.Errorf("ValidUserID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}

// TestAuthorizeAdminToken: an admin token's subject stands in for a key on
// admin routes only, and the audit trail names it.
func TestAuthorizeAdminToken(t *testing.T) {
	token := map[string]any{httpapi.CtxRole: "admin", httpapi.CtxSubject: "ops@example.com"}
	c, err := httpapi.Authorize(withContext(token), apikey.RoleAdmin)
	if err != nil || c.Subject != "ops@example.com" || c.KeyID != "" || c.Actor() != "ops@example.com" {
		t.Fatalf("Authorize = %+v, %v", c, err)
	}
	key := map[string]any{httpapi.CtxRole: "admin", httpapi.CtxKeyID: "k1"}
	if c, _ := httpapi.Authorize(withContext(key), apikey.RoleAdmin); c.Actor() != "k1" {
		t.Fatalf("key actor %q", c.Actor())
	}
	for _, ctx := range []map[string]any{
		{httpapi.CtxRole: "client", httpapi.CtxSubject: "u", httpapi.CtxUserID: "u"},
		{httpapi.CtxRole: "admin", httpapi.CtxSubject: "a\nb"},
		{httpapi.CtxRole: "admin"},
	} {
		role := apikey.Role(ctx[httpapi.CtxRole].(string))
		asAPIError(t, func() error { _, err := httpapi.Authorize(withContext(ctx), role); return err }(), 401, fault.CodeUnauthenticated)
	}
}
