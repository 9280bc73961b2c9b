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
		{"client key on admin route", client, apikey.RoleAdmin, 403, fault.CodeForbidden, ""},
		{"admin key on client route", admin, apikey.RoleClient, 403, fault.CodeForbidden, ""},
		{"client without user", map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k1"}, apikey.RoleClient, 401, fault.CodeUnauthenticated, ""},
		{"client with control chars", map[string]any{httpapi.CtxRole: "client", httpapi.CtxKeyID: "k1", httpapi.CtxUserID: "a\nb"}, apikey.RoleClient, 401, fault.CodeUnauthenticated, ""},
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

func TestValidUserID(t *testing.T) {
	cases := map[string]bool{
		"user-42": true, "ü日本😀": true, "a b": true,
		strings.Repeat("u", httpapi.MaxUserIDLen):   true,
		strings.Repeat("u", httpapi.MaxUserIDLen+1): false,
		strings.Repeat("日", 86):                     false, // 258 bytes
		"":                                          false, "user\n1": false, "user\t1": false, "user\x001": false, "user\x7f": false,
		"user\u0085": false, "user\xff": false, "\xe6\x97": false,
	}
	for id, want := range cases {
		if got := httpapi.ValidUserID(id); got != want {
			t.Errorf("ValidUserID(%q) = %v, want %v", id, got, want)
		}
	}
}
