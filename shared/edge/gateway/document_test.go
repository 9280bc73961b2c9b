package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/abtest/abtest/shared/edge/gateway"
)

// TestDocument: a document is served to GET and HEAD without the
// authorizer; other methods on its path are no route.
func TestDocument(t *testing.T) {
	g := gateway.New(gateway.Options{})
	g.Authorize(nil)
	g.Document("/openapi.yaml", "application/yaml", []byte("openapi: 3.1.0\n"))
	srv := httptest.NewServer(g)
	defer srv.Close()
	for _, tc := range []struct {
		method string
		status int
		body   string
	}{{"GET", 200, "openapi: 3.1.0\n"}, {"HEAD", 200, ""}, {"POST", 404, ""}} {
		req, _ := http.NewRequest(tc.method, srv.URL+"/openapi.yaml", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status == 200 && (string(b) != tc.body || resp.Header.Get("Content-Type") != "application/yaml")) {
			t.Errorf("%s: %d %q %s", tc.method, resp.StatusCode, b, resp.Header.Get("Content-Type"))
		}
	}
}
