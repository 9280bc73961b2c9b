package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

type posthogCUPEDGolden struct {
	Adjust []struct {
		Source      string         `json:"source"`
		Group       goldenSummary  `json:"group"`
		Theta       *float64       `json:"theta"`
		ThetaWith   *goldenSummary `json:"theta_with"`
		ExpectTheta *float64       `json:"expect_theta"`
		Mean        *float64       `json:"mean"`
		Variance    *float64       `json:"variance"`
		StdDev      *float64       `json:"stddev"`
		Tol         float64        `json:"tol"`
	} `json:"adjust"`
	Theta []struct {
		Source string          `json:"source"`
		Groups []goldenSummary `json:"groups"`
		Theta  float64         `json:"theta"`
		Tol    float64         `json:"tol"`
	} `json:"theta"`
}

// TestCUPEDPostHog checks theta and the per-variant adjustment against
// PostHog's CUPED reference tests (testdata/posthog-cuped.json). Where the
// test pools theta over a pair of arms, so does this one.
func TestCUPEDPostHog(t *testing.T) {
	var g posthogCUPEDGolden
	loadJSON(t, "posthog-cuped.json", &g)
	if len(g.Adjust) == 0 || len(g.Theta) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.Adjust {
		group := c.Group.summary()
		var theta float64
		switch {
		case c.Theta != nil:
			theta = *c.Theta
		case c.ThetaWith != nil:
			theta = CUPEDTheta(Continuous, group, c.ThetaWith.summary())
		default:
			t.Fatalf("%s: no theta", c.Source)
		}
		if c.ExpectTheta != nil && !closeAbs(theta, *c.ExpectTheta, 5e-10) {
			t.Errorf("%s: theta = %.12g, want %.12g", c.Source, theta, *c.ExpectTheta)
		}
		v := DescribeVariant(group, Continuous, theta)
		if c.Mean != nil && !closeAbs(v.AdjustedMean, *c.Mean, c.Tol) {
			t.Errorf("%s: adjusted mean = %.12g, want %.12g", c.Source, v.AdjustedMean, *c.Mean)
		}
		if c.Variance != nil && !closeAbs(v.AdjustedStdDev*v.AdjustedStdDev, *c.Variance, c.Tol) {
			t.Errorf("%s: adjusted variance = %.12g, want %.12g", c.Source, v.AdjustedStdDev*v.AdjustedStdDev, *c.Variance)
		}
		if c.StdDev != nil && !closeAbs(v.AdjustedStdDev, *c.StdDev, c.Tol) {
			t.Errorf("%s: adjusted stddev = %.12g, want %.12g", c.Source, v.AdjustedStdDev, *c.StdDev)
		}
	}
	for _, c := range g.Theta {
		groups := make([]Summary, len(c.Groups))
		for i, s := range c.Groups {
			groups[i] = s.summary()
		}
		if got := CUPEDTheta(Continuous, groups...); !closeAbs(got, c.Theta, c.Tol) {
			t.Errorf("%s: theta = %.12g, want %.12g", c.Source, got, c.Theta)
		}
	}
}

func TestCUPEDThetaEdges(t *testing.T) {
	g := Summary{N: 10, Sum: 20, SumSq: 50, PreSum: 10, PreSumSq: 14, SumXPre: 25}
	if got := CUPEDTheta(Ratio, g, g); got != 0 {
		t.Errorf("ratio theta = %v, want 0", got)
	}
	if got := CUPEDTheta(Continuous); got != 0 {
		t.Errorf("no groups: theta = %v", got)
	}
	if got := CUPEDTheta(Continuous, Summary{N: 1, Sum: 1, SumSq: 1, PreSum: 2, PreSumSq: 4, SumXPre: 2}); got != 0 {
		t.Errorf("one unit: theta = %v", got)
	}
	// No history at all (pre = 0 for every unit): nothing to adjust.
	if got := CUPEDTheta(Continuous, Summary{N: 10, Sum: 20, SumSq: 50}); got != 0 {
		t.Errorf("no history: theta = %v", got)
	}
	// Binomial: x² = x whatever SumSq says.
	b := Summary{N: 100, Sum: 30, PreSum: 50, PreSumSq: 50, SumXPre: 25}
	bSq := b
	bSq.SumSq = 12345
	if CUPEDTheta(Binomial, b) != CUPEDTheta(Binomial, bSq) || CUPEDTheta(Binomial, b) == 0 {
		t.Errorf("binomial theta depends on SumSq or is 0: %v", CUPEDTheta(Binomial, b))
	}
}

