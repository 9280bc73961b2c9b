package stats

import (
	"math/rand/v2"
	"testing"
)

type growthbookGolden struct {
	SRM []struct {
		Source  string    `json:"source"`
		Counts  []int64   `json:"counts"`
		Weights []float64 `json:"weights"`
		PValue  float64   `json:"p_value"`
		Tol     float64   `json:"tol"`
	} `json:"srm"`
	Corrections []struct {
		Source     string    `json:"source"`
		Correction string    `json:"correction"`
		P          []float64 `json:"p"`
		Adjusted   []float64 `json:"adjusted"`
		Tol        float64   `json:"tol"`
	} `json:"corrections"`
}

// TestSRMGrowthBook checks SRM against GrowthBook's checkSrm tests
// (testdata/growthbook-srm-corrections.json names each one).
func TestSRMGrowthBook(t *testing.T) {
	var g growthbookGolden
	loadJSON(t, "growthbook-srm-corrections.json", &g)
	if len(g.SRM) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.SRM {
		if c.Source == "" {
			t.Error("case names no source")
		}
		got := SRM(c.Counts, c.Weights)
		if !closeAbs(got.PValue, c.PValue, c.Tol) {
			t.Errorf("%s: SRM(%v, %v).PValue = %.12g, want %.12g", c.Source, c.Counts, c.Weights, got.PValue, c.PValue)
		}
		if got.Warning != (c.PValue < SRMThreshold) {
			t.Errorf("%s: Warning = %v", c.Source, got.Warning)
		}
	}
}

// TestSRMAgainstSciPy checks the statistic and p-value against
// scipy.stats.chisquare (testdata/scipy-golden.json, "chisquare").
func TestSRMAgainstSciPy(t *testing.T) {
	g := loadScipyGolden(t)
	if len(g.ChiSquare) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.ChiSquare {
		got := SRM(c.Counts, c.Weights)
		if !closeRel(got.ChiSquare, c.ChiSquare, 1e-12) || !closeRel(got.PValue, c.PValue, 1e-10) {
			t.Errorf("SRM(%v, %v) = %+v, scipy χ² %.15g p %.15g", c.Counts, c.Weights, got, c.ChiSquare, c.PValue)
		}
		if got.DF != len(c.Counts)-1 {
			t.Errorf("DF = %d", got.DF)
		}
	}
}

// TestSRMProperties: under correct assignment the p-value is uniform, so
// about 5% of 2,000 simulated experiments fall below 0.05 and about 0.1%
// below the threshold; a 1% skew at 200,000 units is always caught.
func TestSRMProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 3))
	const trials = 2000
	below05, warnings := 0, 0
	weights := []float64{0.5, 0.3, 0.2}
	counts := make([]int64, 3)
	for range trials {
		clear(counts)
		for range 3000 {
			u := rng.Float64()
			switch {
			case u < 0.5:
				counts[0]++
			case u < 0.8:
				counts[1]++
			default:
				counts[2]++
			}
		}
		r := SRM(counts, weights)
		if r.PValue < 0.05 {
			below05++
		}
		if r.Warning {
			warnings++
		}
	}
	if rate := float64(below05) / trials; rate < 0.035 || rate > 0.065 {
		t.Errorf("p < 0.05 in %.4f of A/A experiments, want about 0.05", rate)
	}
	if warnings > 10 {
		t.Errorf("%d warnings in %d correct experiments, want about 2", warnings, trials)
	}
	if r := SRM([]int64{101000, 99000}, []float64{1, 1}); !r.Warning {
		t.Errorf("1%% skew at 200,000 units not flagged: %+v", r)
	}
}

func TestSRMDoesNotAllocate(t *testing.T) {
	counts, weights := []int64{1000, 1200, 900}, []float64{0.4, 0.4, 0.2}
	if allocs := testing.AllocsPerRun(100, func() { srmSink = SRM(counts, weights) }); allocs != 0 {
		t.Errorf("allocs per run = %v, want 0", allocs)
	}
}

var srmSink SRMResult

func BenchmarkSRM(b *testing.B) {
	counts, weights := []int64{1000, 1200, 900}, []float64{0.4, 0.4, 0.2}
	b.ReportAllocs()
	for b.Loop() {
		srmSink = SRM(counts, weights)
	}
}
