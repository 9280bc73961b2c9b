// Package apispec loads the API's OpenAPI description (docs/openapi.yaml)
// and checks real requests and responses against it. The route test keeps
// the document and shared/edge/routes the same set; Validator lets the
// integration tests prove every response they receive is the documented one.
package apispec

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/abtest/abtest/docs"
	"github.com/abtest/abtest/shared/edge/routes"
)

// Load parses and validates docs/openapi.yaml.
func Load(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
}

// Operations lists the document's operations as route keys ("GET /v1/health").
func Operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// Drift compares the document with the routes: the routes it lacks and the
// operations it has that are no route. Both empty means they agree.
func Drift(doc *openapi3.T, all []routes.Route) (undocumented, unrouted []string) {
	documented := map[string]bool{}
	for _, op := range Operations(doc) {
		documented[op] = true
	}
	routed := map[string]bool{}
	for _, r := range all {
		routed[r.Key()] = true
		if !documented[r.Key()] {
			undocumented = append(undocumented, r.Key())
		}
	}
	for op := range documented {
		if !routed[op] {
			unrouted = append(unrouted, op)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unrouted)
	return undocumented, unrouted
}
