// Package console holds the web console's static assets (web/), embedded
// into the binaries that serve them: the console function on AWS and the
// local gateway. The assets are committed as served: hand-written HTML, CSS
// and JavaScript, and Chart.js's own dist file copied from node_modules by
// the Makefile (`make console`), so a fresh clone compiles without npm and
// TestVendoredChartMatchesPackage checks the copy against the pinned
// package.
package console

import (
	"embed"
	"io/fs"
)

//go:embed web
var embedded embed.FS

// Files are the console's assets, rooted at web/ (index.html, app.js, ...).
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	return sub
}