// simulateCUPED draws n units whose metric is 0.8-correlated with their
// pre-exposure value, plus effect, and returns their sums.
func simulateCUPED(rng *rand.Rand, n int, effect float64) Summary {
	var s Summary
	s.N = int64(n)
	for range n {
		pre := 10 + 3*rng.NormFloat64()
		x := 2 + 0.8*pre + 1.8*rng.NormFloat64() + effect
		s.Sum += x
		s.SumSq += x * x
		s.PreSum += pre
		s.PreSumSq += pre * pre
		s.SumXPre += x * pre
	}
	return s
}

// TestCUPEDAACoverageAndReduction: over 2,000 simulated A/A experiments
// with a covariate correlated 0.8 with the metric, the CUPED-adjusted 95%
// intervals (absolute and relative) cover 0 in 93.5-96.5% of them, and the
// variance reduction is close to ρ² = 0.64 (Deng et al. 2013: the adjusted
// variance is (1-ρ²) times the raw one).
func TestCUPEDAACoverageAndReduction(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 8))
	var cv coverage
	reduction := 0.0
	for range 2000 {
		a, b := simulateCUPED(rng, 300, 0), simulateCUPED(rng, 300, 0)
		theta := CUPEDTheta(Continuous, a, b)
		c, ok := Compare(a, b, Options{Kind: Continuous, CUPED: true, Theta: theta})
		cv.add(t, c, ok)
		reduction += c.VarianceReduction
	}
	cv.check(t, "CUPED")
	rho2 := 0.8 * 0.8 * 9 / (0.8*0.8*9 + 1.8*1.8)
	if mean := reduction / float64(cv.trials); math.Abs(mean-rho2) > 0.02 {
		t.Errorf("mean variance reduction %.4f, want about ρ² = %.4f", mean, rho2)
	}
}

// TestCUPEDThetaZeroChangesNothing: theta 0 (no usable covariate) gives the
// unadjusted comparison exactly.
func TestCUPEDThetaZeroChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 9))
	a, b := simulateCUPED(rng, 200, 0), simulateCUPED(rng, 200, 0.5)
	plain, _ := Compare(a, b, Options{Kind: Continuous})
	zero, _ := Compare(a, b, Options{Kind: Continuous, CUPED: true, Theta: 0})
	if plain != zero {
		t.Errorf("theta 0 changed the result:\n%+v\n%+v", plain, zero)
	}
	// And a ratio metric ignores CUPED.
	r := Summary{N: 50, Sum: 100, SumSq: 400, DenSum: 60, DenSumSq: 100, SumXY: 150, PreSum: 3, PreSumSq: 9, SumXPre: 5}
	r2 := Summary{N: 50, Sum: 110, SumSq: 420, DenSum: 60, DenSumSq: 100, SumXY: 160, PreSum: 4, PreSumSq: 9, SumXPre: 5}
	plainR, _ := Compare(r, r2, Options{Kind: Ratio})
	cupedR, _ := Compare(r, r2, Options{Kind: Ratio, CUPED: true, Theta: 0.5})
	if plainR != cupedR {
		t.Errorf("CUPED changed a ratio metric:\n%+v\n%+v", plainR, cupedR)
	}
}

var thetaSink float64

func BenchmarkCUPEDTheta(b *testing.B) {
	a := Summary{N: 2801, Sum: 280, SumSq: 560, PreSum: 195, PreSumSq: 390, SumXPre: -18}
	t := Summary{N: 2800, Sum: 205, SumSq: 510, PreSum: 110, PreSumSq: 380, SumXPre: -8}
	b.ReportAllocs()
	for b.Loop() {
		thetaSink = CUPEDTheta(Continuous, a, t)
	}
}

var variantSink Variant

func BenchmarkDescribeVariant(b *testing.B) {
	a := Summary{N: 2801, Sum: 280, SumSq: 560, PreSum: 195, PreSumSq: 390, SumXPre: -18}
	b.ReportAllocs()
	for b.Loop() {
		variantSink = DescribeVariant(a, Continuous, -0.0695)
	}
}
