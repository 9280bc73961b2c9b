// Package gateway is the local stand-in for API Gateway's HTTP API: it turns
// net/http requests into the payload v2 events Lambda receives, routes them
// to the same handlers the functions run, and writes their responses back.
// The local server and the end-to-end tests both serve through it.
package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

// Error codes of the requests the gateway refuses before any route, in the
// API's JSON error body ({"error":{"code","message","details"}}). A request
// no route matches is 404 fault.CodeNotFound.
const (
	// CodeInvalidPath (400): the request target is not a valid URI, e.g. a
	// malformed percent-escape in the path (/v1/admin/experiments/%zz). A
	// distinct code rather than NOT_FOUND: the request was not understood,
	// so no route was looked for. net/http refuses such a request before
	// any handler runs, so this answer needs the server's listener wrapped
	// with Listener.
	CodeInvalidPath = "INVALID_PATH"
	// CodeInvalidQuery (400): a malformed percent-escape in the query
	// string (?cursor=%%%). Refused rather than passed on without that
	// parameter, which would silently change the request's meaning.
	CodeInvalidQuery = "INVALID_QUERY"
	// CodeInvalidRequest (400): any other request net/http cannot parse
	// (a malformed request line or header), answered through Listener.
	CodeInvalidRequest = "INVALID_REQUEST"
)

// maxBody mirrors a limit at the edge; handlers apply the API's own, lower
// limit (httpapi.MaxBodyBytes) and answer 413 themselves.
const maxBody = 1 << 20

// Gateway serves a set of routes.
type Gateway struct {
	routes    []route
	documents map[string]document
	opts      Options
	authorize AuthorizerFunc

	mu    sync.Mutex
	cache map[string]cachedAuth
}

// Options configure a gateway.
type Options struct {
	// Timeout bounds each invocation, like a Lambda timeout.
	Timeout time.Duration
	// AuthorizerCacheTTL caches authorizer answers by identity-source
	// values, as API Gateway does; 0 disables the cache.
	AuthorizerCacheTTL time.Duration
	// CORSOrigins are the browser origins allowed, as in the stack's CORS
	// settings ("*" allows any); none disables CORS.
	CORSOrigins []string
}

type cachedAuth struct {
	res     events.APIGatewayV2CustomAuthorizerSimpleResponse
	expires time.Time
}

// AuthorizerFunc is a Lambda authorizer (HTTP API, payload 2.0, simple
// responses): the same function runs on AWS.
type AuthorizerFunc func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Authorize runs a before every handler, as API Gateway runs the Lambda
// authorizer attached to every route.
func (g *Gateway) Authorize(a AuthorizerFunc) { g.authorize = a }

type route struct {
	routes.Route
	segments []string
	handler  httpapi.Handler
}

// New returns a gateway.
func New(opts Options) *Gateway {
	return &Gateway{opts: opts, cache: map[string]cachedAuth{}, documents: map[string]document{}}
}

type document struct {
	contentType string
	body        []byte
}

// Document serves body at path (GET and HEAD) without authorization, before
// any route: the API's own description, /openapi.yaml. No route of the API
// has such a path.
func (g *Gateway) Document(path, contentType string, body []byte) {
	g.documents[path] = document{contentType: contentType, body: body}
}

// Handle serves r with h. r.Path is matched exactly, segment by segment (see
// match).
func (g *Gateway) Handle(r routes.Route, h httpapi.Handler) {
	g.routes = append(g.routes, route{Route: r, segments: strings.Split(strings.TrimPrefix(r.Path, "/"), "/"), handler: h})
}

