// Package fault is the one error model of the service: a failure the caller
// is told about carries a stable code (EXPERIMENT_NOT_FOUND, VERSION_CONFLICT,
// ...), a message for people, optional details, and a kind that says what
// sort of failure it is. Use cases return these; each edge (HTTP today, MCP
// and the CLI later) maps the kind to its own protocol in one place.
//
// Anything that is not a *Error is a dependency failure: edges answer it with
// their internal-failure code and never show its text.
package fault

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind is what sort of failure an error is, independent of any protocol.
type Kind uint8

const (
	// Internal: a dependency failed; the cause is logged, never shown.
	Internal Kind = iota
	// Invalid: the input is malformed or breaks a rule (HTTP 400).
	Invalid
	// Unauthenticated: no usable credentials (401).
	Unauthenticated
	// Forbidden: the caller may not do this (403).
	Forbidden
	// NotFound: the thing named does not exist (404).
	NotFound
	// Conflict: the current state forbids it (409).
	Conflict
	// TooLarge: the input is over a size limit (413).
	TooLarge
	// Unprocessable: well-formed, but the stored definition cannot serve it (422).
	Unprocessable
	// Unavailable: a dependency did not answer; try again later (503). The
	// message is the service's own, never the dependency's text.
	Unavailable
)

// Error is a failure with a stable code.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details map[string]any
	cause   error
}

// New returns an error of kind with a stable code.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Newf is New with a formatted message.
func Newf(kind Kind, code, format string, args ...any) *Error {
	return New(kind, code, fmt.Sprintf(format, args...))
}

// Failed is an internal failure with a stable code, for a dependency failure
// that must still carry details (what was stored before it, say). Its cause
// is for the logs only.
func Failed(code string, cause error) *Error {
	return &Error{Kind: Internal, Code: code, Message: "internal error; the request was not completed", cause: cause}
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.cause }

// With returns a copy of e carrying details.
func (e *Error) With(details map[string]any) *Error {
	c := *e
	c.Details = details
	return &c
}

// Because returns a copy of e that wraps cause (for the logs).
func (e *Error) Because(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var f *Error
	if errors.As(err, &f) {
		return f, true
	}
	return nil, false
}

// HasCode reports whether err is a *Error with code.
func HasCode(err error, code string) bool {
	f, ok := As(err)
	return ok && f.Code == code
}

// Codes shared by several capabilities. A capability's own codes live with it.
const (
	CodeInvalidJSON      = "INVALID_JSON"
	CodeInvalidKey       = "INVALID_KEY"
	CodePayloadTooLarge  = "PAYLOAD_TOO_LARGE"
	CodeUnauthenticated  = "UNAUTHENTICATED"
	CodeForbidden        = "FORBIDDEN"
	CodeValidationFailed = "VALIDATION_FAILED"
	CodeInvalidCursor    = "INVALID_CURSOR"
	CodeInternal         = "INTERNAL"
	CodeNotFound         = "NOT_FOUND"
)

// Validation is a VALIDATION_FAILED error naming every bad field.
func Validation(fields map[string]string) *Error {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return New(Invalid, CodeValidationFailed, "invalid fields: "+strings.Join(names, ", ")).With(map[string]any{"fields": fields})
}

// InvalidCursor answers a listing cursor this API did not issue.
func InvalidCursor() *Error {
	return New(Invalid, CodeInvalidCursor, "cursor is not one this API issued")
}
