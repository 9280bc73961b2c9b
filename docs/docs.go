// Package docs carries the documents binaries serve: the OpenAPI
// description of the HTTP API (openapi.yaml), embedded so the local gateway
// serves exactly the file the tests check.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
