package console_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/abtest/abtest/console"
)

// TestVendoredChartMatchesPackage: the committed web/chart.umd.min.js is
// byte for byte the dist file of the Chart.js version package.json pins
// (make console copies it after npm ci). Without node_modules it fails
// under CI and skips elsewhere.
func TestVendoredChartMatchesPackage(t *testing.T) {
	dist := filepath.Join("node_modules", "chart.js", "dist", "chart.umd.min.js")
	want, err := os.ReadFile(dist)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: run make console (npm ci) first", err)
		}
		t.Skipf("%v: run make console (npm ci) to compare the vendored Chart.js", err)
	}
	got, err := fs.ReadFile(console.Files(), "chart.umd.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("web/chart.umd.min.js differs from %s: run make console and commit it", dist)
	}
	var pkg, installed struct {
		Dependencies map[string]string
		Version      string
	}
	for path, dst := range map[string]any{"package.json": &pkg, filepath.Join("node_modules", "chart.js", "package.json"): &installed} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if pkg.Dependencies["chart.js"] != installed.Version {
		t.Fatalf("package.json pins chart.js %q, node_modules has %s: run make console", pkg.Dependencies["chart.js"], installed.Version)
	}
}

// TestPinnedExactly: every npm dependency is pinned to one version.
func TestPinnedExactly(t *testing.T) {
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Dependencies, DevDependencies map[string]string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	for _, deps := range []map[string]string{pkg.Dependencies, pkg.DevDependencies} {
		for name, v := range deps {
			if v == "" || !bytes.ContainsAny([]byte(v[:1]), "0123456789") || bytes.ContainsAny([]byte(v), "^~<>=*x| ") {
				t.Errorf("%s is not pinned to one version: %q", name, v)
			}
		}
	}
}
