// Package routes is the one list of the API's routes and the function that
// serves each. The CDK stack creates exactly these routes and the local
// gateway serves exactly these, so the two cannot drift apart.
package routes

// Functions, one folder each under functions/.
const (
	Assignment = "assignment"
	Exposure   = "exposure"
)

// Route maps an HTTP API route key to a function.
type Route struct {
	Method   string
	Path     string // API Gateway syntax: {name} is a path parameter
	Function string
}

// Key is the API Gateway route key, e.g. "GET /v1/client/experiments/{key}/assignment".
func (r Route) Key() string { return r.Method + " " + r.Path }

// All lists every route of the API.
var All = []Route{
	{"GET", "/v1/client/experiments/{key}/assignment", Assignment},
	{"POST", "/v1/client/experiments/{key}/exposure", Exposure},
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
