package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

var (
	getRoute  = routes.Route{Method: "GET", Path: "/v1/things/{key}/detail", Function: "things"}
	postRoute = routes.Route{Method: "POST", Path: "/v1/things/{key}", Function: "things"}
	twoParams = routes.Route{Method: "PUT", Path: "/v1/{a}/x/{b}", Function: "things"}
)

// recorder is a fake handler that keeps the event it received and echoes it
// back as JSON.
type recorder struct {
	mu     sync.Mutex
	calls  int
	last   httpapi.Request
	hasDL  bool
	ctxErr error
}

func (rc *recorder) handle(ctx context.Context, ev httpapi.Request) (httpapi.Response, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	rc.last = ev
	_, rc.hasDL = ctx.Deadline()
	rc.ctxErr = ctx.Err()
	b, err := json.Marshal(ev)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{StatusCode: http.StatusOK, Headers: map[string]string{"content-type": "application/json"}, Body: string(b)}, nil
}

func newGateway(timeout time.Duration) (*gateway.Gateway, *recorder) {
	g := gateway.New(gateway.Options{Timeout: timeout})
	rc := &recorder{}
	g.Handle(getRoute, rc.handle)
	g.Handle(postRoute, rc.handle)
	g.Handle(twoParams, rc.handle)
	return g, rc
}

func serve(g http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

type errBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func expectError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("decode %q: %v", w.Body.String(), err)
	}
	if w.Code != status || e.Error.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", w.Code, e.Error.Code, w.Body.String(), status, code)
	}
	if e.Error.Message == "" || e.Error.Details == nil {
		t.Fatalf("error body lacks message or details: %s", w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content-type = %q", ct)
	}
	if !bytes.HasSuffix(w.Body.Bytes(), []byte("}\n")) {
		t.Errorf("error body does not end with a newline: %q", w.Body.String())
	}
	return e
}

