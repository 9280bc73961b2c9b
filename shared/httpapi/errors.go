// Package httpapi is the HTTP edge every function shares: it reads bodies and
// path keys, says who is calling, and turns typed errors into responses with
// the one error body the API documents:
//
//	{"error":{"code":"...","message":"...","details":{...}}}
package httpapi

import (
	"fmt"
	"net/http"
)

// Error is a failure the caller is told about. Status and Code are stable API;
// Message is for humans. A 5xx Error never shows its cause to the caller:
// the cause is logged instead.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Code, e.Status, e.Message, e.cause)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.cause }

// NewError returns a client-visible error.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(details map[string]any) *Error {
	c := *e
	c.Details = details
	return &c
}

// Internal is a 500 whose cause is logged, never sent.
func Internal(code string, cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: code, Message: "internal error; the request was not completed", cause: cause}
}

// Codes shared by several routes. Route-specific codes live with the feature
// that raises them.
const (
	CodeInvalidJSON      = "INVALID_JSON"
	CodeInvalidKey       = "INVALID_KEY"
	CodePayloadTooLarge  = "PAYLOAD_TOO_LARGE"
	CodeUnauthenticated  = "UNAUTHENTICATED"
	CodeForbidden        = "FORBIDDEN"
	CodeValidationFailed = "VALIDATION_FAILED"
	CodeInternal         = "INTERNAL"
	CodeNotFound         = "NOT_FOUND"
	// CodeExperimentNotFound answers every route for an unknown or archived key.
	CodeExperimentNotFound = "EXPERIMENT_NOT_FOUND"
)

// ExperimentNotFound is the answer for an unknown or archived experiment.
func ExperimentNotFound() *Error {
	return NewError(http.StatusNotFound, CodeExperimentNotFound, "no such experiment")
}

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}
