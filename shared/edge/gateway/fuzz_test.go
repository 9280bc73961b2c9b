package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

const fzOrigin = "https://app.example"

// fzRoute is an independent matcher for a route: a {param} takes one
// segment; the gateway ignores leading and trailing slashes.
type fzRoute struct {
	routes.Route
	re *regexp.Regexp
}

func fzRoutes() []fzRoute {
	var out []fzRoute
	for _, r := range routes.All {
		pat := regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(strings.Trim(r.Path, "/")), `([^/]*)`)
		out = append(out, fzRoute{Route: r, re: regexp.MustCompile(`^(?s)` + pat + `$`)})
	}
	return out
}

// FuzzServeHTTP: any request through the local gateway either reaches the
// route it names, with the path parameters, query, headers and body API
// Gateway would pass (params never contain "/", binary bodies arrive in
// base64), or is answered with the API's error body (404 for unknown
// routes); the identity sources gate the authorizer; CORS preflights from
// allowed origins are answered first; never a panic.
func FuzzServeHTTP(f *testing.F) {
	for _, r := range routes.All {
		path := strings.NewReplacer("{key}", "checkout_v2", "{id}", "abcdefghijklmnop").Replace(r.Path)
		f.Add(r.Method, path, "", []byte(`{"a":1}`), "k", "Bearer t", false, "", false, uint8(0))
	}
	for _, p := range []string{"", "/", "//", "/v1", "/v1/admin/experiments/", "//v1//admin/experiments", "/v1/admin/experiments//",
		"/v1/admin/experiments/a/b", "/v1/admin/experiments/a%2Fb", "/v1/admin/experiments/%zz", "/v1/admin/experiments/ü",
		"/v1/admin/experiments/\xff", "/v1/admin/experiments/a b", "/v1/admin/experiments/..", "/v1/admin/experiments//history",
		"/v1/client/experiments/{key}/exposure", "/V1/ADMIN/EXPERIMENTS", "/v1/admin/api-keys/", "/v1/admin/api-keys//", "/x/../v1/admin/experiments"} {
		f.Add("GET", p, "", []byte(nil), "k", "", true, "", false, uint8(0))
	}
	for _, m := range []string{"", "get", "HEAD", "OPTIONS", "PUT", "CONNECT", "GET ", "G\x00T"} {
		f.Add(m, "/v1/admin/experiments", "", []byte(nil), "k", "", false, "", false, uint8(0))
	}
	for _, q := range []string{"status=active&limit=5", "limit=1&limit=2", "a", "=x", "%zz=1", "cursor=%2B%2F%3D", "a=1;b=2", "x=%ff", "&&", "?"} {
		f.Add("GET", "/v1/admin/experiments", q, []byte(nil), "k", "", false, "", false, uint8(0))
	}
	for _, b := range [][]byte{nil, []byte("null"), {0xff, 0xfe, 0x00}, []byte("ü日本😀"), []byte("\xed\xa0\x80"), bytes.Repeat([]byte("a"), httpapi.MaxBodyBytes+1)} {
		f.Add("POST", "/v1/client/events", "", b, "k", "Bearer t", false, "", false, uint8(0))
	}
	f.Add("POST", "/v1/client/events", "", []byte("{}"), "", "Bearer t", true, "", false, uint8(0))
	f.Add("POST", "/v1/client/events", "", []byte("{}"), "k", "", true, "", false, uint8(0))
	f.Add("POST", "/v1/client/events", "", []byte("{}"), "deny", "Bearer t", true, "", false, uint8(0))
	f.Add("GET", "/v1/admin/experiments", "", []byte(nil), "", "", true, "", false, uint8(0))
	f.Add("GET", "/v1/admin/experiments", "", []byte(nil), "deny", "", true, "", false, uint8(0))
	for _, m := range []string{"OPTIONS", "GET", "POST"} {
		for _, o := range []string{fzOrigin, "https://evil.example", "null", "*", ""} {
			for mode := uint8(0); mode < 3; mode++ {
				f.Add(m, "/v1/client/events", "", []byte(nil), "", "", true, o, true, mode)
			}
		}
	}
	f.Add("OPTIONS", "/nowhere", "", []byte(nil), "", "", true, fzOrigin, true, uint8(1))
	f.Add("OPTIONS", "/v1/admin/experiments", "", []byte(nil), "k", "", true, fzOrigin, false, uint8(1))
	rts := fzRoutes()
	f.Fuzz(func(t *testing.T, method, path, rawQuery string, body []byte, apiKey, authorization string, withAuthorizer bool,
		origin string, preflight bool, corsMode uint8) {
		var got *events.APIGatewayV2HTTPRequest
		echo := func(_ context.Context, ev httpapi.Request) (httpapi.Response, error) {
			got = &ev
			return httpapi.JSON(http.StatusOK, map[string]string{"route": ev.RouteKey}), nil
		}
		authorized := 0
		var allowed []string // CORS: none, one origin, or any
		switch corsMode % 3 {
		case 1:
			allowed = []string{fzOrigin}
		case 2:
			allowed = []string{"*"}
		}
		g := gateway.New(gateway.Options{CORSOrigins: allowed})
		for _, r := range routes.All {
			g.Handle(r, echo)
		}
		if withAuthorizer {
			g.Authorize(func(_ context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
				authorized++
				return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: req.Headers["x-api-key"] != "deny",
					Context: map[string]any{"role": "admin", "key_id": "k"}}, nil
			})
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Host: "localhost", RemoteAddr: "127.0.0.1:1234"}
		if apiKey != "" {
			r.Header.Set("X-Api-Key", apiKey)
		}
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if preflight {
			r.Header.Set("Access-Control-Request-Method", "POST")
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		desc := method + " " + path + "?" + rawQuery

		// CORS: only an allowed origin gets CORS headers, and its
		// preflights are answered before any route or authorizer.
		corsOK := origin != "" && (corsMode%3 == 2 || (corsMode%3 == 1 && origin == fzOrigin))
		if acao := w.Header().Get("Access-Control-Allow-Origin"); (acao != "") != corsOK || (corsOK && acao != origin && acao != "*") {
			t.Fatalf("%s from origin %q (CORS mode %d): Access-Control-Allow-Origin %q", desc, origin, corsMode%3, acao)
		}
		if corsOK && method == http.MethodOptions && preflight {
			if w.Code != http.StatusNoContent || got != nil || authorized != 0 || w.Header().Get("Access-Control-Allow-Methods") == "" {
				t.Fatalf("%s: preflight answered %d (handler called: %v)", desc, w.Code, got != nil)
			}
			return
		}

		var want *fzRoute
		var wantParams []string
		for i := range rts {
			if m := rts[i].re.FindStringSubmatch(strings.Trim(path, "/")); rts[i].Method == method && m != nil {
				want, wantParams = &rts[i], m[1:]
				break
			}
		}
		if want == nil {
			if w.Code != http.StatusNotFound || got != nil || authorized != 0 {
				t.Fatalf("%s: unknown route answered %d (handler called: %v)", desc, w.Code, got != nil)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code != fault.CodeNotFound {
				t.Fatalf("%s: 404 body %q", desc, w.Body.Bytes())
			}
			return
		}
		if withAuthorizer {
			for _, h := range want.IdentitySources() {
				if r.Header.Get(h) == "" {
					if w.Code != http.StatusUnauthorized || got != nil || authorized != 0 {
						t.Fatalf("%s without %s: %d", desc, h, w.Code)
					}
					return
				}
			}
			if authorized != 1 {
				t.Fatalf("%s: authorizer ran %d times", desc, authorized)
			}
			if apiKey == "deny" {
				if w.Code != http.StatusForbidden || got != nil {
					t.Fatalf("%s: denied request answered %d", desc, w.Code)
				}
				return
			}
		}
		if got == nil {
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s: handler not called, status %d: %s", desc, w.Code, w.Body.Bytes())
			}
			return
		}
		if w.Code != http.StatusOK || got.RouteKey != want.Key() || got.RequestContext.RouteKey != want.Key() || got.RequestContext.HTTP.Method != method {
			t.Fatalf("%s: routed to %q with %d, want %q", desc, got.RouteKey, w.Code, want.Key())
		}
		names := regexp.MustCompile(`\{([a-z]+)\}`).FindAllStringSubmatch(want.Path, -1)
		if len(got.PathParameters) != len(names) {
			t.Fatalf("%s: params %v", desc, got.PathParameters)
		}
		for i, n := range names {
			v, ok := got.PathParameters[n[1]]
			if !ok || strings.Contains(v, "/") || v != wantParams[i] {
				t.Fatalf("%s: param %s = %q, want %q", desc, n[1], v, wantParams[i])
			}
		}
		if withAuthorizer && (got.RequestContext.Authorizer == nil || got.RequestContext.Authorizer.Lambda["key_id"] != "k") {
			t.Fatalf("%s: authorizer context lost", desc)
		}
		if got.Headers["x-api-key"] != apiKey || got.Headers["authorization"] != authorization || got.RawQueryString != rawQuery {
			t.Fatalf("%s: headers %v, query %q", desc, got.Headers, got.RawQueryString)
		}
		// Repeated query parameters arrive joined with commas, as API
		// Gateway passes them.
		q, _ := url.ParseQuery(rawQuery)
		if len(got.QueryStringParameters) != len(q) || (len(q) == 0) != (got.QueryStringParameters == nil) {
			t.Fatalf("%s: query %v, want %v", desc, got.QueryStringParameters, q)
		}
		for k, vs := range q {
			if got.QueryStringParameters[k] != strings.Join(vs, ",") {
				t.Fatalf("%s: query %s = %q, want %q", desc, k, got.QueryStringParameters[k], vs)
			}
		}
		sent := []byte(got.Body)
		if got.IsBase64Encoded {
			var err error
			if sent, err = base64.StdEncoding.DecodeString(got.Body); err != nil || utf8.Valid(body) {
				t.Fatalf("%s: base64 body %q for a UTF-8 body (%v)", desc, got.Body, err)
			}
		}
		if !bytes.Equal(sent, body) {
			t.Fatalf("%s: body %q arrived as %q", desc, body, sent)
		}
	})
}
