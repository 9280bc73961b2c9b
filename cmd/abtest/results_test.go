package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/abtest/abtest/shared/usecase/results"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// TestResultsTableGolden renders fixed results (testdata/results.json) as
// the results command prints them: a significant variant, one that is not,
// and one without data.
func TestResultsTableGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r results.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := resultsTable(&out, r); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "results.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("results table:\n%s\nwant (testdata/results.golden; -update rewrites it):\n%s", out.Bytes(), want)
	}
}

func TestPValue(t *testing.T) {
	for _, c := range []struct {
		p    float64
		want string
	}{{0.03614, "0.0361"}, {0.5, "0.5"}, {0.00001, "<0.0001"}, {1, "1"}} {
		if got := pValue(&c.p); got != c.want {
			t.Errorf("pValue(%v) = %q, want %q", c.p, got, c.want)
		}
	}
	if pValue(nil) != "-" {
		t.Error("a missing p-value is not -")
	}
}
