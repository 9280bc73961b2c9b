// Package routes is the one list of the API's routes and the function that
// serves each. The CDK stack creates exactly these routes and the local
// gateway serves exactly these, so the two cannot drift apart.
package routes

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
)

// All lists every route of the API.
var All = []Route{
	ClientAssignment, ClientExposure, ClientEvents,
	AdminCreate, AdminList, AdminGet, AdminUpdate, AdminArchive,
	AdminStart, AdminPause, AdminResume, AdminEnd, AdminHistory,
	AdminResults, AdminRecount,
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
