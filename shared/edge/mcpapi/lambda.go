package mcpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/buildinfo"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// CodeFailed: the MCP function failed outright (a tool's own failures are
// tool errors inside a 200).
const CodeFailed = "MCP_FAILED"

// Wire builds the mcp function's handler: the tools on the use cases.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, buildinfo.Version(), experiments.New(d.Definitions, d.Store, d.Now), results.New(d.Definitions, d.Store, d.Now))
}

type callerKey struct{}

// New serves MCP's streamable HTTP transport, stateless with JSON answers
// (no session outlives a request, so any Lambda instance can answer), to an
// admin key: the route is behind the authorizer like every admin route, and
// the tools record the key's id as who made a change.
func New(logger *slog.Logger, version string, exps Experiments, res Results) httpapi.Handler {
	server := NewServer(version, exps, res, func(ctx context.Context, _ *mcp.CallToolRequest) string {
		if id, ok := ctx.Value(callerKey{}).(string); ok {
			return id
		}
		return "mcp"
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: logger})
	return httpapi.Endpoint(logger, CodeFailed, apikey.RoleAdmin, func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
		hreq, err := toHTTP(context.WithValue(ctx, callerKey{}, caller.KeyID), req)
		if err != nil {
			return httpapi.Result{}, err
		}
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, hreq)
		headers := map[string]string{}
		for k, v := range rec.header {
			if !strings.EqualFold(k, "Content-Type") {
				headers[strings.ToLower(k)] = strings.Join(v, ",")
			}
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		return httpapi.Result{Status: status, Body: httpapi.Raw{ContentType: rec.header.Get("Content-Type"), Body: rec.body.String(), Headers: headers}}, nil
	})
}

// toHTTP is the request an API Gateway event describes.
func toHTTP(ctx context.Context, req httpapi.Request) (*http.Request, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return nil, err
	}
	method := req.RequestContext.HTTP.Method
	if method == "" {
		method, _, _ = strings.Cut(req.RouteKey, " ")
	}
	u := &url.URL{Path: routes.MCP.Path, RawQuery: req.RawQueryString}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fault.New(fault.Invalid, fault.CodeInvalidJSON, "the request could not be read")
	}
	hreq.Host = req.RequestContext.DomainName
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	return hreq, nil
}

// recorder keeps a response the MCP handler writes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
