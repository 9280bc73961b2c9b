// Package routes is the one list of the API's routes and the function that
// serves each. The CDK stack creates exactly these routes and the local
// gateway serves exactly these, so the two cannot drift apart.
package routes

import "strings"

// Functions, one folder each under functions/.
const (
	Assignment = "assignment"
	Exposure   = "exposure"
	Events     = "events"
	Admin      = "admin"
	Results    = "results"
)

// Route maps an HTTP API route key to a function.
type Route struct {
	Method   string
	Path     string // API Gateway syntax: {name} is a path parameter
	Function string
}

// IdentitySources are the headers the route's authorizer is keyed on (and
// its results cached by). API Gateway refuses a request missing any of them
// with 401 before the authorizer runs; the local gateway does the same.
// Client routes act for an end user, so they need a session too.
func (r Route) IdentitySources() []string {
	if strings.HasPrefix(r.Path, "/v1/client/") {
		return []string{"X-Api-Key", "Authorization"}
	}
	return []string{"X-Api-Key"}
}

// Key is the API Gateway route key, e.g. "GET /v1/client/experiments/{key}/assignment".
func (r Route) Key() string { return r.Method + " " + r.Path }

const (
	experiments = "/v1/admin/experiments"
	experiment  = experiments + "/{key}"
)

// The routes, by name, for the handlers that dispatch on the route key.
var (
	ClientAssignment = Route{"GET", "/v1/client/experiments/{key}/assignment", Assignment}
	ClientExposure   = Route{"POST", "/v1/client/experiments/{key}/exposure", Exposure}
	ClientEvents     = Route{"POST", "/v1/client/events", Events}

	AdminCreate  = Route{"POST", experiments, Admin}
	AdminList    = Route{"GET", experiments, Admin}
	AdminGet     = Route{"GET", experiment, Admin}
	AdminUpdate  = Route{"PATCH", experiment, Admin}
	AdminArchive = Route{"DELETE", experiment, Admin}
	AdminStart   = Route{"POST", experiment + "/start", Admin}
	AdminPause   = Route{"POST", experiment + "/pause", Admin}
	AdminResume  = Route{"POST", experiment + "/resume", Admin}
	AdminEnd     = Route{"POST", experiment + "/end", Admin}
	AdminHistory = Route{"GET", experiment + "/history", Admin}

	AdminResults = Route{"GET", experiment + "/results", Results}
	AdminRecount = Route{"POST", experiment + "/recount", Results}

	AdminCreateKey = Route{"POST", "/v1/admin/api-keys", Admin}
	AdminListKeys  = Route{"GET", "/v1/admin/api-keys", Admin}
	AdminRevokeKey = Route{"DELETE", "/v1/admin/api-keys/{id}", Admin}
)

// Functions that serve no route: the authorizer in front of every route,
// and the aggregator fed by the table's change stream.
const (
	Authorizer = "authorizer"
	Aggregator = "aggregator"
)

// All lists every route of the API.
var All = []Route{
	ClientAssignment, ClientExposure, ClientEvents,
	AdminCreate, AdminList, AdminGet, AdminUpdate, AdminArchive,
	AdminStart, AdminPause, AdminResume, AdminEnd, AdminHistory,
	AdminResults, AdminRecount,
	AdminCreateKey, AdminListKeys, AdminRevokeKey,
}

// Functions lists the function names in route order, each once.
func Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range All {
		if !seen[r.Function] {
			seen[r.Function] = true
			out = append(out, r.Function)
		}
	}
	return out
}
