package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/httpapi"
)

func TestEndUser(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		want    string
		ok      bool
	}{
		{"ascii", map[string]string{httpapi.UserHeader: "user-42"}, "user-42", true},
		{"non-ascii", map[string]string{httpapi.UserHeader: "ü日本😀"}, "ü日本😀", true},
		{"inner space", map[string]string{httpapi.UserHeader: "a b"}, "a b", true},
		{"max bytes", map[string]string{httpapi.UserHeader: strings.Repeat("u", httpapi.MaxUserIDLen)}, strings.Repeat("u", httpapi.MaxUserIDLen), true},
		{"max bytes multibyte", map[string]string{httpapi.UserHeader: strings.Repeat("日", 85) + "a"}, strings.Repeat("日", 85) + "a", true},
		{"too long", map[string]string{httpapi.UserHeader: strings.Repeat("u", httpapi.MaxUserIDLen+1)}, "", false},
		{"too long multibyte", map[string]string{httpapi.UserHeader: strings.Repeat("日", 85) + "ab"}, "", false},
		{"missing header", map[string]string{"x-other": "u"}, "", false},
		{"nil headers", nil, "", false},
		{"empty value", map[string]string{httpapi.UserHeader: ""}, "", false},
		{"newline", map[string]string{httpapi.UserHeader: "user\n1"}, "", false},
		{"tab", map[string]string{httpapi.UserHeader: "user\t1"}, "", false},
		{"nul", map[string]string{httpapi.UserHeader: "user\x001"}, "", false},
		{"del", map[string]string{httpapi.UserHeader: "user\x7f"}, "", false},
		{"c1 control", map[string]string{httpapi.UserHeader: "user\u0085"}, "", false},
		{"invalid utf-8", map[string]string{httpapi.UserHeader: "user\xff"}, "", false},
		{"truncated utf-8", map[string]string{httpapi.UserHeader: "\xe6\x97"}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := httpapi.EndUser(httpapi.Request{Headers: tc.headers})
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("EndUser = %q, %v; want %q", got, err, tc.want)
				}
				if !httpapi.ValidUserID(got) {
					t.Errorf("ValidUserID(%q) = false for an accepted id", got)
				}
				return
			}
			asAPIError(t, err, http.StatusUnauthorized, httpapi.CodeUnauthenticated)
			if got != "" {
				t.Errorf("id %q returned with error", got)
			}
		})
	}
}

func TestEndUserLengthIsBytes(t *testing.T) {
	id := strings.Repeat("日", 86) // 86 runes, 258 bytes
	if len(id) <= httpapi.MaxUserIDLen {
		t.Fatalf("test id is %d bytes", len(id))
	}
	if httpapi.ValidUserID(id) {
		t.Errorf("ValidUserID accepted a %d-byte id", len(id))
	}
}