// ServeHTTP implements http.Handler. Serve it through Listener so that
// requests net/http cannot parse get the API's error body too.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.cors(w, r) {
		return
	}
	// Every answer names its request, as API Gateway's apigw-requestid does;
	// the handlers log the same id and put it in error bodies.
	rid := requestID()
	w.Header().Set("X-Request-Id", rid)
	if d, ok := g.documents[r.URL.Path]; ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", d.contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(d.body)
		}
		return
	}
	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		writeResponse(w, httpapi.ErrorResponse(err, fault.CodeInternal, rid))
		return
	}
	rt, params := g.match(r.Method, r.URL.Path)
	if rt == nil {
		writeResponse(w, httpapi.ErrorResponse(fault.New(fault.NotFound, fault.CodeNotFound, "no route for "+r.Method+" "+r.URL.Path), fault.CodeInternal, rid))
		return
	}
	ev, err := toEvent(r, rt.Route, params, query, rid)
	if err != nil {
		writeResponse(w, httpapi.ErrorResponse(err, fault.CodeInternal, rid))
		return
	}
	ctx := r.Context()
	if g.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.opts.Timeout)
		defer cancel()
	}
	if g.authorize != nil && !rt.Public {
		if refusal, ok := g.runAuthorizer(ctx, rt.Route, &ev); !ok {
			writeResponse(w, refusal)
			return
		}
	}
	resp, err := rt.handler(ctx, ev)
	if err != nil {
		// API Gateway answers 500 when a function returns an error.
		writeResponse(w, httpapi.ErrorResponse(err, fault.CodeInternal, rid))
		return
	}
	writeResponse(w, resp)
}

// runAuthorizer does what API Gateway does around a Lambda authorizer: a
// request missing an identity source is refused with 401 without calling it,
// a failing authorizer gives 500, a denial 403 (API Gateway's own bodies),
// and an allowed request carries the authorizer's context to the handler.
func (g *Gateway) runAuthorizer(ctx context.Context, rt routes.Route, ev *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, bool) {
	var sources []string
	for _, h := range rt.IdentitySources() {
		v := ev.Headers[strings.ToLower(h)]
		if v == "" {
			return gatewayMessage(http.StatusUnauthorized, "Unauthorized"), false
		}
		sources = append(sources, v)
	}
	res, err := g.cachedAuthorize(ctx, rt, sources, events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteArn: "local", IdentitySource: sources,
		RouteKey: ev.RouteKey, RawPath: ev.RawPath, RawQueryString: ev.RawQueryString, Cookies: ev.Cookies,
		Headers: ev.Headers, QueryStringParameters: ev.QueryStringParameters, RequestContext: ev.RequestContext,
		PathParameters: ev.PathParameters,
	})
	if err != nil {
		return gatewayMessage(http.StatusInternalServerError, "Internal Server Error"), false
	}
	if !res.IsAuthorized {
		return gatewayMessage(http.StatusForbidden, "Forbidden"), false
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: res.Context}
	return events.APIGatewayV2HTTPResponse{}, true
}

// cachedAuthorize answers from the cache when the same identity sources were
// authorized within the TTL. Errors are never cached, as on AWS. The cache
// is per authorizer (routes.Route.AuthorizerName), as API Gateway's is.
func (g *Gateway) cachedAuthorize(ctx context.Context, rt routes.Route, sources []string, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	if g.opts.AuthorizerCacheTTL <= 0 || !rt.Cached() {
		// A route without identity sources (admin: key or token) is never
		// cached, as on AWS: there is nothing to key the answer by.
		return g.authorize(ctx, req)
	}
	key := rt.AuthorizerName() + "\x00" + strings.Join(sources, "\x00")
	now := time.Now()
	g.mu.Lock()
	c, ok := g.cache[key]
	g.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.res, nil
	}
	res, err := g.authorize(ctx, req)
	if err != nil {
		return res, err
	}
	g.mu.Lock()
	if len(g.cache) > 10000 {
		g.cache = map[string]cachedAuth{} // bounded: a local tool, not a CDN
	}
	g.cache[key] = cachedAuth{res: res, expires: now.Add(g.opts.AuthorizerCacheTTL)}
	g.mu.Unlock()
	return res, nil
}

// gatewayMessage is API Gateway's own error body.
func gatewayMessage(status int, msg string) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       `{"message":"` + msg + `"}`,
	}
}

