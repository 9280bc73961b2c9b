package stats

import (
	"math/rand/v2"
	"testing"
)

// TestExpectedLossGbstats checks the closed-form risk against gbstats'
// packages/stats/tests/bayesian/test_tests.py
// TestGetRiskNumericalStability: test_normal_inputs_bit_exact_regression
// (mu 0.1, sigma 0.05 gives [0.1004245351308, 0.0004245351308414] as
// [control risk, treatment risk], to 10 decimals) and
// test_extreme_mu_over_sigma_no_overflow (the tails give [0.01, 0]).
func TestExpectedLossGbstats(t *testing.T) {
	tests := []struct {
		mu, sigma, control, treatment, tol float64
	}{
		{0.1, 0.05, 0.1004245351308, 0.0004245351308414, 5e-11},
		{0.01, 4.5e-9, 0.01, 0, 0},
		{-0.01, 4.5e-9, 0, 0.01, 0},
	}
	for _, tt := range tests {
		treatment, control := expectedLoss(tt.mu, tt.sigma)
		if !closeAbs(control, tt.control, tt.tol) || !closeAbs(treatment, tt.treatment, tt.tol) {
			t.Errorf("expectedLoss(%v, %v) = treatment %.15g control %.15g, want %.15g %.15g",
				tt.mu, tt.sigma, treatment, control, tt.treatment, tt.control)
		}
	}
}

// TestExpectedLossIdentity: E[max(0,δ)] - E[max(0,-δ)] = E[δ] = mu.
func TestExpectedLossIdentity(t *testing.T) {
	for _, mu := range []float64{-3, -0.2, 0, 0.05, 1.5} {
		for _, sigma := range []float64{0.01, 0.3, 2} {
			treatment, control := expectedLoss(mu, sigma)
			if !closeAbs(control-treatment, mu, 1e-12) || treatment < 0 || control < 0 {
				t.Errorf("mu %v sigma %v: control %v - treatment %v != mu", mu, sigma, control, treatment)
			}
		}
	}
}

func TestBayesianLowerIsBetterFlips(t *testing.T) {
	control := Summary{N: 10, Sum: 100, SumSq: 1002.25}
	treatment := Summary{N: 10, Sum: 105, SumSq: 1111.5}
	up, _ := Compare(control, treatment, Options{Kind: Continuous, Method: Bayesian})
	down, _ := Compare(control, treatment, Options{Kind: Continuous, Method: Bayesian, LowerIsBetter: true})
	if !closeAbs(up.ChanceToBeatControl+down.ChanceToBeatControl, 1, 1e-15) {
		t.Errorf("chances %v and %v do not add to 1", up.ChanceToBeatControl, down.ChanceToBeatControl)
	}
	if up.Risk != down.ControlRisk || up.ControlRisk != down.Risk {
		t.Errorf("risks not swapped: %+v / %+v", up, down)
	}
	if up.Relative != down.Relative {
		t.Errorf("estimates changed with the direction: %+v / %+v", up.Relative, down.Relative)
	}
}

// TestBayesianAAChanceIsUniform: with a flat prior, the chance to beat
// control in A/A experiments is uniform on (0, 1) (it is Φ of a standard
// normal z). Over 2,000 experiments each decile holds 10% ± 2.5 points
// (about 4 binomial standard deviations), and the two 5% tails together hold
// about 10%. Each tail alone is not 5%: on skewed data at 400 units the lift
// x̄_t/x̄_c - 1 is itself skewed (its denominator is noisy), which the
// Gaussian approximation ignores, so chances below 5% come about 2.3 times as
// often as chances above 95% (7.3% against 3.1% here, 4.9% against 4.4% at
// 3,000 units). docs/statistics.md says so.
func TestBayesianAAChanceIsUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 7))
	const trials = 2000
	var deciles [10]int
	tails := 0
	for range trials {
		a, b := simulateSummary(rng, 400), simulateSummary(rng, 400)
		c, ok := Compare(a, b, Options{Kind: Continuous, Method: Bayesian})
		if !ok {
			t.Fatal(c.Reason)
		}
		deciles[min(int(c.ChanceToBeatControl*10), 9)]++
		if c.ChanceToBeatControl > 0.95 || c.ChanceToBeatControl < 0.05 {
			tails++
		}
	}
	for i, n := range deciles {
		if rate := float64(n) / trials; rate < 0.075 || rate > 0.125 {
			t.Errorf("decile %d holds %.4f of chances, want about 0.10 (all: %v)", i, rate, deciles)
		}
	}
	if rate := float64(tails) / trials; rate < 0.075 || rate > 0.125 {
		t.Errorf("chance outside (5%%, 95%%) in %.4f of A/A experiments, want about 0.10", rate)
	}
}

// TestBayesianProperPriorShrinks: a proper prior pulls the posterior mean
// towards the prior mean and narrows it; a very wide one changes nothing
// visible.
func TestBayesianProperPriorShrinks(t *testing.T) {
	control := Summary{N: 10, Sum: 100, SumSq: 1002.25}
	treatment := Summary{N: 10, Sum: 105, SumSq: 1111.5}
	flat, _ := Compare(control, treatment, Options{Kind: Continuous, Method: Bayesian})
	tight, _ := Compare(control, treatment, Options{Kind: Continuous, Method: Bayesian, Prior: Prior{Proper: true, Variance: 0.0001}})
	wide, _ := Compare(control, treatment, Options{Kind: Continuous, Method: Bayesian, Prior: Prior{Proper: true, Variance: 1e6}})
	if !(tight.Relative.Estimate < flat.Relative.Estimate && tight.Relative.Estimate > 0) ||
		!(tight.Relative.StdErr < flat.Relative.StdErr) {
		t.Errorf("tight prior: %+v, flat: %+v", tight.Relative, flat.Relative)
	}
	if !closeRel(wide.Relative.Estimate, flat.Relative.Estimate, 1e-6) {
		t.Errorf("wide prior moved the estimate: %v vs %v", wide.Relative.Estimate, flat.Relative.Estimate)
	}
}

var lossSink float64

func BenchmarkExpectedLoss(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		lossSink, _ = expectedLoss(0.1, 0.05)
	}
}
