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
	Health     = "health"
	Evaluate   = "evaluate"
	MCPServer  = "mcp"
	Amplitude  = "amplitude"
	ABC        = "abc"
	Classic    = "classic"
	// ConsoleAssets serves the web console's static files (Static).
	ConsoleAssets = "console"
)

// Route maps an HTTP API route key to a function.
type Route struct {
	Method   string
	Path     string // API Gateway syntax: {name} is a path parameter
	Function string
	// Public routes skip the authorizer: only the health check, which
	// load balancers and uptime probes call without a key.
	Public bool
	// Credential is how the caller presents its API key: X-Api-Key unless
	// a vendor's drop-in route takes the vendor's form.
	Credential Credential
	// TrailingSlash: the path with one slash added matches too, as API
	// Gateway matches every route; the console's page is /console/, so
	// that its relative asset URLs resolve under /console/.
	TrailingSlash bool
}

// Credential is a way of presenting an API key.
type Credential string

const (
	// CredentialAPIKey: the X-Api-Key header (and a session on client routes).
	CredentialAPIKey Credential = ""
	// CredentialAmplitude: "Authorization: Api-Key <key>", as Amplitude's
	// remote evaluation API takes its deployment key. The key is a server key.
	CredentialAmplitude Credential = "amplitude"
	// CredentialSigned: ABetterChoice's signed headers X-Ak (the server
	// key's id), X-Et (unix seconds) and X-Es (the signature), verified by
	// the authorizer with the key's signing token (apikey.SigningToken).
	CredentialSigned Credential = "signed"
	// CredentialAdminToken: "Authorization: Bearer <JWT>" from the
	// deployment's identity provider, whose role claim makes its subject an
	// admin (the classic Experiments API). No API key.
	CredentialAdminToken Credential = "admin-token"
)

// IdentitySources are the headers the route's authorizer is keyed on (and
// its results cached by). API Gateway refuses a request missing any of them
// with 401 before the authorizer runs; the local gateway does the same.
// Client routes act for an end user, so they need a session too.
func (r Route) IdentitySources() []string {
	if r.Public {
		return nil
	}
	switch r.Credential {
	case CredentialAmplitude, CredentialAdminToken:
		return []string{"Authorization"}
	case CredentialSigned:
		return []string{"X-Ak", "X-Et", "X-Es"}
	}
	if strings.HasPrefix(r.Path, "/v1/client/") {
		return []string{"X-Api-Key", "Authorization"}
	}
	if r.AcceptsAdminToken() {
		// An admin key (X-Api-Key) or an admin token (Authorization:
		// Bearer): neither header can be required, so none is an identity
		// source, and API Gateway then cannot cache the authorizer's answer
		// (it caches by identity sources): it runs on every admin request.
		return nil
	}
	return []string{"X-Api-Key"}
}

// AcceptsAdminToken reports whether an admin token (Authorization: Bearer
// <JWT> with the admin role claim) may call the route: the admin routes
// (in place of an admin key) and the classic Experiments API (only it).
func (r Route) AcceptsAdminToken() bool {
	return r.Credential == CredentialAdminToken || strings.HasPrefix(r.Path, "/v1/admin/")
}

// Cached reports whether the authorizer's answer for the route may be
// cached: only by the values of identity sources, so not without any.
func (r Route) Cached() bool { return len(r.IdentitySources()) > 0 }

// AuthorizerName names the authorizer in front of the route ("" for a
// public route): routes with the same name share one, and so its answer
// cache, which API Gateway keys by the identity sources' values only. So
// routes that need different roles, or credential forms on the same
// headers (Amplitude's Api-Key and the admin token), get one each: a
// refusal cached for one is never served to the other.
func (r Route) AuthorizerName() string {
	if r.Public {
		return ""
	}
	switch src := strings.Join(r.IdentitySources(), ","); {
	case r.Credential == CredentialAdminToken:
		return "AdminTokenAuthorizer"
	case src == "":
		return "AdminKeyOrTokenAuthorizer"
	case src == "X-Api-Key" && strings.HasPrefix(r.Path, "/v1/server/"):
		return "ServerAuthorizer"
	case src == "X-Api-Key":
		return "AdminAuthorizer" // an admin key only: the MCP server
	case src == "X-Api-Key,Authorization":
		return "ClientAuthorizer"
	default:
		return "Authorizer" + strings.NewReplacer("-", "", ",", "").Replace(src)
	}
}

