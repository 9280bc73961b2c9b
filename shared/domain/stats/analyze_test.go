package stats

import (
	"math/rand/v2"
	"testing"
)

func TestAnalyzeMatchesCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 11))
	variants := []Summary{simulateCUPED(rng, 500, 0), simulateCUPED(rng, 480, 0.3), simulateCUPED(rng, 510, -0.2)}
	for _, o := range []Options{
		{Kind: Continuous},
		{Kind: Continuous, Method: Sequential},
		{Kind: Continuous, Method: Bayesian},
		{Kind: Continuous, CUPED: true, Theta: 99}, // Theta is recomputed
	} {
		out := make([]Result, len(variants))
		Analyze(variants, 1, o, out)
		theta := 0.0
		if o.CUPED {
			theta = CUPEDTheta(Continuous, variants...)
			o.Theta = theta
		}
		for i, r := range out {
			if r.Variant != DescribeVariant(variants[i], Continuous, theta) {
				t.Errorf("%v variant %d: %+v", o.Method, i, r.Variant)
			}
			if i == 1 {
				if r.Compared || r.Comparison != (Comparison{}) {
					t.Errorf("control compared: %+v", r)
				}
				continue
			}
			want, ok := Compare(variants[1], variants[i], o)
			if r.Comparison != want || r.Compared != ok {
				t.Errorf("%v variant %d: %+v, want %+v", o.Method, i, r.Comparison, want)
			}
		}
	}
}

func TestAnalyzeDoesNotAllocate(t *testing.T) {
	variants := []Summary{
		{N: 1000, Sum: 300, SumSq: 900, PreSum: 250, PreSumSq: 800, SumXPre: 400},
		{N: 1010, Sum: 330, SumSq: 950, PreSum: 260, PreSumSq: 790, SumXPre: 420},
		{N: 990, Sum: 310, SumSq: 930, PreSum: 240, PreSumSq: 770, SumXPre: 380},
	}
	out := make([]Result, len(variants))
	if allocs := testing.AllocsPerRun(100, func() {
		Analyze(variants, 0, Options{Kind: Continuous, CUPED: true}, out)
	}); allocs != 0 {
		t.Errorf("allocs per run = %v, want 0", allocs)
	}
}

func TestAnalyzePanics(t *testing.T) {
	mustPanic(t, map[string]func(){
		"short out":       func() { Analyze(make([]Summary, 2), 0, Options{}, make([]Result, 1)) },
		"control too big": func() { Analyze(make([]Summary, 2), 2, Options{}, make([]Result, 2)) },
	})
}

func TestSignificantAndGuardrail(t *testing.T) {
	up := Comparison{Method: Frequentist, Absolute: Effect{Estimate: 0.3}, PValue: 0.01}
	down := Comparison{Method: Frequentist, Absolute: Effect{Estimate: -0.3}, PValue: 0.01}
	bayesLosing := Comparison{Method: Bayesian, ChanceToBeatControl: 0.02}
	bayesWinning := Comparison{Method: Bayesian, ChanceToBeatControl: 0.97}
	bayesUnsure := Comparison{Method: Bayesian, ChanceToBeatControl: 0.6}
	tests := []struct {
		name          string
		c             Comparison
		adjustedP     float64
		lowerIsBetter bool
		significant   bool
		breached      bool
	}{
		{"up, higher is better", up, 0.03, false, true, false},
		{"down, higher is better", down, 0.03, false, true, true},
		{"up, lower is better", up, 0.03, true, true, true},
		{"down, lower is better", down, 0.03, true, true, false},
		{"down, not significant after correction", down, 0.06, false, false, false},
		{"undefined", Comparison{Reason: ZeroVariance}, 0, false, false, false},
		{"bayesian losing", bayesLosing, 0, false, true, true},
		{"bayesian winning", bayesWinning, 0, false, true, false},
		{"bayesian unsure", bayesUnsure, 0, false, false, false},
	}
	for _, tt := range tests {
		if got := Significant(tt.c, tt.adjustedP, 0.05); got != tt.significant {
			t.Errorf("%s: Significant = %v", tt.name, got)
		}
		if got := GuardrailBreached(tt.c, tt.adjustedP, 0.05, tt.lowerIsBetter); got != tt.breached {
			t.Errorf("%s: GuardrailBreached = %v", tt.name, got)
		}
	}
}

var resultsSink = make([]Result, 3)

func BenchmarkAnalyzeThreeVariantsCUPED(b *testing.B) {
	variants := []Summary{
		{N: 1000, Sum: 300, SumSq: 900, PreSum: 250, PreSumSq: 800, SumXPre: 400},
		{N: 1010, Sum: 330, SumSq: 950, PreSum: 260, PreSumSq: 790, SumXPre: 420},
		{N: 990, Sum: 310, SumSq: 930, PreSum: 240, PreSumSq: 770, SumXPre: 380},
	}
	b.ReportAllocs()
	for b.Loop() {
		Analyze(variants, 0, Options{Kind: Continuous, CUPED: true}, resultsSink)
	}
}