// cors does what API Gateway's CORS configuration does: it answers a
// preflight from an allowed origin itself, before any authorizer (browsers
// send preflights without credentials), and marks other responses to an
// allowed origin. It reports whether it answered.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !g.originAllowed(origin) {
		return false
	}
	allow := origin
	if slices.Contains(g.opts.CORSOrigins, "*") {
		allow = "*"
	}
	w.Header().Set("Access-Control-Allow-Origin", allow)
	w.Header().Add("Vary", "Origin")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	var methods []string
	for _, rt := range g.routes {
		if !slices.Contains(methods, rt.Method) {
			methods = append(methods, rt.Method)
		}
	}
	w.Header().Set("Access-Control-Allow-Methods", strings.Join(methods, ","))
	w.Header().Set("Access-Control-Allow-Headers", "content-type,authorization,x-api-key,x-device-id")
	w.Header().Set("Access-Control-Max-Age", "3600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (g *Gateway) originAllowed(origin string) bool {
	return slices.Contains(g.opts.CORSOrigins, "*") || slices.Contains(g.opts.CORSOrigins, origin)
}

// match finds the route for a request the way API Gateway's HTTP API does:
// path is the request path percent-decoded once (net/http's URL.Path), and
// it must equal a route's path segment by segment. Nothing is normalised:
// an empty segment (//v1/..., /v1//admin, a trailing slash the route lacks)
// or a dot segment (/v1/admin/../admin/experiments, also spelled %2E%2E)
// matches no route, and no redirect is made (net/http's ServeMux would clean
// such paths with a 301; the gateway is the server's handler, no mux). A
// {param} takes exactly one non-empty segment, as decoded: an encoded slash
// (%2F) is a separator once decoded, so it never appears in a parameter,
// and nothing is decoded twice (%252F arrives as %2F). The one exception is
// a route marked TrailingSlash, which also matches its path with one slash
// added.
func (g *Gateway) match(method, path string) (*route, map[string]string) {
	if !strings.HasPrefix(path, "/") {
		return nil, nil
	}
	segs := strings.Split(path[1:], "/")
	// One trailing slash is kept apart: only a route marked TrailingSlash
	// (the console's page, /console/) matches with it.
	slash := len(segs) > 1 && segs[len(segs)-1] == ""
	if slash {
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return nil, nil
		}
	}
	for i := range g.routes {
		rt := &g.routes[i]
		if rt.Method != method || len(rt.segments) != len(segs) || (slash && !rt.TrailingSlash) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, s := range rt.segments {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				params[s[1:len(s)-1]] = segs[j]
			} else if s != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// parseQuery decodes a query string as url.ParseQuery does, except that a
// malformed percent-escape is an error (CodeInvalidQuery) rather than a
// parameter silently left out: ?cursor=%%% must not list the first page.
// A pair holding a semicolon is still left out, as url.ParseQuery does.
func parseQuery(raw string) (url.Values, error) {
	q := url.Values{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" || strings.Contains(part, ";") {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fault.New(fault.Invalid, CodeInvalidQuery, "the query string is not valid: a % must begin a percent-escape of two hex digits")
		}
		q[key] = append(q[key], val)
	}
	return q, nil
}

func toEvent(r *http.Request, rt routes.Route, params map[string]string, q url.Values, rid string) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, fault.New(fault.Invalid, fault.CodeInvalidJSON, "could not read the request body")
	}
	if len(body) > maxBody {
		return events.APIGatewayV2HTTPRequest{}, fault.New(fault.TooLarge, fault.CodePayloadTooLarge, "request body too large")
	}
	headers := make(map[string]string, len(r.Header))
	for name, values := range r.Header {
		if strings.EqualFold(name, "cookie") {
			continue
		}
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	var query map[string]string
	if len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, v := range q {
			query[k] = strings.Join(v, ",")
		}
	}
	var cookies []string
	for _, c := range r.Cookies() {
		cookies = append(cookies, c.String())
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now().UTC()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.Key(),
			AccountID:    "local",
			Stage:        "$default",
			RequestID:    rid,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: "local",
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
		},
	}
	// Like API Gateway: text bodies pass as they are, binary ones in base64.
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev, nil
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			// API Gateway answers a malformed function response with 502.
			writeResponse(w, gatewayMessage(http.StatusBadGateway, "Internal Server Error"))
			return
		}
		body = b
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	// JSON bodies (application/json, or a +json type) end with a newline,
	// so that curl's output and the shell prompt, or two answers in a row,
	// land on separate lines.
	if mt, _, err := mime.ParseMediaType(w.Header().Get("Content-Type")); err == nil &&
		(mt == "application/json" || strings.HasSuffix(mt, "+json")) && len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body[:len(body):len(body)], '\n')
		w.Header().Del("Content-Length") // net/http counts the body itself
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func requestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "local"
	}
	return hex.EncodeToString(b[:])
}

