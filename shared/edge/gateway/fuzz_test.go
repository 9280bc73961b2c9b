package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

const fzOrigin = "https://app.example"

// fzRoute is an independent matcher for a route: the path must equal the
// route's exactly (no slash trimmed or doubled), a {param} takes one
// non-empty segment, and no segment of the path is a dot segment.
type fzRoute struct {
	routes.Route
	re *regexp.Regexp
}

func fzRoutes() []fzRoute {
	var out []fzRoute
	for _, r := range routes.All {
		pat := regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(r.Path), `([^/]+)`)
		out = append(out, fzRoute{Route: r, re: regexp.MustCompile(`^(?s)` + pat + `$`)})
	}
	return out
}

// fzDotSegment reports whether a path has a "." or ".." segment.
func fzDotSegment(path string) bool {
	for _, s := range strings.Split(path, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

// fzBadQuery reports whether a query string has a malformed percent-escape
// in a pair url.ParseQuery would not leave out for its semicolon.
func fzBadQuery(raw string) bool {
	for _, part := range strings.Split(raw, "&") {
		if strings.Contains(part, ";") {
			continue
		}
		if _, err := url.ParseQuery(part); err != nil {
			return true
		}
	}
	return false
}

// FuzzServeHTTP: any request through the local gateway either reaches the
// route its path names exactly (no slash trimmed, no dot segment), with the
// path parameters, query, headers and body API Gateway would pass (params
// are non-empty and never contain "/", binary bodies arrive in base64), or
// is answered with the API's error body (400 INVALID_QUERY for a malformed
// percent-escape in the query, then 404 for unknown routes); the identity
// sources gate the authorizer; CORS preflights from allowed origins are
// answered first; never a panic.
func FuzzServeHTTP(f *testing.F) {
	for _, r := range routes.All {
		path := strings.NewReplacer("{key}", "checkout_v2", "{id}", "abcdefghijklmnop").Replace(r.Path)
		f.Add(r.Method, path, "", []byte(`{"a":1}`), "k", "Bearer t", false, "", false, uint8(0))
	}
	for _, p := range []string{"", "/", "//", "/v1", "/v1/admin/experiments/", "//v1//admin/experiments", "/v1/admin/experiments//",
		"/v1/admin/experiments/a/b", "/v1/admin/experiments/a%2Fb", "/v1/admin/experiments/%zz", "/v1/admin/experiments/ü",
		"/v1/admin/experiments/\xff", "/v1/admin/experiments/a b", "/v1/admin/experiments/..", "/v1/admin/experiments//history",
		"/v1/client/experiments/{key}/exposure", "/V1/ADMIN/EXPERIMENTS", "/v1/admin/api-keys/", "/v1/admin/api-keys//", "/x/../v1/admin/experiments",
		// Exact matching: no slash trimmed or doubled, no dot segment resolved.
		"//v1/admin/experiments", "/v1//admin/experiments", "/v1/admin/../admin/experiments", "/v1/admin/./experiments",
		"/v1/admin/experiments/.", "/v1/admin/experiments/./history", "/v1/admin/experiments/../history", "/v1/admin/experiments/...",
		"/v1/admin/experiments/..a/history", "/v1/admin/experiments/a/history/", "/./v1/admin/experiments", "v1/admin/experiments",
		"/v1/admin/experiments/%2E%2E", "/v1/admin/experiments/%25zz", "/v1/admin/api-keys/./", "/v1/client/events/"} {
		f.Add("GET", p, "", []byte(nil), "k", "", true, "", false, uint8(0))
	}
	for _, m := range []string{"", "get", "HEAD", "OPTIONS", "PUT", "CONNECT", "GET ", "G\x00T"} {
		f.Add(m, "/v1/admin/experiments", "", []byte(nil), "k", "", false, "", false, uint8(0))
	}
	for _, q := range []string{"status=active&limit=5", "limit=1&limit=2", "a", "=x", "%zz=1", "cursor=%2B%2F%3D", "a=1;b=2", "x=%ff", "&&", "?",
		"cursor=%%%", "cursor=%", "cursor=%2", "limit=1&cursor=%zz", "cursor=%25%25%25", "a;b=%zz", "a=%zz;b", "a=1;b=2&c=%"} {
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

		// A malformed percent-escape in the query is refused before any
		// route or authorizer.
		if fzBadQuery(rawQuery) {
			var e struct {
				Error struct{ Code, Message string }
			}
			if w.Code != http.StatusBadRequest || got != nil || authorized != 0 ||
				json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code != gateway.CodeInvalidQuery {
				t.Fatalf("%s: malformed query answered %d %s (handler called: %v)", desc, w.Code, w.Body.Bytes(), got != nil)
			}
			return
		}

		var want *fzRoute
		var wantParams []string
		for i := range rts {
			if m := rts[i].re.FindStringSubmatch(path); rts[i].Method == method && m != nil && !fzDotSegment(path) {
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
		q, _ := url.ParseQuery(rawQuery) // its errors are the semicolon pairs it leaves out
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

// FuzzWireRequest: any request target sent as written over a real server
// listening through gateway.Listener is answered with the API's JSON body:
// 400 INVALID_PATH when net/http cannot parse the target (a malformed
// percent-escape in the path), 400 INVALID_QUERY for one in the query,
// the route's handler when the decoded path names a route exactly, else
// 404 NOT_FOUND; never Go's plain-text 400 or a redirect.
func FuzzWireRequest(f *testing.F) {
	for _, target := range []string{
		"/v1/admin/experiments", "/v1/admin/experiments/checkout_v2", "/v1/admin/experiments/checkout_v2/history?limit=1",
		"/v1/admin/experiments/%zz", "/v1/admin/experiments/%", "/v1/admin/experiments/%2", "/v1/admin/experiments/a%zzb/history",
		"/v1/admin/experiments/%25zz", "/v1/admin/experiments/%C3%BC", "/v1/admin/experiments/%ff", "/v1/admin/experiments/a%2Fb",
		"/v1/admin/experiments/a%252Fb", "/v1/admin/experiments/%2E%2E", "/v1/admin/experiments/%2e/history",
		"//v1/admin/experiments", "/v1//admin/experiments", "/v1/admin/experiments/", "/v1/admin/../admin/experiments",
		"/v1/admin/./experiments", "/v1/admin/experiments?cursor=%%%", "/v1/admin/experiments?cursor=%25%25%25",
		"/v1/admin/experiments?%zz", "/v1/admin/experiments?a;b=%zz", "/%zz?cursor=%%%", "*", "/", "x",
		"http://host/v1/admin/experiments", "http://host/v1/admin/experiments/%zz", "/v1/admin/experiments#frag", "/\xff\xfe",
	} {
		f.Add(target)
	}
	g := gateway.New(gateway.Options{})
	var mu sync.Mutex
	var got *events.APIGatewayV2HTTPRequest
	for _, r := range routes.All {
		g.Handle(r, func(_ context.Context, ev httpapi.Request) (httpapi.Response, error) {
			mu.Lock()
			got = &ev
			mu.Unlock()
			return httpapi.JSON(http.StatusOK, map[string]string{"route": ev.RouteKey}), nil
		})
	}
	srv := httptest.NewUnstartedServer(g)
	srv.Listener = gateway.Listener(srv.Listener)
	srv.Start()
	defer srv.Close()
	rts := fzRoutes()
	f.Fuzz(func(t *testing.T, target string) {
		if target == "" || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Skip("not a request target that fits a request line")
		}
		mu.Lock()
		got = nil
		mu.Unlock()
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error struct {
				Code, Message string
				Details       map[string]any
			}
		}
		isErr := json.Unmarshal(body, &e) == nil && e.Error.Code != "" && e.Error.Message != "" && e.Error.Details != nil
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%q: %d %q: %s", target, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		mu.Lock()
		handled := got
		mu.Unlock()
		u, perr := url.ParseRequestURI(target)
		switch {
		case perr != nil:
			if resp.StatusCode != http.StatusBadRequest || !isErr || e.Error.Code != gateway.CodeInvalidPath || handled != nil {
				t.Fatalf("%q (%v): %d %s", target, perr, resp.StatusCode, body)
			}
			return
		case fzBadQuery(u.RawQuery):
			if resp.StatusCode != http.StatusBadRequest || !isErr || e.Error.Code != gateway.CodeInvalidQuery || handled != nil {
				t.Fatalf("%q: %d %s", target, resp.StatusCode, body)
			}
			return
		}
		var want *fzRoute
		for i := range rts {
			if rts[i].Method == http.MethodGet && rts[i].re.MatchString(u.Path) && !fzDotSegment(u.Path) {
				want = &rts[i]
				break
			}
		}
		if want == nil {
			if resp.StatusCode != http.StatusNotFound || !isErr || e.Error.Code != fault.CodeNotFound || handled != nil {
				t.Fatalf("%q (path %q): %d %s", target, u.Path, resp.StatusCode, body)
			}
			return
		}
		if resp.StatusCode != http.StatusOK || handled == nil || handled.RouteKey != want.Key() {
			t.Fatalf("%q (path %q): %d %s, want %s", target, u.Path, resp.StatusCode, body, want.Key())
		}
	})
}
