package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// TestPathMatchingIsExact: paths are matched as API Gateway's HTTP API
// matches them, with no cleaning or redirect: empty segments, trailing
// slashes and dot segments match no route (404, the handler not called);
// a parameter is one non-empty segment, percent-decoded once.
func TestPathMatchingIsExact(t *testing.T) {
	cases := []struct {
		method, target string
		wantKey        string // "" = 404
	}{
		{"GET", "//v1/things/a/detail", ""},
		{"GET", "/v1//things/a/detail", ""},
		{"GET", "/v1/things/a/detail/", ""},
		{"GET", "/v1/things/a/detail//", ""},
		{"POST", "/v1/things/a/", ""},
		{"GET", "/v1/things//detail", ""},
		{"GET", "/v1/things/a/../a/detail", ""},
		{"GET", "/v1/things/b/../a/detail", ""},
		{"GET", "/v1/x/../things/a/detail", ""},
		{"GET", "/v1/things/./detail", ""},
		{"GET", "/v1/things/../detail", ""},
		{"GET", "/v1/things/%2E%2E/detail", ""},
		{"GET", "/v1/things/%2e/detail", ""},
		{"GET", "/./v1/things/a/detail", ""},
		{"GET", "/", ""},
		{"GET", "/V1/things/a/detail", ""},
		{"PUT", "/v1/one/x//", ""},
		{"PUT", "/v1//x/two", ""},
		{"GET", "/v1/things/a/detail", "a"},
		{"GET", "/v1/things/..a/detail", "..a"},
		{"GET", "/v1/things/.../detail", "..."},
		{"GET", "/v1/things/%C3%BC/detail", "ü"},
		{"GET", "/v1/things/a%252Fb/detail", "a%2Fb"}, // decoded once, not twice
		{"GET", "/v1/things/%2525/detail", "%25"},
		// An encoded slash is a separator once decoded, as API Gateway
		// decodes the path: it never reaches a parameter.
		{"GET", "/v1/things/a%2Fb/detail", ""},
		{"GET", "/v1/things%2Fa/detail", "a"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			g, rc := newGateway(0)
			// httptest.NewRequest parses the target as net/http's server does.
			w := serve(g, httptest.NewRequest(tc.method, tc.target, nil))
			if tc.wantKey == "" {
				expectError(t, w, http.StatusNotFound, fault.CodeNotFound)
				if rc.calls != 0 {
					t.Errorf("handler called with %v", rc.last.PathParameters)
				}
				return
			}
			if w.Code != http.StatusOK || rc.calls != 1 || rc.last.PathParameters["key"] != tc.wantKey {
				t.Fatalf("status %d calls %d params %v, want key %q", w.Code, rc.calls, rc.last.PathParameters, tc.wantKey)
			}
		})
	}
	// A request whose path is empty (no leading slash) matches nothing.
	g, rc := newGateway(0)
	w := serve(g, &http.Request{Method: "GET", URL: &url.URL{Path: ""}, Header: http.Header{}, Body: http.NoBody})
	expectError(t, w, http.StatusNotFound, fault.CodeNotFound)
	if rc.calls != 0 {
		t.Error("handler called for an empty path")
	}
}

// TestNoRedirectOverTheWire: over a real server a doubled slash or a dot
// segment is a 404 from the gateway, never a redirect to a cleaned path.
func TestNoRedirectOverTheWire(t *testing.T) {
	g, rc := newGateway(0)
	srv := httptest.NewServer(g)
	defer srv.Close()
	for _, target := range []string{"//v1/things/a/detail", "/v1/things/a/detail/", "/v1/things/a/../a/detail", "/v1/./things/a/detail"} {
		resp := rawRequest(t, srv.Listener.Addr().String(), "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.status != http.StatusNotFound || resp.code != fault.CodeNotFound || resp.location != "" {
			t.Errorf("%s: %d %s location %q", target, resp.status, resp.code, resp.location)
		}
	}
	if rc.calls != 0 {
		t.Errorf("handler called %d times", rc.calls)
	}
}

