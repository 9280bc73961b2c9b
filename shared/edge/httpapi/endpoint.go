package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Request and Response are the API Gateway HTTP API (payload v2) shapes every
// function receives and returns, on Lambda and behind the local gateway alike.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Handler is the one handler signature of the project.
type Handler func(context.Context, Request) (Response, error)

// Result is what an endpoint function answers on success.
type Result struct {
	Status int
	Body   any
	// Headers are added to a JSON response's (lower-case names), e.g. a
	// cache-control that allows caching.
	Headers map[string]string
}

// OK and Created are shorthands for the common results.
func OK(body any) Result      { return Result{Status: http.StatusOK, Body: body} }
func Created(body any) Result { return Result{Status: http.StatusCreated, Body: body} }

// Func is one route's logic, called only for an authorized caller.
type Func func(ctx context.Context, req Request, caller Caller) (Result, error)

// Endpoint turns a route's logic into a Handler. It checks the caller has
// role before anything else, so no route can forget to. It is also the one
// place where errors become HTTP: a *fault.Error keeps its code and gets the
// status of its kind; any other error (or a panic) becomes a 500 with
// failCode, its text logged and never sent. The returned error is always nil so API Gateway sees our
// response.
func Endpoint(logger *slog.Logger, failCode string, role apikey.Role, fn Func) Handler {
	return serve(logger, failCode, func(ctx context.Context, req Request) (Result, error) {
		return authorized(ctx, req, role, fn)
	})
}

// PublicFunc is the logic of a route that has no caller (routes.Route.Public).
type PublicFunc func(ctx context.Context, req Request) (Result, error)

// PublicEndpoint is Endpoint for a public route: no authorization.
func PublicEndpoint(logger *slog.Logger, failCode string, fn PublicFunc) Handler {
	return serve(logger, failCode, fn)
}

// serve runs fn and logs exactly one line per request: route, request id,
// status, error code and latency, the fields an operator filters on, and
// for a failure its cause (which the body never carries).
func serve(logger *slog.Logger, failCode string, fn PublicFunc) Handler {
	return func(ctx context.Context, req Request) (resp Response, _ error) {
		start := time.Now()
		var code, cause string
		defer func() {
			if p := recover(); p != nil {
				f := fault.Failed(failCode, nil)
				resp, code, cause = errorResponse(f, req.RequestContext.RequestID), f.Code, fmt.Sprint("panic: ", p)
			}
			// Every answer names its request, on AWS as behind the local
			// gateway: the id the logs and error bodies carry.
			if id := req.RequestContext.RequestID; id != "" {
				if resp.Headers == nil {
					resp.Headers = map[string]string{}
				}
				resp.Headers["x-request-id"] = id
			}
			attrs := []any{"route", req.RouteKey, "request_id", req.RequestContext.RequestID,
				"status", resp.StatusCode, "code", code, "latency_ms", float64(time.Since(start).Microseconds()) / 1000}
			level := slog.LevelInfo
			if resp.StatusCode >= 500 {
				level = slog.LevelError
				attrs = append(attrs, "error", cause)
			}
			logger.Log(ctx, level, "request", attrs...)
		}()
		res, err := fn(ctx, req)
		if err != nil {
			f := asFault(err, failCode)
			code, cause = f.Code, err.Error()
			return errorResponse(f, req.RequestContext.RequestID), nil
		}
		if raw, ok := res.Body.(Raw); ok {
			return raw.response(res.Status), nil
		}
		resp = JSON(res.Status, res.Body)
		for k, v := range res.Headers {
			resp.Headers[k] = v
		}
		return resp, nil
	}
}

// Raw is a result body sent as it is rather than as JSON: an export in CSV
// or JSON lines. Headers are added to the response's.
type Raw struct {
	ContentType string
	Body        string
	Headers     map[string]string
}

func (r Raw) response(status int) Response {
	h := map[string]string{"content-type": r.ContentType, "cache-control": "no-store"}
	for k, v := range r.Headers {
		h[k] = v
	}
	return Response{StatusCode: status, Headers: h, Body: r.Body}
}

// NoContent is the result of a route that answers 204.
func NoContent() Result { return Result{Status: http.StatusNoContent} }

// JSON builds a JSON response (an empty one for 204).
func JSON(status int, body any) Response {
	if status == http.StatusNoContent {
		return Response{StatusCode: status, Headers: map[string]string{"cache-control": "no-store"}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		// Only our own response types reach here; failing to encode one is a bug.
		return errorResponse(fault.Failed(fault.CodeInternal, err), "")
	}
	return Response{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json", "cache-control": "no-store"},
		Body:       string(b),
	}
}

// ErrorResponse renders err (a *fault.Error, or anything else as a 500 with
// failCode) without logging; for code paths outside Endpoint such as the
// local gateway's own 404. requestID is the one in the logs ("" for none).
func ErrorResponse(err error, failCode, requestID string) Response {
	return errorResponse(asFault(err, failCode), requestID)
}

// errorResponse renders the API's error body. It carries the request id, so
// whoever sees a failure can quote the id the logs hold.
func errorResponse(e *fault.Error, requestID string) Response {
	details := e.Details
	if details == nil {
		details = map[string]any{}
	}
	b, _ := json.Marshal(errorBody{Error: errorFields{Code: e.Code, Message: e.Message, Details: details, RequestID: requestID}})
	return Response{
		StatusCode: Status(e.Kind),
		Headers:    map[string]string{"content-type": "application/json", "cache-control": "no-store"},
		Body:       string(b),
	}
}

func authorized(ctx context.Context, req Request, role apikey.Role, fn Func) (Result, error) {
	caller, err := Authorize(req, role)
	if err != nil {
		return Result{}, err
	}
	return fn(ctx, req, caller)
}
