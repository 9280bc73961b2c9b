package apispec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// docURL names the document as one JSON Schema resource, so "$ref":
// "#/components/schemas/X" resolves within it.
const docURL = "https://abtest.local/openapi.json"

// schemas compiles each body schema of the document once (JSON Schema
// 2020-12, formats asserted). kin-openapi compiles a schema on every
// validation, which costs milliseconds: too slow for suites that send
// thousands of requests, so bodies are checked here and kin-openapi checks
// the rest (route, parameters, status, headers).
type schemas struct {
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	compiled map[string]*jsonschema.Schema
}

func newSchemas(doc *openapi3.T) (*schemas, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal the document: %w", err)
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, value); err != nil {
		return nil, err
	}
	return &schemas{compiler: c, compiled: map[string]*jsonschema.Schema{}}, nil
}

// validate checks a JSON body against the schema at pointer (a JSON pointer
// into the document, "/paths/...").
func (s *schemas) validate(pointer string, body []byte) error {
	s.mu.Lock()
	sch, ok := s.compiled[pointer]
	if !ok {
		var err error
		if sch, err = s.compiler.Compile(docURL + "#" + pointer); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("compile the schema at %s: %w", pointer, err)
		}
		s.compiled[pointer] = sch
	}
	s.mu.Unlock()
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	return sch.Validate(value)
}

// escape is a JSON pointer token (RFC 6901).
func escape(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }

// responsePointer is where the schema of a response's body is: in the
// component it refers to, or in the operation.
func responsePointer(path, method string, status int, ref *openapi3.ResponseRef, mediaType string) string {
	base := "/paths/" + escape(path) + "/" + strings.ToLower(method) + "/responses/" + fmt.Sprint(status)
	if ref.Ref != "" {
		base = strings.TrimPrefix(ref.Ref, "#")
	}
	return base + "/content/" + escape(mediaType) + "/schema"
}

// requestPointer is where the schema of an operation's JSON body is.
func requestPointer(path, method string, ref *openapi3.RequestBodyRef) string {
	base := "/paths/" + escape(path) + "/" + strings.ToLower(method) + "/requestBody"
	if ref.Ref != "" {
		base = strings.TrimPrefix(ref.Ref, "#")
	}
	return base + "/content/application~1json/schema"
}