// Key is the API Gateway route key, e.g. "GET /v1/client/experiments/{key}/assignment".
func (r Route) Key() string { return r.Method + " " + r.Path }

const (
	experiments = "/v1/admin/experiments"
	experiment  = experiments + "/{key}"
	layers      = "/v1/admin/layers"
	layer       = layers + "/{key}"
	savedGroups = "/v1/admin/saved-groups"
	savedGroup  = savedGroups + "/{key}"
	holdouts    = "/v1/admin/holdouts"
	holdout     = holdouts + "/{key}"
	flags       = "/v1/admin/flags"
	flag        = flags + "/{key}"
	metrics     = "/v1/admin/metrics"
	metricPath  = metrics + "/{key}"
)

// The routes, by name, for the handlers that dispatch on the route key.
var (
	ClientAssignment = Route{Method: "GET", Path: "/v1/client/experiments/{key}/assignment", Function: Assignment}
	ClientExposure   = Route{Method: "POST", Path: "/v1/client/experiments/{key}/exposure", Function: Exposure}
	ClientEvents     = Route{Method: "POST", Path: "/v1/client/events", Function: Events}
	ClientEvaluate   = Route{Method: "POST", Path: "/v1/client/evaluate", Function: Evaluate}
	// ClientEvaluateRead never enrols or tracks, and may be cached.
	ClientEvaluateRead = Route{Method: "GET", Path: "/v1/client/evaluate", Function: Evaluate}

	// Server routes: a server key acts for any unit, named in the body.
	ServerEvaluate  = Route{Method: "POST", Path: "/v1/server/evaluate", Function: Evaluate}
	ServerExposures = Route{Method: "POST", Path: "/v1/server/exposures", Function: Exposure}
	ServerEvents    = Route{Method: "POST", Path: "/v1/server/events", Function: Events}

	AdminCreate  = Route{Method: "POST", Path: experiments, Function: Admin}
	AdminList    = Route{Method: "GET", Path: experiments, Function: Admin}
	AdminGet     = Route{Method: "GET", Path: experiment, Function: Admin}
	AdminUpdate  = Route{Method: "PATCH", Path: experiment, Function: Admin}
	AdminArchive = Route{Method: "DELETE", Path: experiment, Function: Admin}
	AdminStart   = Route{Method: "POST", Path: experiment + "/start", Function: Admin}
	AdminPause   = Route{Method: "POST", Path: experiment + "/pause", Function: Admin}
	AdminResume  = Route{Method: "POST", Path: experiment + "/resume", Function: Admin}
	AdminEnd     = Route{Method: "POST", Path: experiment + "/end", Function: Admin}
	AdminHistory = Route{Method: "GET", Path: experiment + "/history", Function: Admin}

	AdminResults = Route{Method: "GET", Path: experiment + "/results", Function: Results}
	AdminRecount = Route{Method: "POST", Path: experiment + "/recount", Function: Results}
	AdminExport  = Route{Method: "GET", Path: experiment + "/export", Function: Results}
	AdminPlan    = Route{Method: "GET", Path: experiment + "/plan", Function: Results}
	// AdminTimeseries: the results day by day, from the daily snapshots.
	AdminTimeseries = Route{Method: "GET", Path: experiment + "/results/timeseries", Function: Results}

	AdminEraseUnit    = Route{Method: "DELETE", Path: "/v1/admin/units/{id}", Function: Admin}
	AdminListErasures = Route{Method: "GET", Path: "/v1/admin/erasures", Function: Admin}

	AdminCreateLayer  = Route{Method: "POST", Path: layers, Function: Admin}
	AdminListLayers   = Route{Method: "GET", Path: layers, Function: Admin}
	AdminGetLayer     = Route{Method: "GET", Path: layer, Function: Admin}
	AdminArchiveLayer = Route{Method: "DELETE", Path: layer, Function: Admin}

	AdminCreateSavedGroup = Route{Method: "POST", Path: savedGroups, Function: Admin}
	AdminListSavedGroups  = Route{Method: "GET", Path: savedGroups, Function: Admin}
	AdminGetSavedGroup    = Route{Method: "GET", Path: savedGroup, Function: Admin}
	AdminUpdateSavedGroup = Route{Method: "PATCH", Path: savedGroup, Function: Admin}
	AdminDeleteSavedGroup = Route{Method: "DELETE", Path: savedGroup, Function: Admin}
	AdminCreateHoldout    = Route{Method: "POST", Path: holdouts, Function: Admin}
	AdminListHoldouts     = Route{Method: "GET", Path: holdouts, Function: Admin}
	AdminGetHoldout       = Route{Method: "GET", Path: holdout, Function: Admin}
	AdminUpdateHoldout    = Route{Method: "PATCH", Path: holdout, Function: Admin}
	AdminArchiveHoldout   = Route{Method: "DELETE", Path: holdout, Function: Admin}
	AdminHoldoutUnit      = Route{Method: "GET", Path: holdout + "/units/{id}", Function: Admin}
	AdminHoldoutResults   = Route{Method: "GET", Path: holdout + "/results", Function: Results}

	AdminCreateFlag    = Route{Method: "POST", Path: flags, Function: Admin}
	AdminListFlags     = Route{Method: "GET", Path: flags, Function: Admin}
	AdminGetFlag       = Route{Method: "GET", Path: flag, Function: Admin}
	AdminUpdateFlag    = Route{Method: "PATCH", Path: flag, Function: Admin}
	AdminArchiveFlag   = Route{Method: "DELETE", Path: flag, Function: Admin}
	AdminFlagHistory   = Route{Method: "GET", Path: flag + "/history", Function: Admin}
	AdminCreateMetric  = Route{Method: "POST", Path: metrics, Function: Admin}
	AdminListMetrics   = Route{Method: "GET", Path: metrics, Function: Admin}
	AdminGetMetric     = Route{Method: "GET", Path: metricPath, Function: Admin}
	AdminUpdateMetric  = Route{Method: "PATCH", Path: metricPath, Function: Admin}
	AdminArchiveMetric = Route{Method: "DELETE", Path: metricPath, Function: Admin}
	AdminMetricHistory = Route{Method: "GET", Path: metricPath + "/history", Function: Admin}

	AdminCreateKey = Route{Method: "POST", Path: "/v1/admin/api-keys", Function: Admin}
	AdminListKeys  = Route{Method: "GET", Path: "/v1/admin/api-keys", Function: Admin}
	AdminRevokeKey = Route{Method: "DELETE", Path: "/v1/admin/api-keys/{id}", Function: Admin}

	HealthCheck = Route{Method: "GET", Path: "/v1/health", Function: Health, Public: true}

	// MCP is the MCP server's streamable HTTP endpoint (stateless, JSON
	// answers), for AI agents holding an admin key.
	MCP = Route{Method: "POST", Path: "/mcp", Function: MCPServer}
	// Drop-in vendor routes: the vendor's path, shapes and credential.
	AmplitudeVardata = Route{Method: "GET", Path: "/v1/vardata", Function: Amplitude, Credential: CredentialAmplitude}
	ABCExperiments   = Route{Method: "POST", Path: "/abc/get_experiments", Function: ABC, Credential: CredentialSigned}
	ABCFeatureFlags  = Route{Method: "POST", Path: "/abc/get_feature_flags", Function: ABC, Credential: CredentialSigned}

	// The classic Experiments API (JWT-authenticated admin).
	ClassicList           = classicRoute("GET", classicExperiments)
	ClassicCreate         = classicRoute("POST", classicExperiments)
	ClassicGet            = classicRoute("GET", classicExperiment)
	ClassicUpdate         = classicRoute("PATCH", classicExperiment)
	ClassicArchive        = classicRoute("DELETE", classicExperiment)
	ClassicStart          = classicRoute("POST", classicExperiment+"/start")
	ClassicStop           = classicRoute("POST", classicExperiment+"/stop")
	ClassicResults        = classicRoute("GET", classicExperiment+"/results")
	ClassicComputeResults = classicRoute("POST", classicExperiment+"/compute-results")
)