// TestMalformedQuery: a malformed percent-escape in the query string is
// 400 INVALID_QUERY before any route, authorizer or handler: a
// ?cursor=%%% must not list the first page as if no cursor had been sent.
func TestMalformedQuery(t *testing.T) {
	for _, tc := range []struct {
		path, query string
		wantStatus  int
		wantQuery   map[string]string
	}{
		{"/v1/things/a/detail", "cursor=%%%", 400, nil},
		{"/v1/things/a/detail", "cursor=%", 400, nil},
		{"/v1/things/a/detail", "limit=1&cursor=%zz", 400, nil},
		{"/v1/things/a/detail", "%zz=1", 400, nil},
		{"/v1/things/a/detail", "a=%2", 400, nil},
		{"/v1/nothing", "cursor=%%%", 400, nil}, // refused before routing
		{"/v1/things/a/detail", "cursor=%25%25%25", 200, map[string]string{"cursor": "%%%"}},
		{"/v1/things/a/detail", "x=%ff&y=a+b", 200, map[string]string{"x": "\xff", "y": "a b"}},
		{"/v1/things/a/detail", "a=1;b=%zz&c=2", 200, map[string]string{"c": "2"}}, // semicolon pairs are left out, as url.ParseQuery does
	} {
		t.Run(tc.path+"?"+tc.query, func(t *testing.T) {
			g, rc := newGateway(0)
			authorized := 0
			g.Authorize(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
				authorized++
				return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true}, nil
			})
			r := &http.Request{Method: "GET", URL: &url.URL{Path: tc.path, RawQuery: tc.query}, Header: http.Header{"X-Api-Key": {"k"}}, Body: http.NoBody}
			w := serve(g, r)
			if tc.wantStatus == http.StatusBadRequest {
				expectError(t, w, http.StatusBadRequest, gateway.CodeInvalidQuery)
				if rc.calls != 0 || authorized != 0 {
					t.Errorf("handler calls %d, authorizer calls %d", rc.calls, authorized)
				}
				return
			}
			if w.Code != tc.wantStatus || rc.calls != 1 {
				t.Fatalf("status %d calls %d: %s", w.Code, rc.calls, w.Body.String())
			}
			got := rc.last.QueryStringParameters
			if len(got) != len(tc.wantQuery) {
				t.Fatalf("query %v, want %v", got, tc.wantQuery)
			}
			for k, v := range tc.wantQuery {
				if got[k] != v {
					t.Errorf("query[%q] = %q, want %q", k, got[k], v)
				}
			}
			if rc.last.RawQueryString != tc.query {
				t.Errorf("RawQueryString %q", rc.last.RawQueryString)
			}
		})
	}
}

type rawResponse struct {
	status      int
	contentType string
	location    string
	code        string
	message     string
	details     map[string]any
	body        string
}

// rawRequest sends req as written (no client cleans or refuses it) on a new
// connection and reads one response.
func rawRequest(t *testing.T, addr, req string) rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return exchange(t, c, bufio.NewReader(c), req)
}

func exchange(t *testing.T, c net.Conn, br *bufio.Reader, req string) rawResponse {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := rawResponse{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), location: resp.Header.Get("Location"), body: string(b)}
	var e errBody
	if json.Unmarshal(b, &e) == nil {
		out.code, out.message, out.details = e.Error.Code, e.Error.Message, e.Error.Details
	}
	return out
}