// Listener wraps l, the listener of the http.Server whose handler is a
// Gateway, so that requests net/http refuses before any handler runs get the
// API's JSON error body instead of Go's plain-text "400 Bad Request": 400
// CodeInvalidPath when the request target is not a valid URI (a malformed
// percent-escape in the path, such as /v1/admin/experiments/%zz), 400
// CodeInvalidRequest for any other malformed request line or header. Serve
// with srv.Serve(gateway.Listener(ln)), or set an httptest.Server's Listener
// before starting it.
func Listener(l net.Listener) net.Listener { return listener{l} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// readWindow is how much of what a connection last read is kept to tell why
// a request was refused (a request line is rarely longer).
const readWindow = 8 << 10

// conn replaces net/http's own answer to an unparsable request. net/http
// writes that answer in one Write, as a fixed text, and closes the
// connection. A response to a handler never begins that way (net/http adds
// a Date header to it): only a body write that happened to be exactly this
// text could be mistaken for it.
type conn struct {
	net.Conn
	mu   sync.Mutex
	read []byte // the last bytes read, at most readWindow
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.read = append(c.read, p[:n]...)
		if over := len(c.read) - readWindow; over > 0 {
			c.read = c.read[:copy(c.read, c.read[over:])]
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	reason, ok := serverBadRequest(p)
	if !ok {
		return c.Conn.Write(p)
	}
	c.mu.Lock()
	invalidTarget := hasInvalidTarget(c.read)
	c.mu.Unlock()
	e := fault.New(fault.Invalid, CodeInvalidRequest, "malformed HTTP request")
	switch {
	case invalidTarget:
		e = fault.New(fault.Invalid, CodeInvalidPath, "the request path is not valid: a % must begin a percent-escape of two hex digits")
	case reason != "":
		e.Message += ": " + reason
	}
	resp := httpapi.ErrorResponse(e, fault.CodeInternal, "")
	out := fmt.Sprintf("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(resp.Body), resp.Body)
	if _, err := io.WriteString(c.Conn, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite keeps the half-close net/http uses on TCP connections.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// serverBadRequest reports whether p is net/http's answer to a request it
// could not parse (server.go: "400 Bad Request", or "400 Bad Request: "
// and a fixed reason), and the reason.
func serverBadRequest(p []byte) (string, bool) {
	const (
		status  = "HTTP/1.1 400 Bad Request"
		headers = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
		body    = "400 Bad Request"
	)
	rest, ok := bytes.CutPrefix(p, []byte(status))
	if !ok {
		return "", false
	}
	if string(rest) == headers+body {
		return "", true
	}
	rest, ok = bytes.CutPrefix(rest, []byte(": "))
	reason, tail, found := bytes.Cut(rest, []byte(headers))
	if !ok || !found || len(reason) == 0 || string(tail) != body+": "+string(reason) {
		return "", false
	}
	return string(reason), true
}

// hasInvalidTarget reports whether data holds a request line whose target
// is not a valid request URI, which is what net/http refused. A request it
// served cannot have one, so the line found is the refused request's.
func hasInvalidTarget(data []byte) bool {
	for line := range bytes.Lines(data) {
		method, rest, ok1 := strings.Cut(strings.TrimRight(string(line), "\r\n"), " ")
		target, proto, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 || method == "" || target == "" || !strings.HasPrefix(proto, "HTTP/") || strings.Contains(proto, " ") {
			continue
		}
		if method == http.MethodConnect && !strings.HasPrefix(target, "/") {
			target = "http://" + target // as net/http reads CONNECT's authority form
		}
		if _, err := url.ParseRequestURI(target); err != nil {
			return true
		}
	}
	return false
}