func TestRouting(t *testing.T) {
	cases := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantRoute  string
		wantParams map[string]string
	}{
		{"get with key", "GET", "/v1/things/abc/detail", 200, "GET /v1/things/{key}/detail", map[string]string{"key": "abc"}},
		{"post with key", "POST", "/v1/things/k-1", 200, "POST /v1/things/{key}", map[string]string{"key": "k-1"}},
		{"two params", "PUT", "/v1/one/x/two", 200, "PUT /v1/{a}/x/{b}", map[string]string{"a": "one", "b": "two"}},
		{"escaped key is decoded", "GET", "/v1/things/a%20b/detail", 200, "GET /v1/things/{key}/detail", map[string]string{"key": "a b"}},
		{"query does not affect match", "POST", "/v1/things/q?x=1", 200, "POST /v1/things/{key}", map[string]string{"key": "q"}},
		{"unknown path", "GET", "/v1/nothing", 404, "", nil},
		{"root", "GET", "/", 404, "", nil},
		{"too many segments", "GET", "/v1/things/abc/detail/more", 404, "", nil},
		{"too few segments", "GET", "/v1/things/abc", 404, "", nil},
		{"literal segment mismatch", "GET", "/v1/things/abc/other", 404, "", nil},
		{"wrong method", "POST", "/v1/things/abc/detail", 404, "", nil},
		{"wrong method on post route", "GET", "/v1/things/k", 404, "", nil},
		{"method is case sensitive", "get", "/v1/things/abc/detail", 404, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, rc := newGateway(0)
			w := serve(g, httptest.NewRequest(tc.method, tc.target, nil))
			if tc.wantStatus == http.StatusNotFound {
				expectError(t, w, http.StatusNotFound, fault.CodeNotFound)
				if rc.calls != 0 {
					t.Errorf("handler called for an unmatched route")
				}
				return
			}
			if w.Code != tc.wantStatus || rc.calls != 1 {
				t.Fatalf("status %d, calls %d: %s", w.Code, rc.calls, w.Body.String())
			}
			ev := rc.last
			if ev.RouteKey != tc.wantRoute || ev.RequestContext.RouteKey != tc.wantRoute {
				t.Errorf("RouteKey = %q / %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, tc.wantRoute)
			}
			if len(ev.PathParameters) != len(tc.wantParams) {
				t.Errorf("PathParameters = %v, want %v", ev.PathParameters, tc.wantParams)
			}
			for k, v := range tc.wantParams {
				if ev.PathParameters[k] != v {
					t.Errorf("PathParameters[%q] = %q, want %q", k, ev.PathParameters[k], v)
				}
			}
			if ev.RequestContext.HTTP.Method != tc.method {
				t.Errorf("HTTP.Method = %q", ev.RequestContext.HTTP.Method)
			}
			if ev.Version != "2.0" || ev.RequestContext.RequestID == "" {
				t.Errorf("Version %q RequestID %q", ev.Version, ev.RequestContext.RequestID)
			}
			// The echo handler answered with the event it saw.
			var echoed httpapi.Request
			if err := json.Unmarshal(w.Body.Bytes(), &echoed); err != nil {
				t.Fatalf("echo: %v", err)
			}
			if echoed.RouteKey != tc.wantRoute {
				t.Errorf("echoed RouteKey = %q", echoed.RouteKey)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	g, rc := newGateway(0)
	serve(g, httptest.NewRequest("GET", "/v1/things/a/detail", nil))
	first := rc.last.RequestContext.RequestID
	serve(g, httptest.NewRequest("GET", "/v1/things/a/detail", nil))
	if second := rc.last.RequestContext.RequestID; first == second {
		t.Errorf("request ids repeat: %q", first)
	}
}

func TestHeaders(t *testing.T) {
	g, rc := newGateway(0)
	r := httptest.NewRequest("GET", "/v1/things/a/detail", nil)
	r.Header["X-User-Id"] = []string{"u1"}
	r.Header["X-MIXED-Case"] = []string{"v"} // non-canonical key, set directly
	r.Header.Add("Accept", "text/plain")
	r.Header.Add("Accept", "application/json")
	r.Header.Set("Cookie", "a=1; b=2")
	serve(g, r)
	h := rc.last.Headers
	want := map[string]string{
		"x-user-id":    "u1",
		"x-mixed-case": "v",
		"accept":       "text/plain,application/json",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("Headers[%q] = %q, want %q (all: %v)", k, h[k], v, h)
		}
	}
	for k := range h {
		if k != strings.ToLower(k) {
			t.Errorf("header name %q is not lower-case", k)
		}
	}
	if _, ok := h["cookie"]; ok {
		t.Errorf("cookie passed as a header; API Gateway v2 moves it to Cookies")
	}
	if got := strings.Join(rc.last.Cookies, ";"); got != "a=1;b=2" {
		t.Errorf("Cookies = %v", rc.last.Cookies)
	}
	if rc.last.Headers["x-user-id"] != "u1" {
		t.Errorf("x-user-id = %q", rc.last.Headers["x-user-id"])
	}
}

func TestQueryString(t *testing.T) {
	cases := []struct {
		name      string
		raw       string
		wantQuery map[string]string
	}{
		{"none", "", nil},
		{"single", "a=1", map[string]string{"a": "1"}},
		{"multi", "a=1&b=two&a=3", map[string]string{"a": "1,3", "b": "two"}},
		{"escaped", "q=a%20b&e=", map[string]string{"q": "a b", "e": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, rc := newGateway(0)
			target := "/v1/things/a/detail"
			if tc.raw != "" {
				target += "?" + tc.raw
			}
			serve(g, httptest.NewRequest("GET", target, nil))
			ev := rc.last
			if ev.RawQueryString != tc.raw {
				t.Errorf("RawQueryString = %q, want %q", ev.RawQueryString, tc.raw)
			}
			if tc.wantQuery == nil {
				if ev.QueryStringParameters != nil {
					t.Errorf("QueryStringParameters = %v, want nil", ev.QueryStringParameters)
				}
				return
			}
			if len(ev.QueryStringParameters) != len(tc.wantQuery) {
				t.Errorf("QueryStringParameters = %v, want %v", ev.QueryStringParameters, tc.wantQuery)
			}
			for k, v := range tc.wantQuery {
				if got, ok := ev.QueryStringParameters[k]; !ok || got != v {
					t.Errorf("QueryStringParameters[%q] = %q, want %q", k, got, v)
				}
			}
			if ev.RawPath != "/v1/things/a/detail" {
				t.Errorf("RawPath = %q", ev.RawPath)
			}
		})
	}
}

func TestRequestBody(t *testing.T) {
	binary := []byte{0xff, 0xfe, 0x00, 0x80, 'a'}
	cases := []struct {
		name       string
		body       []byte
		wantBody   string
		wantBase64 bool
	}{
		{"empty", nil, "", false},
		{"json text", []byte(`{"a":"ü"}`), `{"a":"ü"}`, false},
		{"binary", binary, base64.StdEncoding.EncodeToString(binary), true},
		{"invalid utf-8 in text", []byte("abc\xc3"), base64.StdEncoding.EncodeToString([]byte("abc\xc3")), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, rc := newGateway(0)
			serve(g, httptest.NewRequest("POST", "/v1/things/a", bytes.NewReader(tc.body)))
			if rc.calls != 1 {
				t.Fatalf("handler calls = %d", rc.calls)
			}
			ev := rc.last
			if ev.Body != tc.wantBody || ev.IsBase64Encoded != tc.wantBase64 {
				t.Errorf("Body = %q base64=%v, want %q base64=%v", ev.Body, ev.IsBase64Encoded, tc.wantBody, tc.wantBase64)
			}
			// Whatever the encoding, httpapi.Body recovers the original bytes.
			got, err := httpapi.Body(ev)
			if err != nil || !bytes.Equal(got, tc.body) {
				t.Errorf("httpapi.Body = %q, %v; want %q", got, err, tc.body)
			}
		})
	}
}

func TestRequestBodyLimit(t *testing.T) {
	const limit = 1 << 20
	cases := []struct {
		name string
		size int
		ok   bool
	}{
		{"at limit", limit, true},
		{"one over", limit + 1, false},
		{"far over", 3 * limit, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, rc := newGateway(0)
			w := serve(g, httptest.NewRequest("POST", "/v1/things/a", bytes.NewReader(bytes.Repeat([]byte("a"), tc.size))))
			if !tc.ok {
				expectError(t, w, http.StatusRequestEntityTooLarge, fault.CodePayloadTooLarge)
				if rc.calls != 0 {
					t.Errorf("handler called for an oversized body")
				}
				return
			}
			if w.Code != http.StatusOK || rc.calls != 1 || len(rc.last.Body) != tc.size {
				t.Errorf("status %d calls %d body len %d", w.Code, rc.calls, len(rc.last.Body))
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestRequestBodyReadError(t *testing.T) {
	g, rc := newGateway(0)
	w := serve(g, httptest.NewRequest("POST", "/v1/things/a", failingReader{}))
	expectError(t, w, http.StatusBadRequest, fault.CodeInvalidJSON)
	if rc.calls != 0 {
		t.Errorf("handler called after a failed read")
	}
}

func TestResponses(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0x00, 0xff}
	cases := []struct {
		name       string
		resp       httpapi.Response
		err        error
		wantStatus int
		wantBody   []byte
		wantHeader map[string][]string
		wantCode   string // error body code when set
		// rawError: the gateway writes the error body itself, keeping the
		// function's (here absent) headers, so only the body is checked.
		rawError bool
	}{
		{
			name: "status headers and body",
			resp: httpapi.Response{
				StatusCode: http.StatusCreated,
				Headers:    map[string]string{"content-type": "application/json", "x-custom": "1"},
				Body:       `{"ok":true}`,
			},
			// A JSON body ends with a newline (curl output, shell prompts).
			wantStatus: http.StatusCreated,
			wantBody:   []byte("{\"ok\":true}\n"),
			wantHeader: map[string][]string{"Content-Type": {"application/json"}, "X-Custom": {"1"}},
		},
		{
			name: "json with parameters and a declared length gets one newline",
			resp: httpapi.Response{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"Content-Type": "application/problem+json; charset=utf-8", "content-length": "2"},
				Body:       `{}`,
			},
			wantStatus: http.StatusOK,
			wantBody:   []byte("{}\n"),
		},
		{
			name: "json already ending with a newline keeps one",
			resp: httpapi.Response{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"content-type": "application/json"},
				Body:       "[1]\n",
			},
			wantStatus: http.StatusOK,
			wantBody:   []byte("[1]\n"),
		},
		{
			name: "base64 json body gets the newline after decoding",
			resp: httpapi.Response{
				StatusCode:      http.StatusOK,
				Headers:         map[string]string{"content-type": "application/json"},
				Body:            base64.StdEncoding.EncodeToString([]byte(`{"b":1}`)),
				IsBase64Encoded: true,
			},
			wantStatus: http.StatusOK,
			wantBody:   []byte("{\"b\":1}\n"),
		},
		{
			name: "empty json body stays empty",
			resp: httpapi.Response{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"content-type": "application/json"},
			},
			wantStatus: http.StatusOK,
			wantBody:   []byte{},
		},
		{
			name: "multi-value headers and cookies",
			resp: httpapi.Response{
				StatusCode:        http.StatusAccepted,
				MultiValueHeaders: map[string][]string{"vary": {"a", "b"}},
				Cookies:           []string{"s=1; Path=/", "t=2"},
			},
			wantStatus: http.StatusAccepted,
			wantBody:   []byte{},
			wantHeader: map[string][]string{"Vary": {"a", "b"}, "Set-Cookie": {"s=1; Path=/", "t=2"}},
		},
		{
			name:       "zero status is 200",
			resp:       httpapi.Response{Body: "plain"},
			wantStatus: http.StatusOK,
			wantBody:   []byte("plain"),
		},
		{
			name: "base64 body decoded",
			resp: httpapi.Response{
				StatusCode:      http.StatusOK,
				Headers:         map[string]string{"content-type": "image/png"},
				Body:            base64.StdEncoding.EncodeToString(binary),
				IsBase64Encoded: true,
			},
			wantStatus: http.StatusOK,
			wantBody:   binary,
			wantHeader: map[string][]string{"Content-Type": {"image/png"}},
		},
		{
			// API Gateway's own 502 for a malformed function response,
			// labelled JSON whatever the function's headers said.
			name:       "bad base64 body",
			resp:       httpapi.Response{StatusCode: http.StatusOK, Headers: map[string]string{"content-type": "image/png"}, Body: "!!!", IsBase64Encoded: true},
			wantStatus: http.StatusBadGateway,
			wantBody:   []byte("{\"message\":\"Internal Server Error\"}\n"),
			wantHeader: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name:       "endpoint error response passes through",
			resp:       httpapi.ErrorResponse(experiment.ErrNotFound(), "X", "r-1"),
			wantStatus: http.StatusNotFound,
			wantCode:   experiment.CodeNotFound,
		},
		{
			name:       "handler returns a plain error",
			err:        errors.New("function crashed: secret"),
			wantStatus: http.StatusInternalServerError,
			wantCode:   fault.CodeInternal,
		},
		{
			name:       "handler returns an api error",
			err:        fault.New(fault.Forbidden, fault.CodeForbidden, "no"),
			wantStatus: http.StatusForbidden,
			wantCode:   fault.CodeForbidden,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := gateway.New(gateway.Options{})
			g.Handle(getRoute, func(context.Context, httpapi.Request) (httpapi.Response, error) {
				return tc.resp, tc.err
			})
			w := serve(g, httptest.NewRequest("GET", "/v1/things/a/detail", nil))
			if tc.wantCode != "" {
				if !tc.rawError {
					expectError(t, w, tc.wantStatus, tc.wantCode)
				} else {
					var e errBody
					if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != tc.wantStatus || e.Error.Code != tc.wantCode {
						t.Fatalf("got %d %s, want %d %s", w.Code, w.Body.String(), tc.wantStatus, tc.wantCode)
					}
				}
				if strings.Contains(w.Body.String(), "secret") {
					t.Errorf("error body leaks the cause: %s", w.Body.String())
				}
				return
			}
			if w.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			if !bytes.Equal(w.Body.Bytes(), tc.wantBody) {
				t.Errorf("body = %q, want %q", w.Body.Bytes(), tc.wantBody)
			}
			for k, v := range tc.wantHeader {
				if got := w.Result().Header.Values(k); strings.Join(got, "|") != strings.Join(v, "|") {
					t.Errorf("header %s = %v, want %v", k, got, v)
				}
			}
		})
	}
}

