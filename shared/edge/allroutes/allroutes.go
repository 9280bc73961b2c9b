// Package allroutes assembles every route of the API on one set of
// dependencies, behind the authorizer, as API Gateway does on AWS: the local
// gateway (cmd/local), the load driver (cmd/loadgen) and the whole-service
// tests use it. No Lambda function imports it: each builds only its own
// routes (functions/<name>/main.go).
package allroutes

import (
	"fmt"

	"github.com/abtest/abtest/docs"
	"github.com/abtest/abtest/shared/edge/api/abcapi"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/api/amplitudeapi"
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/api/classicapi"
	"github.com/abtest/abtest/shared/edge/api/consoleapi"
	"github.com/abtest/abtest/shared/edge/api/evaluateapi"
	"github.com/abtest/abtest/shared/edge/api/eventsapi"
	"github.com/abtest/abtest/shared/edge/api/exposureapi"
	"github.com/abtest/abtest/shared/edge/api/healthapi"
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/mcpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

// OpenAPIPath is where the gateway serves docs/openapi.yaml, without a key.
const OpenAPIPath = "/openapi.yaml"

// Functions maps each route function (a folder under functions/) to how it
// is wired.
var Functions = map[string]lambdafn.Wire{
	routes.Assignment: assignmentapi.Wire,
	routes.Exposure:   exposureapi.Wire,
	routes.Events:     eventsapi.Wire,
	routes.Admin:      adminapi.Wire,
	routes.Results:    resultsapi.Wire,
	routes.Health:     healthapi.Wire,
	routes.Evaluate:   evaluateapi.Wire,
	routes.MCPServer:  mcpapi.Wire,
	routes.Amplitude:  amplitudeapi.Wire,
	routes.ABC:        abcapi.Wire,
	routes.Classic:    classicapi.Wire,
}

// Gateway serves every route on d behind the authorizer built from session.
func Gateway(d lambdafn.Deps, session auth.SessionConfig, opts gateway.Options) (*gateway.Gateway, error) {
	authz, err := auth.Setup(d.Logger, d.Store, session)
	if err != nil {
		return nil, err
	}
	// Keys are reused no longer than answers are: a gateway that caches
	// nothing sees a revocation at once, as its setting promises.
	authz = authz.WithKeyCache(min(opts.AuthorizerCacheTTL, auth.KeyCacheTTL))
	gw := gateway.New(opts)
	gw.Authorize(authz.Handle)
	gw.Document(OpenAPIPath, "application/yaml", docs.OpenAPI)
	// The admin function issues server keys with their signing token,
	// derived from the same signing secret the authorizer verifies with.
	built := map[string]httpapi.Handler{routes.Admin: adminapi.WireSigning(session.SigningSecret)(d)}
	for _, r := range routes.All {
		h, ok := built[r.Function]
		if !ok {
			if h, err = Handler(d, r.Function); err != nil {
				return nil, err
			}
			built[r.Function] = h
		}
		gw.Handle(r, h)
	}
	// The web console's files, on the same domain as on AWS.
	console := consoleapi.Wire(d)
	for _, r := range routes.Static {
		gw.Handle(r, console)
	}
	return gw, nil
}

// Handler builds one function's handler on d.
func Handler(d lambdafn.Deps, function string) (httpapi.Handler, error) {
	wire, ok := Functions[function]
	if !ok {
		return nil, fmt.Errorf("allroutes: no function %q", function)
	}
	return wire(d), nil
}
