package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// decodeRaw unmarshals a response body into a generic map so the exact shape
// (including the type of "details") can be checked.
func decodeRaw(t *testing.T, resp httpapi.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("decode %q: %v", resp.Body, err)
	}
	return m
}

// errorFields checks the body is exactly {"error":{"code","message","details":{}}}
// with details an object, and returns the inner fields.
func errorFields(t *testing.T, resp httpapi.Response) (code, message string, details map[string]any) {
	t.Helper()
	m := decodeRaw(t, resp)
	if len(m) != 1 {
		t.Fatalf("error body has top-level keys other than \"error\": %s", resp.Body)
	}
	inner, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("error body lacks an \"error\" object: %s", resp.Body)
	}
	// request_id is there whenever the request had one (API Gateway always
	// gives one): TestErrorBodiesCarryRequestID.
	if id, ok := inner["request_id"]; ok {
		if s, _ := id.(string); s == "" {
			t.Fatalf("empty request id: %s", resp.Body)
		}
		delete(inner, "request_id")
	}
	if len(inner) != 3 {
		t.Fatalf("error object should have exactly code, message, details (and request_id): %s", resp.Body)
	}
	code, ok1 := inner["code"].(string)
	message, ok2 := inner["message"].(string)
	details, ok3 := inner["details"].(map[string]any)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("error object has wrong field types (details must be an object): %s", resp.Body)
	}
	return code, message, details
}

func checkJSONHeaders(t *testing.T, resp httpapi.Response) {
	t.Helper()
	if got := resp.Headers["content-type"]; got != "application/json" {
		t.Errorf("content-type = %q, want application/json", got)
	}
	if got := resp.Headers["cache-control"]; got != "no-store" {
		t.Errorf("cache-control = %q, want no-store", got)
	}
}

func bufLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestEndpoint(t *testing.T) {
	const failCode = "ASSIGNMENT_FAILED"
	const secret = "dynamodb: connection refused to 10.0.0.7"
	cases := []struct {
		name        string
		fn          httpapi.Func
		wantStatus  int
		wantCode    string // "" for success
		wantMessage string // checked when non-empty
		wantDetails map[string]any
		wantBody    string // checked for success
		wantLog     []string
		wantLevel   string
	}{
		{
			name: "ok",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.OK(map[string]string{"a": "b"}), nil
			},
			wantStatus: http.StatusOK,
			wantBody:   `{"a":"b"}`,
		},
		{
			name: "created",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.Created([]int{1, 2}), nil
			},
			wantStatus: http.StatusCreated,
			wantBody:   `[1,2]`,
		},
		{
			name: "api error without details",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.Result{}, experiment.ErrNotFound()
			},
			wantStatus:  http.StatusNotFound,
			wantCode:    experiment.CodeNotFound,
			wantMessage: "no such experiment",
			wantDetails: map[string]any{},
			wantLog:     []string{experiment.CodeNotFound, `"status":404`},
			wantLevel:   "INFO",
		},
		{
			name: "api error with details",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.Result{}, fault.New(fault.Conflict, "CONFLICT", "version mismatch").
					With(map[string]any{"version": 3})
			},
			wantStatus:  http.StatusConflict,
			wantCode:    "CONFLICT",
			wantMessage: "version mismatch",
			wantDetails: map[string]any{"version": float64(3)},
			wantLog:     []string{"CONFLICT"},
			wantLevel:   "INFO",
		},
		{
			name: "wrapped api error",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.Result{}, fmt.Errorf("feature: %w", fault.New(fault.Forbidden, fault.CodeForbidden, "nope"))
			},
			wantStatus:  http.StatusForbidden,
			wantCode:    fault.CodeForbidden,
			wantMessage: "nope",
			wantDetails: map[string]any{},
			wantLevel:   "INFO",
		},
		{
			name: "plain error becomes 500 with failCode",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.Result{}, errors.New(secret)
			},
			wantStatus:  http.StatusInternalServerError,
			wantCode:    failCode,
			wantDetails: map[string]any{},
			wantLog:     []string{secret, failCode, `"status":500`},
			wantLevel:   "ERROR",
		},
		{
			name: "internal api error hides its cause",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				return httpapi.Result{}, fault.Failed("STORE_FAILED", errors.New(secret))
			},
			wantStatus:  http.StatusInternalServerError,
			wantCode:    "STORE_FAILED",
			wantDetails: map[string]any{},
			wantLog:     []string{secret, "STORE_FAILED"},
			wantLevel:   "ERROR",
		},
		{
			name: "panic becomes 500 with failCode",
			fn: func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
				panic(secret)
			},
			wantStatus:  http.StatusInternalServerError,
			wantCode:    failCode,
			wantDetails: map[string]any{},
			wantLog:     []string{"panic: ", secret},
			wantLevel:   "ERROR",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logger, buf := bufLogger()
			req := adminRequest()
			req.RouteKey = "GET /v1/things/{key}"
			req.RequestContext.RequestID = "req-123"
			resp, err := httpapi.Endpoint(logger, failCode, apikey.RoleAdmin, tc.fn)(context.Background(), req)
			if err != nil {
				t.Fatalf("Endpoint returned error %v; must always be nil", err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			checkJSONHeaders(t, resp)
			if resp.Headers["x-request-id"] != "req-123" {
				t.Errorf("x-request-id header %q, want the request's id", resp.Headers["x-request-id"])
			}
			if tc.wantCode == "" {
				if resp.Body != tc.wantBody {
					t.Errorf("body = %s, want %s", resp.Body, tc.wantBody)
				}
				// One access line: JSON with the fields an operator filters on.
				var line map[string]any
				if err := json.Unmarshal(buf.Bytes(), &line); err != nil || strings.Count(buf.String(), "\n") != 1 {
					t.Fatalf("want one JSON log line, got %q (%v)", buf.String(), err)
				}
				for _, k := range []string{"route", "request_id", "status", "code", "latency_ms"} {
					if _, ok := line[k]; !ok {
						t.Errorf("log line lacks %q: %v", k, line)
					}
				}
				if line["status"] != float64(tc.wantStatus) || line["level"] != "INFO" || line["request_id"] != "req-123" {
					t.Errorf("log line = %v", line)
				}
				return
			}
			code, msg, details := errorFields(t, resp)
			if code != tc.wantCode {
				t.Errorf("code = %q, want %q", code, tc.wantCode)
			}
			if tc.wantMessage != "" && msg != tc.wantMessage {
				t.Errorf("message = %q, want %q", msg, tc.wantMessage)
			}
			if msg == "" {
				t.Errorf("empty message")
			}
			if !equalJSON(details, tc.wantDetails) {
				t.Errorf("details = %v, want %v", details, tc.wantDetails)
			}
			if tc.wantStatus >= 500 && strings.Contains(resp.Body, "connection refused") {
				t.Errorf("5xx body leaks the cause: %s", resp.Body)
			}
			log := buf.String()
			if strings.Count(log, "\n") != 1 {
				t.Fatalf("want exactly one log line, got %q", log)
			}
			for _, s := range tc.wantLog {
				if !strings.Contains(log, s) {
					t.Errorf("log %q lacks %q", log, s)
				}
			}
			if !strings.Contains(log, `"level":"`+tc.wantLevel+`"`) {
				t.Errorf("log %q not at level %s", log, tc.wantLevel)
			}
			for _, s := range []string{"req-123", "GET /v1/things/{key}"} {
				if !strings.Contains(log, s) {
					t.Errorf("log %q lacks request context %q", log, s)
				}
			}
		})
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestEndpointGenericMessageFor5xx(t *testing.T) {
	logger, _ := bufLogger()
	plain := httpapi.Endpoint(logger, "X_FAILED", apikey.RoleAdmin, func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
		return httpapi.Result{}, errors.New("boom-secret")
	})
	panicky := httpapi.Endpoint(logger, "X_FAILED", apikey.RoleAdmin, func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
		panic(errors.New("boom-secret"))
	})
	internal := fault.Failed("X_FAILED", nil)
	for name, h := range map[string]httpapi.Handler{"plain": plain, "panic": panicky} {
		resp, _ := h(context.Background(), adminRequest())
		_, msg, _ := errorFields(t, resp)
		if msg != internal.Message {
			t.Errorf("%s: message = %q, want the generic %q", name, msg, internal.Message)
		}
		if strings.Contains(resp.Body, "boom-secret") {
			t.Errorf("%s: body leaks the error text: %s", name, resp.Body)
		}
	}
}

