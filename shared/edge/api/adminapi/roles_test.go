package adminapi_test

import (
	"net/http"
	"testing"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
)

// The layer and saved group routes are admin routes: a client key is
// refused before any of them runs, and nothing is written.
func TestLayerAndGroupRoutesNeedAdmin(t *testing.T) {
	e := newEnv(t)
	for _, r := range []routes.Route{
		routes.AdminCreateLayer, routes.AdminListLayers, routes.AdminGetLayer, routes.AdminArchiveLayer,
		routes.AdminCreateSavedGroup, routes.AdminListSavedGroups, routes.AdminGetSavedGroup, routes.AdminUpdateSavedGroup, routes.AdminDeleteSavedGroup,
	} {
		req := httpapitest.Request("x", "alice", `{"key":"x","name":"x","values":[]}`)
		req.RouteKey = r.Key()
		httpapitest.ExpectError(t, e.serve(req), http.StatusForbidden, fault.CodeForbidden)
	}
	var layers struct{ Layers []any }
	e.expect(e.call(routes.AdminListLayers, "", "", nil), http.StatusOK, &layers)
	var groups struct {
		SavedGroups []any `json:"saved_groups"`
	}
	e.expect(e.call(routes.AdminListSavedGroups, "", "", nil), http.StatusOK, &groups)
	if len(layers.Layers)+len(groups.SavedGroups) != 0 {
		t.Fatalf("a refused request wrote: %v %v", layers, groups)
	}
}
