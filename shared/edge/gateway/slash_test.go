package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/abtest/abtest/shared/edge/gateway"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

// TestTrailingSlash: a route marked TrailingSlash (the console's page)
// matches its path with one slash added, and reaches its handler with the
// raw path as sent; no other route does, and two slashes never match.
func TestTrailingSlash(t *testing.T) {
	g := gateway.New(gateway.Options{})
	var got string
	echo := func(_ context.Context, ev httpapi.Request) (httpapi.Response, error) {
		got = ev.RouteKey + " " + ev.RawPath
		return httpapi.JSON(http.StatusOK, map[string]string{}), nil
	}
	g.Handle(routes.ConsolePage, echo)
	g.Handle(routes.ConsoleFile, echo)
	g.Handle(routes.AdminList, echo)
	for _, tc := range []struct {
		path   string
		status int
		routed string
	}{
		{"/console", 200, "GET /console /console"},
		{"/console/", 200, "GET /console /console/"},
		{"/console//", 404, ""},
		{"/console/app.js", 200, "GET /console/{file} /console/app.js"},
		{"/console/app.js/", 404, ""},
		{"/console/a/b.js", 404, ""},
		{"/v1/admin/experiments/", 404, ""},
		{"/", 404, ""},
	} {
		got = ""
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != tc.status || got != tc.routed {
			t.Errorf("%s: %d routed to %q, want %d %q", tc.path, w.Code, got, tc.status, tc.routed)
		}
	}
}