func TestJSON(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		body       any
		wantStatus int
		wantBody   string
	}{
		{"object", http.StatusOK, map[string]int{"n": 1}, http.StatusOK, `{"n":1}`},
		{"null", http.StatusAccepted, nil, http.StatusAccepted, `null`},
		{"string", http.StatusOK, "x", http.StatusOK, `"x"`},
		{"unencodable", http.StatusOK, make(chan int), http.StatusInternalServerError, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := httpapi.JSON(tc.status, tc.body)
			checkJSONHeaders(t, resp)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantBody == "" {
				if code, _, _ := errorFields(t, resp); code != fault.CodeInternal {
					t.Errorf("code = %q, want %q", code, fault.CodeInternal)
				}
				return
			}
			if resp.Body != tc.wantBody {
				t.Errorf("body = %s, want %s", resp.Body, tc.wantBody)
			}
		})
	}
}

func TestErrorResponse(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{"api error", fault.New(fault.NotFound, fault.CodeNotFound, "no route"), http.StatusNotFound, fault.CodeNotFound},
		{"plain error", errors.New("secret cause"), http.StatusInternalServerError, "FAIL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := httpapi.ErrorResponse(tc.err, "FAIL", "req-1")
			checkJSONHeaders(t, resp)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if code, _, _ := errorFields(t, resp); code != tc.wantCode {
				t.Errorf("code = %q, want %q", code, tc.wantCode)
			}
			if strings.Contains(resp.Body, "secret cause") {
				t.Errorf("body leaks cause: %s", resp.Body)
			}
		})
	}
}

func TestErrorErrorAndUnwrap(t *testing.T) {
	cause := errors.New("root")
	e := fault.Failed("X", cause)
	if !errors.Is(e, cause) {
		t.Errorf("Internal error does not unwrap to its cause")
	}
	if !strings.Contains(e.Error(), "root") || !strings.Contains(e.Error(), "X") {
		t.Errorf("Error() = %q, want code and cause", e.Error())
	}
	n := fault.New(fault.Invalid, "BAD", "msg")
	if errors.Unwrap(n) != nil {
		t.Errorf("NewError has a cause")
	}
	d := n.With(map[string]any{"k": "v"})
	if n.Details != nil {
		t.Errorf("WithDetails modified the receiver")
	}
	if d.Details["k"] != "v" || d.Code != "BAD" || httpapi.Status(d.Kind) != http.StatusBadRequest {
		t.Errorf("WithDetails copy = %+v", d)
	}
}

// TestErrorBodiesCarryRequestID: every error an endpoint answers names the
// request, with the id API Gateway gave it (the one in the logs).
func TestErrorBodiesCarryRequestID(t *testing.T) {
	logger, _ := bufLogger()
	for name, fn := range map[string]httpapi.Func{
		"fault": func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
			return httpapi.Result{}, experiment.ErrNotFound()
		},
		"internal": func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) {
			return httpapi.Result{}, errors.New("x")
		},
		"panic": func(context.Context, httpapi.Request, httpapi.Caller) (httpapi.Result, error) { panic("x") },
	} {
		req := adminRequest()
		req.RequestContext.RequestID = "req-42"
		resp, _ := httpapi.Endpoint(logger, "X_FAILED", apikey.RoleAdmin, fn)(context.Background(), req)
		var body struct {
			Error struct {
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(resp.Body), &body) != nil || body.Error.RequestID != "req-42" {
			t.Errorf("%s: %s, want request_id req-42", name, resp.Body)
		}
	}
	// Refused callers too.
	req := adminRequest()
	req.RequestContext.RequestID = "req-43"
	req.RequestContext.Authorizer = nil
	resp, _ := httpapi.Endpoint(logger, "X_FAILED", apikey.RoleAdmin, nil)(context.Background(), req)
	if !strings.Contains(resp.Body, `"request_id":"req-43"`) || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refusal: %d %s", resp.StatusCode, resp.Body)
	}
}