func TestTimeoutReachesHandler(t *testing.T) {
	cases := []struct {
		name         string
		timeout      time.Duration
		wantDeadline bool
	}{
		{"with timeout", time.Hour, true},
		{"no timeout", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, rc := newGateway(tc.timeout)
			serve(g, httptest.NewRequest("GET", "/v1/things/a/detail", nil))
			if rc.hasDL != tc.wantDeadline {
				t.Errorf("handler context has deadline = %v, want %v", rc.hasDL, tc.wantDeadline)
			}
			if rc.ctxErr != nil {
				t.Errorf("handler context already done: %v", rc.ctxErr)
			}
		})
	}
}

func TestTimeoutExpires(t *testing.T) {
	g := gateway.New(gateway.Options{Timeout: time.Nanosecond})
	g.Handle(getRoute, func(ctx context.Context, _ httpapi.Request) (httpapi.Response, error) {
		<-ctx.Done() // returns once the gateway's timeout fires
		return httpapi.Response{}, ctx.Err()
	})
	w := serve(g, httptest.NewRequest("GET", "/v1/things/a/detail", nil))
	expectError(t, w, http.StatusInternalServerError, fault.CodeInternal)
}

func TestOverRealServer(t *testing.T) {
	g, rc := newGateway(time.Hour)
	srv := httptest.NewServer(g)
	defer srv.Close()

	req, err := http.NewRequest("POST", srv.URL+"/v1/things/k9?x=1&x=2", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-User-Id", "u-1")
	req.Header.Set("User-Agent", "gw-test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d content-type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var ev httpapi.Request
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatalf("echo: %v", err)
	}
	checks := []struct{ name, got, want string }{
		{"RouteKey", ev.RouteKey, "POST /v1/things/{key}"},
		{"key", ev.PathParameters["key"], "k9"},
		{"user", ev.Headers["x-user-id"], "u-1"},
		{"query", ev.QueryStringParameters["x"], "1,2"},
		{"raw query", ev.RawQueryString, "x=1&x=2"},
		{"body", ev.Body, `{"a":1}`},
		{"user agent", ev.RequestContext.HTTP.UserAgent, "gw-test"},
		{"path", ev.RequestContext.HTTP.Path, "/v1/things/k9"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if ev.RequestContext.HTTP.SourceIP == "" {
		t.Errorf("SourceIP empty")
	}
	if !rc.hasDL {
		t.Errorf("handler context lacks the gateway deadline")
	}

	// Unknown route over the wire.
	resp2, err := srv.Client().Get(srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var e errBody
	if err := json.NewDecoder(resp2.Body).Decode(&e); err != nil || resp2.StatusCode != http.StatusNotFound || e.Error.Code != fault.CodeNotFound {
		t.Errorf("unknown route: %d %+v %v", resp2.StatusCode, e, err)
	}

	// Oversized body over the wire.
	resp3, err := srv.Client().Post(srv.URL+"/v1/things/k9", "application/octet-stream", bytes.NewReader(make([]byte, 1<<20+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp3.Body.Close()
	if resp3.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d", resp3.StatusCode)
	}
}

// TestAuthorizerCache: answers are cached by identity-source values for the
// TTL, like API Gateway; errors are not cached.
func TestAuthorizerCache(t *testing.T) {
	calls := 0
	fail := false
	g := gateway.New(gateway.Options{AuthorizerCacheTTL: time.Minute})
	g.Authorize(func(_ context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		calls++
		if fail {
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, errors.New("down")
		}
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"key": req.IdentitySource[0]}}, nil
	})
	var seen []string
	g.Handle(routes.Route{Method: "GET", Path: "/v1/server/things", Function: "f"}, func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		seen = append(seen, req.RequestContext.Authorizer.Lambda["key"].(string))
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
	get := func(key string) int {
		r := httptest.NewRequest("GET", "/v1/server/things", nil)
		r.Header.Set("X-Api-Key", key)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w.Code
	}
	get("a")
	get("a")
	get("b")
	if calls != 2 || strings.Join(seen, ",") != "a,a,b" {
		t.Fatalf("calls=%d seen=%v; want 2 authorizer calls", calls, seen)
	}
	fail = true
	if get("c") != 500 || get("c") != 500 || calls != 4 {
		t.Fatalf("errors were cached: calls=%d", calls)
	}
	if get("") != 401 {
		t.Fatal("missing identity source not refused")
	}
	// Admin routes take a key or a token: no identity source, so no 401
	// before the authorizer and no cache (nothing to key it by).
	fail, calls = false, 0
	g.Authorize(func(_ context.Context, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		calls++
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"key": req.Headers["authorization"]}}, nil
	})
	g.Handle(routes.Route{Method: "GET", Path: "/v1/admin/things", Function: "f"}, func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
	for _, token := range []string{"Bearer t1", "Bearer t1", ""} {
		r := httptest.NewRequest("GET", "/v1/admin/things", nil)
		if token != "" {
			r.Header.Set("Authorization", token)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("admin route with %q: %d", token, w.Code)
		}
	}
	if calls != 3 {
		t.Fatalf("admin route: %d authorizer calls, want 3 (never cached)", calls)
	}
}

// TestCORS: a preflight from an allowed origin is answered without
// credentials; other origins get no CORS headers.
func TestCORS(t *testing.T) {
	g := gateway.New(gateway.Options{CORSOrigins: []string{"https://app.example"}})
	authorized := 0
	g.Authorize(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		authorized++
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{}}, nil
	})
	g.Handle(routes.Route{Method: "GET", Path: "/v1/admin/things", Function: "f"}, func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
	pre := httptest.NewRequest("OPTIONS", "/v1/admin/things", nil)
	pre.Header.Set("Origin", "https://app.example")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, pre)
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "x-api-key") || authorized != 0 {
		t.Fatalf("preflight: %d %v authorized=%d", w.Code, w.Header(), authorized)
	}
	get := httptest.NewRequest("GET", "/v1/admin/things", nil)
	get.Header.Set("Origin", "https://app.example")
	get.Header.Set("X-Api-Key", "k")
	w = httptest.NewRecorder()
	g.ServeHTTP(w, get)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("actual request: %d %v", w.Code, w.Header())
	}
	pre.Header.Set("Origin", "https://evil.example")
	w = httptest.NewRecorder()
	g.ServeHTTP(w, pre)
	if w.Code == 204 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d %v", w.Code, w.Header())
	}
}

// A public route (the health check) reaches its handler without any
// identity source and without the authorizer running; it still gets a
// request id.
func TestPublicRouteSkipsTheAuthorizer(t *testing.T) {
	g := gateway.New(gateway.Options{})
	authorized := 0
	g.Authorize(func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		authorized++
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, nil
	})
	g.Handle(routes.Route{Method: "GET", Path: "/v1/health", Function: "health", Public: true}, func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
	g.Handle(routes.Route{Method: "GET", Path: "/v1/server/things", Function: "f"}, func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/health", nil))
	if w.Code != 200 || authorized != 0 || w.Header().Get("X-Request-Id") == "" {
		t.Fatalf("health: status %d, authorizer ran %d times, request id %q", w.Code, authorized, w.Header().Get("X-Request-Id"))
	}
	w = httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", "/v1/server/things", nil))
	if w.Code != 401 {
		t.Fatalf("an authorized route without a key answered %d", w.Code)
	}
}
