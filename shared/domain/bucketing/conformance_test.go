package bucketing

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// The cross-SDK suite published by GrowthBook; see testdata/README.md.
const casesFile = "testdata/growthbook-cases.json"

// loadSection returns the cases of one section of the GrowthBook suite, each
// case split into its raw JSON elements. It fails the test when the section
// is missing or empty, so a renamed section cannot pass on nothing.
func loadSection(t *testing.T, name string) [][]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatalf("read %s: %v", casesFile, err)
	}
	var suite map[string]json.RawMessage
	if err := json.Unmarshal(data, &suite); err != nil {
		t.Fatalf("parse %s: %v", casesFile, err)
	}
	raw, ok := suite[name]
	if !ok {
		t.Fatalf("section %q missing from %s", name, casesFile)
	}
	var cases [][]json.RawMessage
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatalf("section %q: %v", name, err)
	}
	if len(cases) == 0 {
		t.Fatalf("section %q is empty", name)
	}
	return cases
}

// decode unmarshals element i of a case, failing the test on a shape error.
func decode(t *testing.T, c []json.RawMessage, i int, v any) {
	t.Helper()
	if i >= len(c) {
		t.Fatalf("case has %d elements, want at least %d", len(c), i+1)
	}
	if err := json.Unmarshal(c[i], v); err != nil {
		t.Fatalf("element %d (%s): %v", i, c[i], err)
	}
}

func TestSpecVersion(t *testing.T) {
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		SpecVersion string `json:"specVersion"`
	}
	if err := json.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	// The README and the expectations below describe this version.
	if suite.SpecVersion != "0.8.0" {
		t.Fatalf("specVersion = %q, want 0.8.0 (update testdata/README.md when upgrading)", suite.SpecVersion)
	}
}

func TestConformanceHash(t *testing.T) {
	for _, c := range loadSection(t, "hash") {
		var seed, value string
		var version int
		var want *float64
		decode(t, c, 0, &seed)
		decode(t, c, 1, &value)
		decode(t, c, 2, &version)
		decode(t, c, 3, &want)
		name := seed + "|" + value + "|v" + string(c[2])
		t.Run(name, func(t *testing.T) {
			got, ok := Hash(seed, value, version)
			if want == nil {
				if ok {
					t.Fatalf("Hash(%q, %q, %d) = %v, want null", seed, value, version, got)
				}
				return
			}
			if !ok {
				t.Fatalf("Hash(%q, %q, %d) = null, want %v", seed, value, version, *want)
			}
			// GrowthBook's SDK tests compare to 3 decimal places ...
			if math.Round(got*1000) != math.Round(*want*1000) {
				t.Fatalf("Hash(%q, %q, %d) = %v, want %v (3 decimals)", seed, value, version, got, *want)
			}
			// ... but the expectations are exact multiples of 1/1000 or
			// 1/10000, so the result must in fact be identical.
			if got != *want {
				t.Fatalf("Hash(%q, %q, %d) = %v, want exactly %v", seed, value, version, got, *want)
			}
		})
	}
}

func TestConformanceGetBucketRange(t *testing.T) {
	for _, c := range loadSection(t, "getBucketRange") {
		var name string
		var args []json.RawMessage
		var want [][2]float64
		decode(t, c, 0, &name)
		decode(t, c, 1, &args)
		decode(t, c, 2, &want)
		t.Run(name, func(t *testing.T) {
			var n int
			var coverage float64
			var weights []float64 // JSON null stays nil
			decode(t, args, 0, &n)
			decode(t, args, 1, &coverage)
			decode(t, args, 2, &weights)
			got := BucketRanges(n, coverage, weights)
			if len(got) != len(want) {
				t.Fatalf("BucketRanges(%d, %v, %v) = %v, want %v", n, coverage, weights, got, want)
			}
			for i := range want {
				if math.Abs(got[i].Start-want[i][0]) > 1e-9 || math.Abs(got[i].End-want[i][1]) > 1e-9 {
					t.Fatalf("BucketRanges(%d, %v, %v)[%d] = %v, want %v", n, coverage, weights, i, got[i], want[i])
				}
			}
		})
	}
}

func TestConformanceChooseVariation(t *testing.T) {
	for _, c := range loadSection(t, "chooseVariation") {
		var name string
		var n float64
		var pairs [][2]float64
		var want int
		decode(t, c, 0, &name)
		decode(t, c, 1, &n)
		decode(t, c, 2, &pairs)
		decode(t, c, 3, &want)
		t.Run(name, func(t *testing.T) {
			ranges := make([]Range, len(pairs))
			for i, p := range pairs {
				ranges[i] = Range{Start: p[0], End: p[1]}
			}
			if got := ChooseVariation(n, ranges); got != want {
				t.Fatalf("ChooseVariation(%v, %v) = %d, want %d", n, ranges, got, want)
			}
		})
	}
}

func TestConformanceGetEqualWeights(t *testing.T) {
	for _, c := range loadSection(t, "getEqualWeights") {
		var n int
		var want []float64
		decode(t, c, 0, &n)
		decode(t, c, 1, &want)
		t.Run(string(c[0]), func(t *testing.T) {
			got := EqualWeights(n)
			if got == nil || len(got) != len(want) {
				t.Fatalf("EqualWeights(%d) = %#v, want %v", n, got, want)
			}
			for i := range want {
				// The suite rounds 1/3 to 8 decimals.
				if math.Round(got[i]*1e8) != math.Round(want[i]*1e8) {
					t.Fatalf("EqualWeights(%d)[%d] = %v, want %v", n, i, got[i], want[i])
				}
			}
		})
	}
}

func TestConformanceInNamespace(t *testing.T) {
	for _, c := range loadSection(t, "inNamespace") {
		var name, userID string
		var nsRaw []json.RawMessage
		var want bool
		decode(t, c, 0, &name)
		decode(t, c, 1, &userID)
		decode(t, c, 2, &nsRaw)
		decode(t, c, 3, &want)
		t.Run(name, func(t *testing.T) {
			var ns Namespace
			decode(t, nsRaw, 0, &ns.ID)
			decode(t, nsRaw, 1, &ns.Start)
			decode(t, nsRaw, 2, &ns.End)
			if got := InNamespace(userID, ns); got != want {
				t.Fatalf("InNamespace(%q, %+v) = %v, want %v", userID, ns, got, want)
			}
		})
	}
}