const (
	classicExperiments = "/api/experiments"
	classicExperiment  = classicExperiments + "/{id}"
)

func classicRoute(method, path string) Route {
	return Route{Method: method, Path: path, Function: Classic, Credential: CredentialAdminToken}
}

// The web console: its page and its static files, public (they hold no
// secret: the page signs in with an admin credential it sends to the admin
// API). They are no operation of the API, so they are not in All nor in
// docs/openapi.yaml, but the stack and the local gateway serve them as
// routes of the same HTTP API (same domain: the page's CSP needs no other
// origin, and the API needs no CORS for it).
var (
	ConsolePage = Route{Method: "GET", Path: "/console", Function: ConsoleAssets, Public: true, TrailingSlash: true}
	ConsoleFile = Route{Method: "GET", Path: "/console/{file}", Function: ConsoleAssets, Public: true}
	Static      = []Route{ConsolePage, ConsoleFile}
)

// Functions that serve no route: the authorizer in front of every route,
// the aggregator fed by the table's change stream, and the scheduled
// snapshots of the counters (the daily series).
const (
	Authorizer = "authorizer"
	Aggregator = "aggregator"
	Snapshots  = "snapshots"
)

// All lists every route of the API.
var All = []Route{
	ClientAssignment, ClientExposure, ClientEvents, ClientEvaluate, ClientEvaluateRead,
	ServerEvaluate, ServerExposures, ServerEvents,
	AdminCreate, AdminList, AdminGet, AdminUpdate, AdminArchive,
	AdminStart, AdminPause, AdminResume, AdminEnd, AdminHistory,
	AdminResults, AdminRecount, AdminExport,
	AdminPlan, AdminTimeseries,
	AdminEraseUnit, AdminListErasures,
	AdminCreateLayer, AdminListLayers, AdminGetLayer, AdminArchiveLayer,
	AdminCreateSavedGroup, AdminListSavedGroups, AdminGetSavedGroup, AdminUpdateSavedGroup, AdminDeleteSavedGroup,
	AdminCreateHoldout, AdminListHoldouts, AdminGetHoldout, AdminUpdateHoldout, AdminArchiveHoldout, AdminHoldoutUnit,
	AdminHoldoutResults,
	AdminCreateFlag, AdminListFlags, AdminGetFlag, AdminUpdateFlag, AdminArchiveFlag, AdminFlagHistory,
	AdminCreateKey, AdminListKeys, AdminRevokeKey,
	AdminCreateMetric, AdminListMetrics, AdminGetMetric, AdminUpdateMetric, AdminArchiveMetric, AdminMetricHistory,
	HealthCheck,
	MCP,
	AmplitudeVardata,
	ABCExperiments, ABCFeatureFlags,
	ClassicList, ClassicCreate, ClassicGet, ClassicUpdate, ClassicArchive,
	ClassicStart, ClassicStop, ClassicResults, ClassicComputeResults,
}

// ByKey is the route with an API Gateway route key ("GET /v1/vardata").
func ByKey(key string) (Route, bool) {
	for _, r := range All {
		if r.Key() == key {
			return r, true
		}
	}
	return Route{}, false
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
