// Package apispectest checks, in tests, that what the service answers is
// what docs/openapi.yaml says: wrap a test's HTTP handler or Lambda-shaped
// handler once, and every response of every test going through it is
// validated (kin-openapi's request and response validation, plus each
// error's code against its status's x-error-codes).
package apispectest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/abtest/abtest/shared/edge/apispec"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

var loaded struct {
	once sync.Once
	v    *apispec.Validator
	err  error
}

// Validator returns the test binary's validator (the document is loaded
// once; its Checked counts span the binary's tests).
func Validator(t testing.TB) *apispec.Validator {
	t.Helper()
	loaded.once.Do(func() { loaded.v, loaded.err = apispec.NewValidator(context.Background()) })
	if loaded.err != nil {
		t.Fatal(loaded.err)
	}
	return loaded.v
}

// Serve wraps an HTTP handler (the local gateway): each exchange that
// reaches a documented operation is validated, and a mismatch fails t.
func Serve(t testing.TB, next http.Handler) http.Handler {
	t.Helper()
	return Validator(t).Middleware(next, func(err error) { t.Errorf("openapi: %v", err) })
}

// Handler wraps a function's handler as the handler tests call it: each
// response to a route of function is validated against its operation, and
// a mismatch fails t. The route is the event's route key, or the
// function's one route for events without one (client functions). Events
// for another function's routes (tests of misrouting) are not checked.
func Handler(t testing.TB, function string, next httpapi.Handler) httpapi.Handler {
	t.Helper()
	v := Validator(t)
	var own []routes.Route
	for _, r := range routes.All {
		if r.Function == function {
			own = append(own, r)
		}
	}
	if len(own) == 0 {
		t.Fatalf("apispectest: function %q serves no route", function)
	}
	return func(ctx context.Context, ev httpapi.Request) (httpapi.Response, error) {
		resp, err := next(ctx, ev)
		if err != nil {
			return resp, err
		}
		route, ok := routeOf(own, ev.RouteKey)
		if !ok {
			return resp, err
		}
		if cerr := CheckEvent(ctx, v, route, ev, resp); cerr != nil && !errors.Is(cerr, apispec.ErrNoOperation) {
			t.Errorf("openapi: %v", cerr)
		}
		return resp, err
	}
}

func routeOf(own []routes.Route, key string) (routes.Route, bool) {
	if key == "" && len(own) == 1 {
		return own[0], true
	}
	for _, r := range own {
		if r.Key() == key {
			return r, true
		}
	}
	return routes.Route{}, false
}

// CheckEvent validates one API Gateway exchange: the request as the event
// describes it (route key, path parameters, query, headers, body) and the
// function's response.
func CheckEvent(ctx context.Context, v *apispec.Validator, route routes.Route, ev httpapi.Request, resp httpapi.Response) error {
	method, path := route.Method, route.Path
	for name, val := range ev.PathParameters {
		path = strings.ReplaceAll(path, "{"+name+"}", val)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://local", nil)
	if err != nil {
		return err
	}
	req.URL = apispec.URL(path, ev.QueryStringParameters)
	for k, val := range ev.Headers {
		req.Header.Set(k, val)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(ev.Body); err == nil {
			body = b
		}
	}
	header := http.Header{}
	for k, val := range resp.Headers {
		header.Set(k, val)
	}
	respBody := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
			respBody = b
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	return v.Check(ctx, apispec.Exchange{Request: req, RequestBody: bytes.Clone(body), Status: status, Header: header, Body: respBody})
}
