package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// twoPass returns the mean and sample variance of xs the careful way.
func twoPass(xs []float64) (mean, variance float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(xs)-1)
}

func sumsOf(xs []float64) Summary {
	s := Summary{N: int64(len(xs))}
	for _, x := range xs {
		s.Sum += x
		s.SumSq += x * x
	}
	return s
}

func TestSummaryMeanVariance(t *testing.T) {
	tests := []struct {
		name           string
		s              Summary
		k              Kind
		mean, variance float64
	}{
		{"binomial", Summary{N: 10, Sum: 3}, Binomial, 0.3, 0.21},
		{"binomial ignores SumSq", Summary{N: 10, Sum: 3, SumSq: 99}, Binomial, 0.3, 0.21},
		{"continuous 1..4", sumsOf([]float64{1, 2, 3, 4}), Continuous, 2.5, 5.0 / 3},
		{"one unit", Summary{N: 1, Sum: 3, SumSq: 9}, Continuous, 3, 0},
		{"empty", Summary{}, Continuous, 0, 0},
		{"empty binomial", Summary{}, Binomial, 0, 0},
		{"inconsistent sums clamp to 0", Summary{N: 2, Sum: 2, SumSq: 1}, Continuous, 1, 0},
		{"ratio without denominator", Summary{N: 3, Sum: 3, SumSq: 5}, Ratio, 0, 0},
		// gbstats variance_of_ratios on x = (1,2,3), y = (1,1,2):
		// x̄ 2, ȳ 4/3, Var x 1, Var y 1/3, Cov 1/2, so
		// 1/(16/9) + (1/3)·4/(256/81) - 2·(1/2)·2/(64/27)
		// = 0.5625 + 0.421875 - 0.84375.
		{"ratio", Summary{N: 3, Sum: 6, SumSq: 14, DenSum: 4, DenSumSq: 6, SumXY: 9}, Ratio, 1.5, 0.140625},
	}
	for _, tt := range tests {
		if got := tt.s.Mean(tt.k); !closeAbs(got, tt.mean, 1e-15) {
			t.Errorf("%s: Mean = %.17g, want %.17g", tt.name, got, tt.mean)
		}
		if got := tt.s.Variance(tt.k); !closeAbs(got, tt.variance, 1e-14) {
			t.Errorf("%s: Variance = %.17g, want %.17g", tt.name, got, tt.variance)
		}
		if got := tt.s.StdDev(tt.k); !closeAbs(got, math.Sqrt(tt.variance), 1e-14) {
			t.Errorf("%s: StdDev = %v", tt.name, got)
		}
	}
}

// TestSummaryVarianceNumerics: with exact sums (integer cents, as a revenue
// metric stores them) the variance of values around 10⁴ with spread 1 loses
// no more than the documented ε·x̄²/Var ≈ 2e-8 relative against a two-pass
// computation.
func TestSummaryVarianceNumerics(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 12))
	xs := make([]float64, 100000)
	for i := range xs {
		xs[i] = math.Round((1e4+rng.NormFloat64())*100) / 100
	}
	_, want := twoPass(xs)
	got := sumsOf(xs).Variance(Continuous)
	if !closeRel(got, want, 1e-6) {
		t.Errorf("Variance = %.17g, two-pass %.17g (rel err %.2g)", got, want, math.Abs(got-want)/want)
	}
}

// TestRatioAACoverage is the coverage property for ratio metrics (revenue
// per order: numerator and denominator per unit): the delta-method 95%
// interval covers 0 in 93.5-96.5% of 2,000 A/A experiments.
func TestRatioAACoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 13))
	draw := func(n int) Summary {
		var s Summary
		s.N = int64(n)
		for range n {
			orders := float64(rng.IntN(4)) // 0-3 orders
			revenue := 0.0
			for range int(orders) {
				revenue += 20 + 10*rng.ExpFloat64()
			}
			s.Sum += revenue
			s.SumSq += revenue * revenue
			s.DenSum += orders
			s.DenSumSq += orders * orders
			s.SumXY += revenue * orders
		}
		return s
	}
	var cv coverage
	for range 2000 {
		c, ok := Compare(draw(300), draw(300), Options{Kind: Ratio})
		cv.add(t, c, ok)
	}
	cv.check(t, "ratio")
}

func TestKindAndMethodNames(t *testing.T) {
	if Binomial.String() != "binomial" || Continuous.String() != "continuous" || Ratio.String() != "ratio" || Kind(7).String() != "Kind(7)" {
		t.Error("kind names")
	}
	if Frequentist.String() != "frequentist" || Sequential.String() != "sequential" || Bayesian.String() != "bayesian" || Method(7).String() != "Method(7)" {
		t.Error("method names")
	}
}
