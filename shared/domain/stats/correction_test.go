package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAdjustPValuesGrowthBook checks Holm and BH against GrowthBook's
// adjustPValuesHolmBonferroni and adjustPValuesBenjaminiHochberg tests.
func TestAdjustPValuesGrowthBook(t *testing.T) {
	var g growthbookGolden
	loadJSON(t, "growthbook-srm-corrections.json", &g)
	if len(g.Corrections) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.Corrections {
		corr, ok := ParseCorrection(c.Correction)
		if !ok {
			t.Fatalf("unknown correction %q", c.Correction)
		}
		got := make([]float64, len(c.P))
		AdjustPValues(corr, c.P, got)
		for i := range got {
			if !closeAbs(got[i], c.Adjusted[i], c.Tol) {
				t.Errorf("%s: adjusted %v, want %v", c.Source, got, c.Adjusted)
				break
			}
		}
	}
}

// TestAdjustPValuesAgainstStatsmodels checks against statsmodels'
// multipletests(method="holm") and (method="fdr_bh").
func TestAdjustPValuesAgainstStatsmodels(t *testing.T) {
	g := loadScipyGolden(t)
	if len(g.MultipleTests) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.MultipleTests {
		for _, tt := range []struct {
			c    Correction
			want []float64
		}{{Holm, c.Holm}, {BH, c.BH}, {NoCorrection, c.P}} {
			got := make([]float64, len(c.P))
			AdjustPValues(tt.c, c.P, got)
			for i := range got {
				if !closeAbs(got[i], tt.want[i], 1e-12) {
					t.Errorf("%v(%v) = %v, statsmodels %v", tt.c, c.P, got, tt.want)
					break
				}
			}
			// In place gives the same.
			inPlace := slices.Clone(c.P)
			AdjustPValues(tt.c, inPlace, inPlace)
			if !slices.Equal(inPlace, got) {
				t.Errorf("%v in place = %v, want %v", tt.c, inPlace, got)
			}
		}
	}
}

// TestCorrectionsControlErrorRates simulates 2,000 families of 10 tests:
// with every null true, Holm keeps the family-wise error rate at or below
// 5% (uncorrected testing makes about 40%); with 5 true effects, BH keeps
// the false discovery rate at or below 5%.
func TestCorrectionsControlErrorRates(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	const families, m = 2000, 10
	p, adj := make([]float64, m), make([]float64, m)
	holmFamilies, rawFamilies := 0, 0
	fdrSum := 0.0
	for range families {
		for i := range p {
			p[i] = rng.Float64()
		}
		if slices.Min(p) < 0.05 {
			rawFamilies++
		}
		AdjustPValues(Holm, p, adj)
		if slices.Min(adj) < 0.05 {
			holmFamilies++
		}
		// Half the hypotheses false: their z is shifted by 3.
		for i := range m / 2 {
			p[i] = twoSidedNormalPValue(rng.NormFloat64() + 3)
		}
		AdjustPValues(BH, p, adj)
		falseDiscoveries, discoveries := 0, 0
		for i, a := range adj {
			if a < 0.05 {
				discoveries++
				if i >= m/2 {
					falseDiscoveries++
				}
			}
		}
		if discoveries > 0 {
			fdrSum += float64(falseDiscoveries) / float64(discoveries)
		}
	}
	if rate := float64(holmFamilies) / families; rate > 0.06 {
		t.Errorf("Holm family-wise error rate %.4f, want <= 0.05", rate)
	}
	if rate := float64(rawFamilies) / families; rate < 0.3 {
		t.Errorf("premise: uncorrected family-wise error rate %.4f, expected about 0.40", rate)
	}
	if fdr := fdrSum / families; fdr > 0.06 {
		t.Errorf("BH false discovery rate %.4f, want <= 0.05", fdr)
	}
}

// mustPanic fails the test for each named function that returns normally.
func mustPanic(t *testing.T, fs map[string]func()) {
	t.Helper()
	for name, f := range fs {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestAdjustPValuesPanics(t *testing.T) {
	mustPanic(t, map[string]func(){
		"length":  func() { AdjustPValues(Holm, []float64{0.1}, nil) },
		"unknown": func() { AdjustPValues(Correction(9), nil, nil) },
	})
}

func TestCorrectionNames(t *testing.T) {
	for c := Holm; c <= NoCorrection; c++ {
		if got, ok := ParseCorrection(c.String()); !ok || got != c {
			t.Errorf("ParseCorrection(%q) = %v, %v", c.String(), got, ok)
		}
	}
	if _, ok := ParseCorrection("bonferroni"); ok {
		t.Error("ParseCorrection accepted an unknown name")
	}
	if Correction(9).String() != "Correction(9)" {
		t.Error(Correction(9).String())
	}
}

func TestAdjustPValuesDoesNotAllocate(t *testing.T) {
	p := []float64{0.01, 0.04, 0.03, 0.005, 0.55, 0.6}
	adj := make([]float64, len(p))
	for c := Holm; c <= NoCorrection; c++ {
		if allocs := testing.AllocsPerRun(100, func() { AdjustPValues(c, p, adj) }); allocs != 0 {
			t.Errorf("%v: allocs per run = %v, want 0", c, allocs)
		}
	}
}

func BenchmarkAdjustPValuesHolm(b *testing.B) {
	p := []float64{0.01, 0.04, 0.03, 0.005, 0.55, 0.6, 0.2, 0.0001, 0.3, 0.07}
	adj := make([]float64, len(p))
	b.ReportAllocs()
	for b.Loop() {
		AdjustPValues(Holm, p, adj)
	}
}

func BenchmarkAdjustPValuesBH(b *testing.B) {
	p := []float64{0.01, 0.04, 0.03, 0.005, 0.55, 0.6, 0.2, 0.0001, 0.3, 0.07}
	adj := make([]float64, len(p))
	b.ReportAllocs()
	for b.Loop() {
		AdjustPValues(BH, p, adj)
	}
}
