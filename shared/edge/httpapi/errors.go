// Package httpapi is the HTTP edge every function shares: it reads bodies and
// path keys, says who is calling, and turns the use cases' errors
// (shared/domain/fault) into responses with the one error body the API
// documents:
//
//	{"error":{"code":"...","message":"...","details":{...}}}
package httpapi

import (
	"net/http"

	"github.com/abtest/abtest/shared/domain/fault"
)

// Status is the one place where a kind of failure becomes an HTTP status.
func Status(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.Unprocessable:
		return http.StatusUnprocessableEntity
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// internalMessage is all a caller learns of a dependency failure.
const internalMessage = "internal error; the request was not completed"

// asFault returns err as a *fault.Error, making any other error an internal
// failure with failCode. An internal failure's message is always replaced:
// 5xx bodies never carry internal text.
func asFault(err error, failCode string) *fault.Error {
	f, ok := fault.As(err)
	if !ok {
		return fault.Failed(failCode, err)
	}
	if f.Kind == fault.Internal && f.Message != internalMessage {
		c := *f
		c.Message = internalMessage
		return &c
	}
	return f
}

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
	// RequestID names the request in the logs.
	RequestID string `json:"request_id,omitempty"`
}
