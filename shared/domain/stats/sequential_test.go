package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSequentialTuningAsExpected mirrors gbstats'
// packages/stats/tests/frequentist/test_tests.py
// TestSequentialTTest.test_sequential_test_tuning_as_expected: the interval
// is narrowest when the tuning parameter is near the sample size (6,461
// here), wider when it is far below (10) or above (10,000) it.
func TestSequentialTuningAsExpected(t *testing.T) {
	control := Summary{N: 3000, Sum: 1396.87, SumSq: 52377.9767}
	treatment := Summary{N: 3461, Sum: 2422.7, SumSq: 134698.29}
	ci := func(tuning float64) Interval {
		c, ok := Compare(control, treatment, Options{Kind: Continuous, Method: Sequential, SequentialTuning: tuning})
		if !ok {
			t.Fatal(c.Reason)
		}
		return c.Relative.CI
	}
	below, near, above := ci(10), ci(6461), ci(10000)
	strictlyInside := func(in, out Interval) bool { return out.Lo < in.Lo && in.Hi < out.Hi }
	if !strictlyInside(above, below) || !strictlyInside(near, below) || !strictlyInside(near, above) {
		t.Errorf("intervals below %v, near %v, above %v not nested as gbstats expects", below, near, above)
	}
}

// TestSequentialPValueMatchesInterval: the always-valid p-value is below
// alpha exactly when the always-valid interval excludes 0, since both come
// from the same e-value (p = 1/e; the interval is where e < 1/alpha).
func TestSequentialPValueMatchesInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 5))
	for range 2000 {
		est := rng.NormFloat64() * 0.1
		se := 0.01 + rng.Float64()*0.05
		n := float64(100 + rng.IntN(100000))
		alpha := []float64{0.01, 0.05, 0.1}[rng.IntN(3)]
		e := sequentialEffect(est, se*se, n, sequentialRho2(alpha, 5000), alpha)
		if math.Abs(math.Abs(est)-(e.CI.Hi-est)) < 1e-12 {
			continue // on the boundary
		}
		if (e.PValue < alpha) == e.CI.Contains(0) {
			t.Fatalf("est %v se %v n %v alpha %v: p %v but CI %v", est, se, n, alpha, e.PValue, e.CI)
		}
	}
}

// TestSequentialAAPeeking is the property that makes the method worth
// having: in 1,000 simulated A/A experiments read after every 100 units per
// arm up to 2,000, the always-valid 95% interval excludes 0 at some peek in
// at most about 5% of them, while the fixed-horizon interval, peeked at the
// same times, does so far more often.
func TestSequentialAAPeeking(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 6))
	const experiments, step, peeks = 1000, 100, 20
	seqFalse, fixedFalse := 0, 0
	for range experiments {
		var a, b Summary
		seqHit, fixedHit := false, false
		for range peeks {
			for range step {
				x := 10 + 3*rng.NormFloat64()
				y := 10 + 3*rng.NormFloat64()
				a.N, a.Sum, a.SumSq = a.N+1, a.Sum+x, a.SumSq+x*x
				b.N, b.Sum, b.SumSq = b.N+1, b.Sum+y, b.SumSq+y*y
			}
			s, _ := Compare(a, b, Options{Kind: Continuous, Method: Sequential})
			f, _ := Compare(a, b, Options{Kind: Continuous})
			seqHit = seqHit || !s.Absolute.CI.Contains(0)
			fixedHit = fixedHit || !f.Absolute.CI.Contains(0)
		}
		if seqHit {
			seqFalse++
		}
		if fixedHit {
			fixedFalse++
		}
	}
	t.Logf("sequential %.3f fixed %.3f", float64(seqFalse)/experiments, float64(fixedFalse)/experiments)
	if rate := float64(seqFalse) / experiments; rate > 0.055 {
		t.Errorf("sequential interval excluded 0 in %.3f of A/A experiments, want <= 0.05", rate)
	}
	if rate := float64(fixedFalse) / experiments; rate < 0.15 {
		t.Errorf("premise: peeking at the fixed-horizon interval should fail often, got %.3f", rate)
	}
}
