package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// jsiiCacheEnv is the jsii runtime's package cache folder (jsii-runtime-go
// v1.113.0, lib/program.js: JSII_RUNTIME_PACKAGE_CACHE_ROOT, by default
// ~/.cache/aws/jsii/package-cache on Linux). The runtime locks a cache entry
// with a lock file while it extracts a package there, and another process
// extracting the same package at that moment fails with
// "EEXIST ... package-cache ... lock".
const jsiiCacheEnv = "JSII_RUNTIME_PACKAGE_CACHE_ROOT"

// jsiiCache is the cache folder this test binary made, "" when the
// environment named one.
var jsiiCache string

// privateJSIICache gives this test binary its own jsii package cache, so no
// other process (another go test, make synth, the CDK CLI) can hold its
// locks, unless JSII_RUNTIME_PACKAGE_CACHE_ROOT already names one. It
// returns a function that removes it.
//
// The jsii runtime copies the environment when the CDK packages register
// their types, during package initialisation, before TestMain; jsii.Close
// drops that runtime (nothing has run in it yet) so that the first CDK call
// starts one with the new environment. Registered types survive Close.
func privateJSIICache() (cleanup func(), err error) {
	if os.Getenv(jsiiCacheEnv) != "" {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "abtest-infra-jsii-cache-")
	if err != nil {
		return nil, err
	}
	if err := os.Setenv(jsiiCacheEnv, dir); err != nil {
		return nil, err
	}
	jsii.Close()
	jsiiCache = dir
	// Not jsii.Close at the end: once the runtime has run, Close races with
	// jsii-runtime-go's own wait goroutine (the race detector reports it);
	// node exits when this process does.
	return func() { os.RemoveAll(dir) }, nil
}

// TestJSIICacheIsPrivate: the CDK packages of this test run were extracted
// into the run's own cache folder.
func TestJSIICacheIsPrivate(t *testing.T) {
	if jsiiCache == "" {
		t.Skipf("%s was set by the environment: %s", jsiiCacheEnv, os.Getenv(jsiiCacheEnv))
	}
	synth(t, "dev")
	entries, err := os.ReadDir(jsiiCache)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"aws-cdk-lib", "constructs"} {
		if _, err := os.Stat(filepath.Join(jsiiCache, want)); err != nil {
			t.Errorf("the jsii runtime did not extract %s into the test's cache %s (it holds %v): %v", want, jsiiCache, names, err)
		}
	}
}
