package consoleapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/abtest/abtest/shared/edge/api/consoleapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
)

func get(t *testing.T, h httpapi.Handler, rt routes.Route, rawPath, file string, query, headers map[string]string) httpapi.Response {
	t.Helper()
	ev := httpapi.Request{RouteKey: rt.Key(), RawPath: rawPath, QueryStringParameters: query, Headers: headers}
	if file != "" {
		ev.PathParameters = map[string]string{"file": file}
	}
	resp, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestEmbeddedConsole: the page and every asset it names are served with
// their content type, the strict CSP and the security headers; the page
// names each asset with its hash, and only that URL is cached for good.
func TestEmbeddedConsole(t *testing.T) {
	h := consoleapi.Must().Handler(slog.New(slog.DiscardHandler))
	page := get(t, h, routes.ConsolePage, "/console/", "", nil, nil)
	if page.StatusCode != 200 || page.Headers["content-type"] != "text/html; charset=utf-8" || page.Headers["cache-control"] != "no-cache" {
		t.Fatalf("page: %d %v", page.StatusCode, page.Headers)
	}
	if strings.Contains(page.Body, "<script>") || strings.Contains(page.Body, "<style") || strings.Contains(page.Body, " style=") ||
		regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(page.Body) || strings.Contains(page.Body, "http") {
		t.Error("the page has inline script or style, or names another origin")
	}
	refs := regexp.MustCompile(`(?:src|href)="([a-z0-9.]+)\?v=([0-9a-f]{16})"`).FindAllStringSubmatch(page.Body, -1)
	wantTypes := map[string]string{"app.js": "text/javascript; charset=utf-8", "chart.umd.min.js": "text/javascript; charset=utf-8",
		"app.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}
	if len(refs) != len(wantTypes) {
		t.Fatalf("the page names %d hashed assets, want %d: %v", len(refs), len(wantTypes), refs)
	}
	for _, r := range refs {
		name, hash := r[1], r[2]
		resp := get(t, h, routes.ConsoleFile, "/console/"+name, name, map[string]string{"v": hash}, nil)
		if resp.StatusCode != 200 || resp.Headers["content-type"] != wantTypes[name] || resp.Headers["cache-control"] != "public, max-age=31536000, immutable" || resp.Body == "" {
			t.Errorf("%s: %d %v", name, resp.StatusCode, resp.Headers)
		}
		stale := get(t, h, routes.ConsoleFile, "/console/"+name, name, map[string]string{"v": "0000000000000000"}, nil)
		if stale.StatusCode != 200 || stale.Headers["cache-control"] != "no-cache" {
			t.Errorf("%s with another hash: %d %v", name, stale.StatusCode, stale.Headers)
		}
		for _, resp := range []httpapi.Response{resp, page} {
			if resp.Headers["content-security-policy"] != consoleapi.CSP || resp.Headers["x-content-type-options"] != "nosniff" ||
				resp.Headers["referrer-policy"] != "no-referrer" || resp.Headers["etag"] == "" {
				t.Errorf("%s: headers %v", name, resp.Headers)
			}
		}
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:"} {
		if strings.Contains(consoleapi.CSP, bad) {
			t.Errorf("the CSP allows %s", bad)
		}
	}
}

func TestRedirectNotFoundAndRevalidation(t *testing.T) {
	files := fstest.MapFS{
		"index.html": {Data: []byte(`<link href="a.css"><script src="a.js"></script>`)},
		"a.css":      {Data: []byte("p{}")},
		"a.js":       {Data: []byte("1")},
	}
	site, err := consoleapi.NewSite(files)
	if err != nil {
		t.Fatal(err)
	}
	h := site.Handler(slog.New(slog.DiscardHandler))

	// /console (no slash) sends the browser to /console/, keeping the query.
	r := get(t, h, routes.ConsolePage, "/console", "", nil, nil)
	if r.StatusCode != http.StatusPermanentRedirect || r.Headers["location"] != "/console/" {
		t.Errorf("/console: %d %v", r.StatusCode, r.Headers)
	}
	ev := httpapi.Request{RouteKey: routes.ConsolePage.Key(), RawPath: "/console", RawQueryString: "x=1"}
	if r, _ := h(context.Background(), ev); r.Headers["location"] != "/console/?x=1" {
		t.Errorf("/console?x=1: %v", r.Headers)
	}

	// An unknown file is the API's 404 error body.
	r = get(t, h, routes.ConsoleFile, "/console/nope.js", "nope.js", nil, nil)
	var body struct{ Error struct{ Code string } }
	if r.StatusCode != 404 || json.Unmarshal([]byte(r.Body), &body) != nil || body.Error.Code != "NOT_FOUND" {
		t.Errorf("unknown file: %d %s", r.StatusCode, r.Body)
	}

	// A matching ETag is 304 without a body; another is the file again.
	first := get(t, h, routes.ConsoleFile, "/console/a.js", "a.js", nil, nil)
	tag := first.Headers["etag"]
	for _, tc := range []struct {
		inm    string
		status int
	}{{tag, 304}, {`W/` + tag, 304}, {`"x", ` + tag, 304}, {"*", 304}, {`"other"`, 200}} {
		r := get(t, h, routes.ConsoleFile, "/console/a.js", "a.js", nil, map[string]string{"if-none-match": tc.inm})
		if r.StatusCode != tc.status || (tc.status == 304 && r.Body != "") || (tc.status == 200 && r.Body != "1") {
			t.Errorf("If-None-Match %s: %d %q", tc.inm, r.StatusCode, r.Body)
		}
	}

	// The page names the assets with their hashes; index.html itself is
	// reachable by name too.
	page := get(t, h, routes.ConsoleFile, "/console/index.html", "index.html", nil, nil)
	if !regexp.MustCompile(`href="a\.css\?v=[0-9a-f]{16}"><script src="a\.js\?v=[0-9a-f]{16}">`).MatchString(page.Body) {
		t.Errorf("page: %s", page.Body)
	}

	// A site without a page, or with a file of unknown type, is refused.
	if _, err := consoleapi.NewSite(fstest.MapFS{"a.js": {Data: []byte("1")}}); err == nil {
		t.Error("a site without index.html was accepted")
	}
	if _, err := consoleapi.NewSite(fstest.MapFS{"index.html": {Data: []byte("")}, "x.unknownext": {Data: []byte("")}}); err == nil {
		t.Error("a file without a content type was accepted")
	}
}
