// Package consoleapi is the HTTP edge of the console function: the web
// console's static files (package console), served on the API's own domain
// at /console/ (routes.Static). The routes are public, since the files hold
// no secret: the page asks for an admin credential and sends it to the admin
// API, the console's only back end.
//
// Every answer carries a strict Content-Security-Policy (this origin only,
// no inline script or style, no frames), nosniff and no referrer. The page
// is revalidated on every load (no-cache, with an ETag); it names each
// asset with its content hash (app.js?v=<hash>), and an asset asked for
// with its current hash is cached for a year, so a deployment is picked up
// at the next load and nothing is fetched twice in between.
package consoleapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/abtest/abtest/console"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

// CodeFailed is the 500 code of the function (a panic; it reads only
// memory).
const CodeFailed = "CONSOLE_FAILED"

// CSP is the Content-Security-Policy of every answer: scripts, styles,
// images and API calls from this origin only; nothing inline, no plugin, no
// frame, no form posting elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const page = "index.html"

// asset is one file as served.
type asset struct {
	body, contentType, etag, hash string
}

// Site is the console's files, read and hashed once.
type Site struct {
	assets map[string]asset
}

// NewSite reads every file of files (flat: the console has no folders).
func NewSite(files fs.FS) (*Site, error) {
	s := &Site{assets: map[string]asset{}}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("consoleapi: read the console's files: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(files, e.Name())
		if err != nil {
			return nil, fmt.Errorf("consoleapi: read %s: %w", e.Name(), err)
		}
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		switch path.Ext(e.Name()) {
		case ".js":
			ct = "text/javascript; charset=utf-8" // the registered type (RFC 9239), whatever the OS's mime tables say
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = "text/html; charset=utf-8"
		}
		if ct == "" {
			return nil, fmt.Errorf("consoleapi: %s: no content type for its extension", e.Name())
		}
		s.assets[e.Name()] = asset{body: string(b), contentType: ct}
	}
	idx, ok := s.assets[page]
	if !ok {
		return nil, fmt.Errorf("consoleapi: the console has no %s", page)
	}
	// The page names each asset with its hash, so that an asset can be
	// cached for good and a new deployment still loads its own.
	for name, a := range s.assets {
		sum := sha256.Sum256([]byte(a.body))
		a.hash = hex.EncodeToString(sum[:8])
		s.assets[name] = a
		if name != page {
			idx.body = strings.ReplaceAll(idx.body, `"`+name+`"`, `"`+name+`?v=`+a.hash+`"`)
		}
	}
	sum := sha256.Sum256([]byte(idx.body))
	idx.hash = hex.EncodeToString(sum[:8])
	s.assets[page] = idx
	for name, a := range s.assets {
		a.etag = `"` + a.hash + `"`
		s.assets[name] = a
	}
	return s, nil
}

// Handler serves routes.ConsolePage and routes.ConsoleFile.
func (s *Site) Handler(logger *slog.Logger) httpapi.Handler {
	return httpapi.PublicEndpoint(logger, CodeFailed, func(_ context.Context, req httpapi.Request) (httpapi.Result, error) {
		return s.serve(req)
	})
}

func (s *Site) serve(req httpapi.Request) (httpapi.Result, error) {
	name := page
	switch req.RouteKey {
	case routes.ConsolePage.Key():
		// /console has no trailing slash: the page's relative URLs would
		// resolve at the root, so send the browser to /console/.
		if !strings.HasSuffix(req.RawPath, "/") {
			loc := "/console/"
			if req.RawQueryString != "" {
				loc += "?" + req.RawQueryString
			}
			return raw(http.StatusPermanentRedirect, asset{contentType: "text/plain; charset=utf-8"}, "no-cache", map[string]string{"location": loc}), nil
		}
	case routes.ConsoleFile.Key():
		name = req.PathParameters["file"]
	default:
		return httpapi.Result{}, fault.New(fault.NotFound, fault.CodeNotFound, "no route for "+req.RouteKey)
	}
	a, ok := s.assets[name]
	if !ok {
		return httpapi.Result{}, fault.New(fault.NotFound, fault.CodeNotFound, "the console has no file "+name)
	}
	cache := "no-cache"
	if name != page && req.QueryStringParameters["v"] == a.hash {
		cache = "public, max-age=31536000, immutable"
	}
	if inm := req.Headers["if-none-match"]; inm != "" && etagMatches(inm, a.etag) {
		return raw(http.StatusNotModified, asset{contentType: a.contentType}, cache, map[string]string{"etag": a.etag}), nil
	}
	return raw(http.StatusOK, a, cache, map[string]string{"etag": a.etag}), nil
}

// raw is a static answer with the console's security headers.
func raw(status int, a asset, cache string, extra map[string]string) httpapi.Result {
	h := map[string]string{
		"cache-control":           cache,
		"content-security-policy": CSP,
		"x-content-type-options":  "nosniff",
		"referrer-policy":         "no-referrer",
		"x-frame-options":         "DENY",
	}
	for k, v := range extra {
		h[k] = v
	}
	return httpapi.Result{Status: status, Body: httpapi.Raw{ContentType: a.contentType, Body: a.body, Headers: h}}
}

// etagMatches reads an If-None-Match list ("*", or tags, weak or strong).
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// Wire builds the handler of the console function (it needs no table).
func Wire(d lambdafn.Deps) httpapi.Handler {
	return Must().Handler(d.Logger)
}

// Must is the embedded console's Site; the files are compiled in, so a
// failure is a build defect.
func Must() *Site {
	s, err := NewSite(console.Files())
	if err != nil {
		panic(err)
	}
	return s
}
