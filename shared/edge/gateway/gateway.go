// Package gateway is the local stand-in for API Gateway's HTTP API: it turns
// net/http requests into the payload v2 events Lambda receives, routes them
// to the same handlers the functions run, and writes their responses back.
// The local server and the end-to-end tests both serve through it.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"

	"io"
	"net"
	"net/http"
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

// maxBody mirrors a limit at the edge; handlers apply the API's own, lower
// limit (httpapi.MaxBodyBytes) and answer 413 themselves.
const maxBody = 1 << 20

// Gateway serves a set of routes.
type Gateway struct {
	routes    []route
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
func New(opts Options) *Gateway { return &Gateway{opts: opts, cache: map[string]cachedAuth{}} }

// Handle serves r with h.
func (g *Gateway) Handle(r routes.Route, h httpapi.Handler) {
	g.routes = append(g.routes, route{Route: r, segments: strings.Split(strings.Trim(r.Path, "/"), "/"), handler: h})
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.cors(w, r) {
		return
	}
	rt, params := g.match(r.Method, r.URL.Path)
	if rt == nil {
		writeResponse(w, httpapi.ErrorResponse(fault.New(fault.NotFound, fault.CodeNotFound, "no route for "+r.Method+" "+r.URL.Path), fault.CodeInternal))
		return
	}
	ev, err := toEvent(r, rt.Route, params)
	if err != nil {
		writeResponse(w, httpapi.ErrorResponse(err, fault.CodeInternal))
		return
	}
	ctx := r.Context()
	if g.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.opts.Timeout)
		defer cancel()
	}
	if g.authorize != nil {
		if refusal, ok := g.runAuthorizer(ctx, rt.Route, &ev); !ok {
			writeResponse(w, refusal)
			return
		}
	}
	resp, err := rt.handler(ctx, ev)
	if err != nil {
		// API Gateway answers 500 when a function returns an error.
		writeResponse(w, httpapi.ErrorResponse(err, fault.CodeInternal))
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
// is per authorizer, and each route class has its own identity sources.
func (g *Gateway) cachedAuthorize(ctx context.Context, rt routes.Route, sources []string, req events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	if g.opts.AuthorizerCacheTTL <= 0 {
		return g.authorize(ctx, req)
	}
	key := strings.Join(rt.IdentitySources(), ",") + "\x00" + strings.Join(sources, "\x00")
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
	w.Header().Set("Access-Control-Allow-Headers", "content-type,authorization,x-api-key")
	w.Header().Set("Access-Control-Max-Age", "3600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (g *Gateway) originAllowed(origin string) bool {
	return slices.Contains(g.opts.CORSOrigins, "*") || slices.Contains(g.opts.CORSOrigins, origin)
}

func (g *Gateway) match(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range g.routes {
		rt := &g.routes[i]
		if rt.Method != method || len(rt.segments) != len(segs) {
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

func toEvent(r *http.Request, rt routes.Route, params map[string]string) (events.APIGatewayV2HTTPRequest, error) {
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
	if q := r.URL.Query(); len(q) > 0 {
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
			RequestID:    requestID(),
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
