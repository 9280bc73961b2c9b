package apispec_test

import (
	"context"
	"slices"
	"testing"

	"github.com/abtest/abtest/shared/edge/apispec"
	"github.com/abtest/abtest/shared/edge/routes"
)

// TestEveryRouteIsDocumented is the test a new route meets first: it names
// each route of shared/edge/routes without an operation in docs/openapi.yaml,
// and each operation there that no route serves.
func TestEveryRouteIsDocumented(t *testing.T) {
	doc, err := apispec.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	undocumented, unrouted := apispec.Drift(doc, routes.All)
	for _, k := range undocumented {
		t.Errorf("route %s has no operation in docs/openapi.yaml: add its path, parameters, request body and every response", k)
	}
	for _, k := range unrouted {
		t.Errorf("docs/openapi.yaml documents %s, which is no route of shared/edge/routes", k)
	}
}

func TestDrift(t *testing.T) {
	doc, err := apispec.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	extra := routes.Route{Method: "POST", Path: "/v1/admin/no-such-resource", Function: routes.Admin}
	undocumented, unrouted := apispec.Drift(doc, append(append([]routes.Route{}, routes.All...), extra))
	if len(undocumented) != 1 || undocumented[0] != extra.Key() || len(unrouted) != 0 {
		t.Errorf("with an extra route: undocumented %v, unrouted %v", undocumented, unrouted)
	}
	undocumented, unrouted = apispec.Drift(doc, routes.All[1:])
	if len(undocumented) != 0 || len(unrouted) != 1 || unrouted[0] != routes.All[0].Key() {
		t.Errorf("without the first route: undocumented %v, unrouted %v", undocumented, unrouted)
	}
}

// TestSecurity: admin operations need the API key or an admin token, client
// ones the key and a session, the classic API an admin token, the vendors' drop-ins their own scheme, the public one nothing,
// as the authorizer reads them.
func TestSecurity(t *testing.T) {
	doc, err := apispec.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.All {
		item := doc.Paths.Find(r.Path)
		if item == nil || item.GetOperation(r.Method) == nil || item.GetOperation(r.Method).Security == nil {
			t.Errorf("%s: no security requirement", r.Key())
			continue
		}
		var got []string
		for _, req := range *item.GetOperation(r.Method).Security {
			for name := range req {
				got = append(got, name)
			}
		}
		want := len(r.IdentitySources())
		switch {
		case r.Credential == routes.CredentialSigned:
			// One scheme (X-Ak); X-Et and X-Es are its required header
			// parameters, as an apiKey scheme names a single header.
			want = 1
		case r.Credential == routes.CredentialAdminToken:
			want = 1
		case r.AcceptsAdminToken():
			// Two alternatives, an admin key or an admin token, hence no
			// identity source.
			want = 2
		}
		if r.AcceptsAdminToken() && !slices.Contains(got, "AdminToken") {
			t.Errorf("%s: security %v lacks AdminToken", r.Key(), got)
		}
		if len(got) != want {
			t.Errorf("%s: security %v, want %d schemes (identity sources %v)", r.Key(), got, len(r.IdentitySources()), r.IdentitySources())
		}
	}
	if s := doc.Components.SecuritySchemes["ApiKey"]; s == nil || s.Value.In != "header" || s.Value.Name != "X-Api-Key" {
		t.Error("ApiKey is not the X-Api-Key header")
	}
}
