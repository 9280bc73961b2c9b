package routes_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/edge/routes"
)

var pathRE = regexp.MustCompile(`^(/([a-z0-9_-]+|\{[a-z][a-zA-Z0-9_]*\}))+$`)

func TestRouteShape(t *testing.T) {
	if len(routes.All) == 0 {
		t.Fatal("no routes")
	}
	for _, r := range slices.Concat(routes.All, routes.Static) {
		if got, want := r.Key(), r.Method+" "+r.Path; got != want {
			t.Errorf("Key() = %q, want %q", got, want)
		}
		switch r.Method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			t.Errorf("%s: unexpected method %q", r.Key(), r.Method)
		}
		if !pathRE.MatchString(r.Path) {
			t.Errorf("%s: path is not /segment/{param} syntax", r.Key())
		}
		if r.Function == "" {
			t.Errorf("%s: no function", r.Key())
		}
	}
}

func TestKey(t *testing.T) {
	cases := []struct {
		r    routes.Route
		want string
	}{
		{routes.Route{Method: "GET", Path: "/v1/x/{key}", Function: "f"}, "GET /v1/x/{key}"},
		{routes.Route{Method: "POST", Path: "/", Function: "f"}, "POST /"},
	}
	for _, tc := range cases {
		if got := tc.r.Key(); got != tc.want {
			t.Errorf("Key() = %q, want %q", got, tc.want)
		}
	}
}

func TestNoDuplicateKeys(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range slices.Concat(routes.All, routes.Static) {
		if seen[r.Key()] {
			t.Errorf("duplicate route %q", r.Key())
		}
		seen[r.Key()] = true
	}
}

func TestFunctionsHaveFolders(t *testing.T) {
	for _, name := range routes.Functions() {
		p := filepath.Join("..", "..", "..", "functions", name, "main.go")
		if _, err := os.Stat(p); err != nil {
			t.Errorf("function %q: %v", name, err)
		}
	}
	for _, r := range slices.Concat(routes.All, routes.Static) {
		if strings.ContainsAny(r.Function, `/\.`) {
			t.Errorf("%s: function name %q is not a plain folder name", r.Key(), r.Function)
		}
	}
}

func TestFunctionsListsEachOnce(t *testing.T) {
	got := routes.Functions()
	var want []string
	seen := map[string]bool{}
	for _, r := range routes.All {
		if !seen[r.Function] {
			seen[r.Function] = true
			want = append(want, r.Function)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Functions() = %v, want %v (route order, each once)", got, want)
	}
	for _, name := range []string{routes.Assignment, routes.Exposure} {
		if !seen[name] {
			t.Errorf("function %q serves no route", name)
		}
	}
}

func TestEveryFunctionFolderIsKnown(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	// The authorizer serves no route: it runs in front of all of them; the
	// aggregator and the snapshots job run off the request path.
	listed := map[string]bool{routes.Authorizer: true, routes.Aggregator: true, routes.Snapshots: true}
	for _, f := range routes.Functions() {
		listed[f] = true
	}
	for _, r := range routes.Static {
		listed[r.Function] = true
	}
	for _, e := range entries {
		if e.IsDir() && !listed[e.Name()] {
			t.Errorf("functions/%s has no route", e.Name())
		}
	}
}

// TestAuthorizers: admin routes take a key or a token, so they have no
// identity source and no cache; every other authorized route is cached by
// its headers; two credential forms on one header get two authorizers.
func TestAuthorizers(t *testing.T) {
	for _, r := range routes.All {
		admin := strings.HasPrefix(r.Path, "/v1/admin/")
		if r.Public {
			if r.AuthorizerName() != "" || r.Cached() {
				t.Errorf("%s: public route has an authorizer", r.Key())
			}
			continue
		}
		if r.Cached() == admin || r.AuthorizerName() == "" {
			t.Errorf("%s: cached %v, authorizer %q", r.Key(), r.Cached(), r.AuthorizerName())
		}
	}
	if routes.AmplitudeVardata.AuthorizerName() == routes.ClassicList.AuthorizerName() {
		t.Error("Amplitude's Api-Key and the admin token share an authorizer (and its cache)")
	}
	if got := routes.ClassicList.IdentitySources(); len(got) != 1 || got[0] != "Authorization" {
		t.Errorf("classic identity sources %v", got)
	}
	if routes.AdminList.AuthorizerName() == routes.MCP.AuthorizerName() {
		t.Error("the MCP route (key only) shares the admin routes' uncached authorizer")
	}
}

// TestStatic: the console's routes are public, GET only, outside All (no
// API operation), and only its page takes a trailing slash.
func TestStatic(t *testing.T) {
	for _, r := range routes.Static {
		if !r.Public || r.Method != "GET" || r.Function != routes.ConsoleAssets || len(r.IdentitySources()) != 0 {
			t.Errorf("%s: not a public GET of the console function", r.Key())
		}
		if slices.ContainsFunc(routes.All, func(a routes.Route) bool { return a.Key() == r.Key() }) {
			t.Errorf("%s is in All", r.Key())
		}
		if r.TrailingSlash != (r == routes.ConsolePage) {
			t.Errorf("%s: TrailingSlash %v", r.Key(), r.TrailingSlash)
		}
	}
	for _, r := range routes.All {
		if r.TrailingSlash {
			t.Errorf("%s: an API route takes a trailing slash", r.Key())
		}
	}
}
