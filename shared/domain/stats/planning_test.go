package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSampleSizeAgainstStatsmodels checks the plan against statsmodels'
// NormalIndPower().solve_power(effect_size=δ/σ, alpha, power=0.8, ratio=1,
// alternative="two-sided") (testdata/scipy-golden.json, "sample_size"):
// the answer is its value rounded up, within 1e-4 relative: statsmodels also
// counts rejections in the wrong tail, which lowers its n by about one unit
// at alpha 0.1 and far less at 0.05.
func TestSampleSizeAgainstStatsmodels(t *testing.T) {
	g := loadScipyGolden(t)
	if len(g.SampleSize) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.SampleSize {
		kind := parseKind(t, c.Kind)
		n, ok := SampleSizePerVariant(kind, c.BaselineMean, c.StdDev*c.StdDev, c.MDE, c.Alpha, c.Power)
		if !ok {
			t.Fatalf("%+v: undefined", c)
		}
		if float64(n) < c.N || float64(n) > math.Ceil(c.N*(1+1e-4)) {
			t.Errorf("%s baseline %v mde %v alpha %v: n = %d, statsmodels %.4f", c.Kind, c.BaselineMean, c.MDE, c.Alpha, n, c.N)
		}
	}
}

func TestSampleSizeUndefined(t *testing.T) {
	tests := []struct {
		name                              string
		k                                 Kind
		mean, variance, mde, alpha, power float64
	}{
		{"alpha 1", Binomial, 0.1, 0, 0.05, 1, 0.8},
		{"power 1", Binomial, 0.1, 0, 0.05, 0.05, 1},
		{"mde 0", Binomial, 0.1, 0, 0, 0.05, 0.8},
		{"baseline 0", Binomial, 0, 0, 0.05, 0.05, 0.8},
		{"lifted above 1", Binomial, 0.9, 0, 0.2, 0.05, 0.8},
		{"no variance", Continuous, 10, 0, 0.05, 0.05, 0.8},
		{"zero mean", Continuous, 0, 4, 0.05, 0.05, 0.8},
		{"unknown kind", Kind(9), 10, 4, 0.05, 0.05, 0.8},
		{"overflow", Continuous, 1, 1e300, 1e-10, 0.05, 0.8},
	}
	for _, tt := range tests {
		if n, ok := SampleSizePerVariant(tt.k, tt.mean, tt.variance, tt.mde, tt.alpha, tt.power); ok {
			t.Errorf("%s: n = %d, want undefined", tt.name, n)
		}
	}
}

// TestSampleSizeDeliversPower is the planning property: experiments run at
// the planned size with the true effect equal to the MDE come out
// significant in about 80% of 1,000 simulations (a binomial metric, 10%
// baseline, +20%).
func TestSampleSizeDeliversPower(t *testing.T) {
	n, ok := SampleSizePerVariant(Binomial, 0.10, 0, 0.20, 0, 0)
	if !ok {
		t.Fatal("undefined")
	}
	rng := rand.New(rand.NewPCG(17, 10))
	const trials = 1000
	significant := 0
	for range trials {
		a := Summary{N: n, Sum: float64(binomialDraw(rng, int(n), 0.10))}
		b := Summary{N: n, Sum: float64(binomialDraw(rng, int(n), 0.12))}
		c, ok := Compare(a, b, Options{Kind: Binomial})
		if ok && c.PValue < 0.05 && c.Absolute.Estimate > 0 {
			significant++
		}
	}
	if rate := float64(significant) / trials; rate < 0.76 || rate > 0.84 {
		t.Errorf("power %.3f at the planned n = %d, want about 0.80", rate, n)
	}
}

var sizeSink int64

func BenchmarkSampleSizePerVariant(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sizeSink, _ = SampleSizePerVariant(Binomial, 0.1, 0, 0.05, 0.05, 0.8)
	}
}
