// Package httpapitest builds API Gateway v2 events and reads responses in
// handler tests.
package httpapitest

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

// TestRequestID is the request id of the events built here; every error
// body must carry it.
const TestRequestID = "test-request-id"

// Request builds an event for a client route with an experiment key, the end
// user the authorizer verified ("" = no credentials) and a body.
func Request(key, userID, body string) httpapi.Request {
	req := httpapi.Request{
		PathParameters: map[string]string{"key": key},
		Headers:        map[string]string{},
		Body:           body,
	}
	req.RequestContext.RequestID = TestRequestID
	if userID != "" {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{
			httpapi.CtxRole: string(apikey.RoleClient), httpapi.CtxKeyID: "test-client-key", httpapi.CtxUserID: userID,
		}}
	}
	return req
}

// AdminRequest builds an event for an admin route as an admin key would.
func AdminRequest(route routes.Route, key, body string) httpapi.Request {
	req := httpapi.Request{
		RouteKey:       route.Key(),
		PathParameters: map[string]string{},
		Headers:        map[string]string{},
		Body:           body,
	}
	req.RequestContext.RouteKey = route.Key()
	req.RequestContext.RequestID = TestRequestID
	if key != "" {
		req.PathParameters["key"] = key
	}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{
		httpapi.CtxRole: string(apikey.RoleAdmin), httpapi.CtxKeyID: "test-admin-key",
	}}
	return req
}

// Decode unmarshals a response body, failing the test on bad JSON.
func Decode(t testing.TB, resp httpapi.Response, dst any) {
	t.Helper()
	if err := json.Unmarshal([]byte(resp.Body), dst); err != nil {
		t.Fatalf("decode %q: %v", resp.Body, err)
	}
}

// ErrorBody is the API's error body.
type ErrorBody struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Details   map[string]any `json:"details"`
		RequestID string         `json:"request_id"`
	} `json:"error"`
}

// ExpectError checks a response is an error with the status and code.
func ExpectError(t testing.TB, resp httpapi.Response, status int, code string) ErrorBody {
	t.Helper()
	var e ErrorBody
	Decode(t, resp, &e)
	if resp.StatusCode != status || e.Error.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Error.Code, resp.Body, status, code)
	}
	if e.Error.Message == "" || e.Error.Details == nil || e.Error.RequestID == "" {
		t.Fatalf("error body lacks message, details or request_id: %s", resp.Body)
	}
	return e
}

// RouteRequest builds an event for route as a key of role would send it;
// userID is the session's subject (client role only).
func RouteRequest(route routes.Route, role apikey.Role, userID, body string) httpapi.Request {
	req := httpapi.Request{RouteKey: route.Key(), PathParameters: map[string]string{}, QueryStringParameters: map[string]string{},
		Headers: map[string]string{}, Body: body}
	req.RequestContext.RouteKey = route.Key()
	req.RequestContext.RequestID = TestRequestID
	lambda := map[string]any{httpapi.CtxRole: string(role), httpapi.CtxKeyID: "test-" + string(role) + "-key"}
	if userID != "" {
		lambda[httpapi.CtxUserID] = userID
	}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: lambda}
	return req
}