// TestUnparsableRequests: requests net/http refuses before any handler runs
// (a malformed percent-escape in the path, a malformed request line or
// header) are answered with the API's JSON error body, not Go's plain-text
// 400, when the server listens through gateway.Listener.
func TestUnparsableRequests(t *testing.T) {
	g, rc := newGateway(0)
	srv := httptest.NewUnstartedServer(g)
	srv.Listener = gateway.Listener(srv.Listener)
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	for _, tc := range []struct {
		name, req, code, inMessage string
	}{
		{"bad escape in a route's parameter", "GET /v1/things/%zz/detail HTTP/1.1\r\nHost: x\r\n\r\n", gateway.CodeInvalidPath, ""},
		{"bad escape in an admin path", "GET /v1/admin/experiments/%zz HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\n\r\n", gateway.CodeInvalidPath, ""},
		{"lone percent", "GET /v1/things/%/detail HTTP/1.1\r\nHost: x\r\n\r\n", gateway.CodeInvalidPath, ""},
		{"truncated escape", "POST /v1/things/a%2 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", gateway.CodeInvalidPath, ""},
		{"bad escape, HTTP/1.0", "GET /v1/%zz/x/b HTTP/1.0\r\n\r\n", gateway.CodeInvalidPath, ""},
		{"malformed header", "GET /v1/things/a/detail HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n", gateway.CodeInvalidRequest, ""},
		{"malformed request line", "GET\r\nHost: x\r\n\r\n", gateway.CodeInvalidRequest, ""},
		{"missing Host", "GET /v1/things/a/detail HTTP/1.1\r\n\r\n", gateway.CodeInvalidRequest, "missing required Host header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, addr, tc.req)
			if resp.status != http.StatusBadRequest || resp.code != tc.code || resp.contentType != "application/json" ||
				resp.message == "" || resp.details == nil || !strings.Contains(resp.message, tc.inMessage) {
				t.Fatalf("got %d %q: %s", resp.status, resp.contentType, resp.body)
			}
		})
	}
	if rc.calls != 0 {
		t.Fatalf("handler called %d times", rc.calls)
	}

	// A connection serves requests as before, and the one after a good
	// request is refused with the right code.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if r := exchange(t, c, br, "GET /v1/things/a/detail HTTP/1.1\r\nHost: x\r\n\r\n"); r.status != http.StatusOK || rc.last.PathParameters["key"] != "a" {
		t.Fatalf("good request: %d %s", r.status, r.body)
	}
	if r := exchange(t, c, br, "GET /v1/things/b/detail HTTP/1.1\r\nHost: x\r\n\r\n"); r.status != http.StatusOK || rc.last.PathParameters["key"] != "b" {
		t.Fatalf("second request: %d %s", r.status, r.body)
	}
	if r := exchange(t, c, br, "GET /v1/things/%zz/detail HTTP/1.1\r\nHost: x\r\n\r\n"); r.status != http.StatusBadRequest || r.code != gateway.CodeInvalidPath {
		t.Fatalf("bad request after good ones: %d %s", r.status, r.body)
	}
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	br2 := bufio.NewReader(c2)
	if r := exchange(t, c2, br2, "GET /v1/things/%25zz/detail HTTP/1.1\r\nHost: x\r\n\r\n"); r.status != http.StatusOK || rc.last.PathParameters["key"] != "%zz" {
		t.Fatalf("escaped percent: %d %s", r.status, r.body)
	}
	if r := exchange(t, c2, br2, "GET /v1/things/a/detail HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n"); r.status != http.StatusBadRequest || r.code != gateway.CodeInvalidRequest {
		t.Fatalf("bad header after a good request: %d %s", r.status, r.body)
	}

	// A handler's own 400 passes through untouched.
	g2 := gateway.New(gateway.Options{})
	g2.Handle(getRoute, func(context.Context, httpapi.Request) (httpapi.Response, error) {
		return httpapi.Response{StatusCode: 400, Headers: map[string]string{"content-type": "text/plain; charset=utf-8", "connection": "close"}, Body: "400 Bad Request"}, nil
	})
	srv2 := httptest.NewUnstartedServer(g2)
	srv2.Listener = gateway.Listener(srv2.Listener)
	srv2.Start()
	defer srv2.Close()
	if r := rawRequest(t, srv2.Listener.Addr().String(), "GET /v1/things/a/detail HTTP/1.1\r\nHost: x\r\n\r\n"); r.status != 400 || r.body != "400 Bad Request" {
		t.Fatalf("handler's 400: %d %q", r.status, r.body)
	}
}
