package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

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
	return func(ctx context.Context, req Request) (resp Response, _ error) {
		defer func() {
			if p := recover(); p != nil {
				logger.ErrorContext(ctx, "handler panic", "panic", p, "route", req.RouteKey, "request_id", req.RequestContext.RequestID)
				resp = errorResponse(fault.Failed(failCode, nil), req.RequestContext.RequestID)
			}
		}()
		res, err := authorized(ctx, req, role, fn)
		if err != nil {
			f := asFault(err, failCode)
			status := Status(f.Kind)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.Log(ctx, level, "request failed", "route", req.RouteKey, "request_id", req.RequestContext.RequestID,
				"status", status, "code", f.Code, "error", err.Error())
			return errorResponse(f, req.RequestContext.RequestID), nil
		}
		return JSON(res.Status, res.Body), nil
	}
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
