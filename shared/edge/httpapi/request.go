package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// MaxBodyBytes is the largest request body accepted (64 KiB).
const MaxBodyBytes = 64 << 10

// Body returns the decoded request body, refusing bodies over MaxBodyBytes
// with 413 and malformed base64 with 400.
func Body(req Request) ([]byte, error) { return BodyUpTo(req, MaxBodyBytes) }

// BodyUpTo is Body with a route's own limit, for the few routes whose
// bodies are long lists (a saved group's values).
func BodyUpTo(req Request, limit int) ([]byte, error) {
	if !req.IsBase64Encoded {
		if len(req.Body) > limit {
			return nil, tooLarge(limit)
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > limit+3 {
		return nil, tooLarge(limit)
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, fault.New(fault.Invalid, fault.CodeInvalidJSON, "request body is not valid base64")
	}
	if len(b) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int) *fault.Error {
	return fault.New(fault.TooLarge, fault.CodePayloadTooLarge, fmt.Sprintf("request body exceeds %d bytes", limit)).
		With(map[string]any{"max_bytes": limit})
}

// IsEmptyBody reports whether a body carries nothing (absent, JSON white
// space only, or JSON null).
func IsEmptyBody(b []byte) bool {
	t := TrimJSONSpace(b)
	return len(t) == 0 || string(t) == "null"
}

// TrimJSONSpace trims the white space JSON allows around a value (space,
// tab, CR, LF) and nothing else, so a body is JSON exactly when the standard
// says it is.
func TrimJSONSpace(b []byte) []byte {
	return bytes.Trim(b, " \t\r\n")
}

// ValidJSON reports whether b is one well-formed JSON value in valid UTF-8.
// Invalid UTF-8 is refused rather than silently replaced, so whatever is
// accepted is stored and served back as sent.
func ValidJSON(b []byte) bool { return utf8.Valid(b) && json.Valid(b) }

// DecodeObject decodes a JSON object body into dst. With strict, unknown
// fields are an error so typos are caught instead of silently ignored.
func DecodeObject(b []byte, dst any, strict bool) error {
	t := TrimJSONSpace(b)
	if len(t) == 0 || t[0] != '{' || !ValidJSON(t) {
		return fault.New(fault.Invalid, fault.CodeInvalidJSON, "request body must be a JSON object (UTF-8)")
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		if field, problem, ok := FieldProblem(err); ok {
			return fault.New(fault.Invalid, fault.CodeValidationFailed, field+" "+problem).
				With(map[string]any{"fields": map[string]string{field: problem}})
		}
		return fault.New(fault.Invalid, fault.CodeInvalidJSON, "request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return fault.New(fault.Invalid, fault.CodeInvalidJSON, "request body has data after the JSON object")
	}
	return nil
}

// ExperimentKey returns the {key} path parameter, validated.
func ExperimentKey(req Request) (string, error) {
	key := req.PathParameters["key"]
	if !experiment.ValidKey(key) {
		return "", fault.New(fault.Invalid, fault.CodeInvalidKey, "experiment key must match "+experiment.KeyPattern).
			With(map[string]any{"pattern": experiment.KeyPattern})
	}
	return key, nil
}

// FieldProblem turns a decoding error of encoding/json into the JSON field
// it concerns and what was expected there, in the API's words rather than
// Go's ("must be a string", "unknown field"). ok is false for other errors.
func FieldProblem(err error) (field, problem string, ok bool) {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field = typeErr.Field
		if field == "" {
			field = "body"
		}
		return field, "must be " + jsonKind(typeErr.Type), true
	}
	// encoding/json has no type for this one: `json: unknown field "name"`.
	if name, found := strings.CutPrefix(err.Error(), "json: unknown field "); found {
		if unq, err := strconv.Unquote(name); err == nil {
			name = unq
		}
		return name, "is not a known field", true
	}
	return "", "", false
}

// jsonKind names a Go type as the JSON value it decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a JSON object"
}

// Items decodes a body {"<field>": [ ... ]} (no other fields) into its
// items, each left as JSON for the route to judge alone: a batch.
func Items(req Request, field string) ([]json.RawMessage, error) {
	invalid := func(msg string) error {
		return fault.New(fault.Invalid, fault.CodeValidationFailed, msg).
			With(map[string]any{"fields": map[string]string{field: msg}})
	}
	body, err := Body(req)
	if err != nil {
		return nil, err
	}
	if IsEmptyBody(body) {
		return nil, invalid(fmt.Sprintf("the body must be {%q:[...]}", field))
	}
	var in map[string]json.RawMessage
	if err := DecodeObject(body, &in, false); err != nil {
		return nil, err
	}
	for k := range in {
		if k != field {
			return nil, fault.New(fault.Invalid, fault.CodeValidationFailed, k+" is not a known field").
				With(map[string]any{"fields": map[string]string{k: "is not a known field"}})
		}
	}
	var raw []json.RawMessage
	if t := TrimJSONSpace(in[field]); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &raw) != nil {
		return nil, invalid(field + " must be an array")
	}
	return raw, nil
}

// JSONText is a JSON value as text, for vendors' APIs that answer strings:
// a string as it is, anything else as its JSON text (true, 3.5, {"a":1}).
func JSONText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(TrimJSONSpace(v))
}
