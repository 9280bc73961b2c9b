package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/abtest/abtest/shared/domain/fault"
)

// CodeInvalidAttributes: a unit's targeting attributes (a query parameter
// or a body field) are not a JSON object of at most MaxAttributesBytes.
const CodeInvalidAttributes = "INVALID_ATTRIBUTES"

// MaxAttributesBytes bounds the attributes (after URL decoding).
const MaxAttributesBytes = 8 << 10

// QueryAttributes decodes the attributes query parameter: a URL-encoded
// JSON object of the unit's targeting attributes ("" or absent: none).
func QueryAttributes(req Request) (map[string]any, error) {
	return Attributes(req.QueryStringParameters["attributes"])
}

// Attributes decodes a unit's targeting attributes from JSON text ("":
// none).
func Attributes(raw string) (map[string]any, error) {
	if raw == "" {
		return nil, nil
	}
	if len(raw) > MaxAttributesBytes {
		return nil, fault.New(fault.Invalid, CodeInvalidAttributes, fmt.Sprintf("attributes must be at most %d bytes of JSON", MaxAttributesBytes))
	}
	t := bytes.TrimSpace([]byte(raw))
	var attrs map[string]any
	if len(t) == 0 || t[0] != '{' || !ValidJSON(t) || json.Unmarshal(t, &attrs) != nil {
		return nil, fault.New(fault.Invalid, CodeInvalidAttributes,
			`attributes must be a URL-encoded JSON object, e.g. attributes=%7B%22country%22%3A%22US%22%7D for {"country":"US"}`)
	}
	return attrs, nil
}
