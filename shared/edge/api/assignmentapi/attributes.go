package assignmentapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// CodeInvalidAttributes: the attributes query parameter is not a JSON
// object of at most MaxAttributesBytes.
const CodeInvalidAttributes = "INVALID_ATTRIBUTES"

// MaxAttributesBytes bounds the attributes parameter (after URL decoding).
const MaxAttributesBytes = 8 << 10

// attributes decodes the attributes query parameter: a URL-encoded JSON
// object of the unit's targeting attributes ("" or absent: none).
func attributes(req httpapi.Request) (map[string]any, error) {
	raw, ok := req.QueryStringParameters["attributes"]
	if !ok || raw == "" {
		return nil, nil
	}
	if len(raw) > MaxAttributesBytes {
		return nil, fault.New(fault.Invalid, CodeInvalidAttributes, fmt.Sprintf("attributes must be at most %d bytes of JSON", MaxAttributesBytes))
	}
	t := bytes.TrimSpace([]byte(raw))
	var attrs map[string]any
	if len(t) == 0 || t[0] != '{' || !httpapi.ValidJSON(t) || json.Unmarshal(t, &attrs) != nil {
		return nil, fault.New(fault.Invalid, CodeInvalidAttributes,
			`attributes must be a URL-encoded JSON object, e.g. attributes=%7B%22country%22%3A%22US%22%7D for {"country":"US"}`)
	}
	return attrs, nil
}

// enroll reads the enroll query parameter: "false" asks for the stored
// assignment only, never enrolling.
func enroll(req httpapi.Request) (bool, error) {
	switch v, ok := req.QueryStringParameters["enroll"]; {
	case !ok || v == "true":
		return true, nil
	case v == "false":
		return false, nil
	}
	return false, fault.Validation(map[string]string{"enroll": "must be true or false"})
}
