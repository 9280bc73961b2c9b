package results

import (
	"fmt"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/stats"
)

// Query is what a results call asks: the metric and how to read it. Its
// zero value reads nothing; Event (or later a metric) names what to read,
// and the empty Method, Correction and a zero Alpha take the defaults.
type Query struct {
	// Event reads an event as a binomial metric; Metric reads one of the
	// metrics the experiment names instead. Exactly one is given.
	Event  string
	Metric string
	// Method is frequentist (default), sequential or bayesian.
	Method string
	// Correction is holm (default), bh or none: how the p-values of every
	// non-control variant of the response are corrected together.
	Correction string
	// Alpha is the two-sided significance level, in (0, 0.5); 0 means 0.05.
	Alpha float64
	// MDE is the minimum detectable relative effect sample_size_reached
	// is judged against; 0 means DefaultMDE.
	MDE float64
	// CUPED adjusts a metric's reading (and the guardrails') with each
	// unit's pre-exposure value of the same metric (docs/statistics.md).
	CUPED bool
}

// reading is a Query checked and resolved.
type reading struct {
	method     stats.Method
	correction stats.Correction
	alpha      float64
	mde        float64
	// lowerIsBetter orients the Bayesian reading (the metric's direction).
	lowerIsBetter bool
	// analysis are the experiment's own settings (tuning, prior).
	analysis experiment.Analysis
	cuped    bool
}

// of is r with exp's analysis settings.
func (r reading) of(exp *experiment.Experiment) reading {
	r.analysis = exp.Analysis
	return r
}

// options are the engine's options for a metric of kind read as r asks.
func (r reading) options(kind stats.Kind, lowerIsBetter bool) stats.Options {
	o := stats.Options{Kind: kind, Method: r.method, Alpha: r.alpha, LowerIsBetter: lowerIsBetter,
		SequentialTuning: r.analysis.SequentialTuning, CUPED: r.cuped}
	if p := r.analysis.Prior; p != nil {
		o.Prior = stats.Prior{Proper: true, Mean: p.Mean, Variance: p.StdDev * p.StdDev}
	}
	return o
}

// Codes of a results query.
const (
	CodeInvalidMethod     = "INVALID_METHOD"
	CodeInvalidCorrection = "INVALID_CORRECTION"
	CodeInvalidAlpha      = "INVALID_ALPHA"
)

var methods = []stats.Method{stats.Frequentist, stats.Sequential, stats.Bayesian}

// resolve checks q's options and applies the defaults.
func (q Query) resolve() (reading, error) {
	r := reading{method: stats.Frequentist, correction: stats.Holm, alpha: stats.DefaultAlpha, cuped: q.CUPED}
	if q.Method != "" {
		found := false
		for _, m := range methods {
			if m.String() == q.Method {
				r.method, found = m, true
			}
		}
		if !found {
			return reading{}, fault.New(fault.Invalid, CodeInvalidMethod,
				fmt.Sprintf("method %q is not one of frequentist, sequential, bayesian", q.Method)).
				With(map[string]any{"allowed": []string{"frequentist", "sequential", "bayesian"}})
		}
	}
	if q.Correction != "" {
		c, ok := stats.ParseCorrection(q.Correction)
		if !ok {
			return reading{}, fault.New(fault.Invalid, CodeInvalidCorrection,
				fmt.Sprintf("correction %q is not one of holm, bh, none", q.Correction)).
				With(map[string]any{"allowed": []string{"holm", "bh", "none"}})
		}
		r.correction = c
	}
	if q.Alpha != 0 {
		if !(q.Alpha > 0 && q.Alpha < 0.5) {
			return reading{}, ErrInvalidAlpha()
		}
		r.alpha = q.Alpha
	}
	mde, err := resolveMDE(q.MDE)
	if err != nil {
		return reading{}, err
	}
	r.mde = mde
	return r, nil
}

// ErrInvalidAlpha refuses a significance level outside (0, 0.5).
func ErrInvalidAlpha() error {
	const msg = "must be a number above 0 and below 0.5"
	return fault.New(fault.Invalid, CodeInvalidAlpha, "alpha "+msg).
		With(map[string]any{"fields": map[string]string{"alpha": msg}})
}

// Effect is an estimate with its interval at 1-alpha.
type Effect struct {
	Estimate float64    `json:"estimate"`
	CI       [2]float64 `json:"ci"`
}

// SRM is the sample ratio mismatch check of every results call: the
// chi-square test of the exposed units per variant against the weights.
type SRM struct {
	PValue  float64 `json:"p_value"`
	Warning bool    `json:"warning"` // p < 0.001
}

func effectOf(e stats.Effect) *Effect {
	return &Effect{Estimate: e.Estimate, CI: [2]float64{e.CI.Lo, e.CI.Hi}}
}

// analyze fills the statistics of rows (one per variant, control first)
// from their summaries: per-variant n, mean and standard deviation, each
// treatment's comparison with the control, the p-values corrected together
// and the significance. Rows keep the pooled z-test fields already set.
// With CUPED it returns the coefficient pooled over the variants.
func analyze(rows []Variant, sums []stats.Summary, kind stats.Kind, r reading) (theta float64) {
	out := make([]stats.Result, len(sums))
	stats.Analyze(sums, 0, r.options(kind, r.lowerIsBetter), out)
	var preMean float64
	if r.cuped {
		theta, preMean = pooledCovariate(sums, kind)
	}
	for i := range rows {
		row := &rows[i]
		row.N = sums[i].N
		if sums[i].N > 0 {
			row.Mean, row.StdDev = ptr(out[i].Mean), ptr(out[i].StdDev)
		}
		if r.cuped && sums[i].N > 0 {
			row.CUPED = &VariantCUPED{AdjustedMean: out[i].AdjustedMean + theta*preMean, AdjustedStdDev: out[i].AdjustedStdDev}
		}
		if i == 0 {
			continue
		}
		c := out[i].Comparison
		if !out[i].Compared {
			row.Undefined = c.Reason.String()
			if r.method != stats.Frequentist {
				row.PValue = nil
			}
			continue
		}
		if row.CUPED != nil {
			row.CUPED.VarianceReduction = ptr(c.VarianceReduction)
		}
		row.Absolute = effectOf(c.Absolute)
		if c.RelativeDefined {
			row.Relative = effectOf(c.Relative)
			if kind != stats.Binomial {
				row.Lift = ptr(c.Relative.Estimate)
			}
		}
		switch r.method {
		case stats.Frequentist:
			if kind != stats.Binomial || r.cuped { // Welch's t (unadjusted binomial metrics keep the pooled z-test)
				row.PValue = ptr(c.PValue)
			}
		case stats.Sequential:
			row.PValue = ptr(c.PValue)
		case stats.Bayesian:
			row.PValue = nil
			row.ChanceToBeatControl, row.Risk = ptr(c.ChanceToBeatControl), ptr(c.Risk)
		}
		row.comparison = &c
	}
	correct(rows, r)
	return theta
}

// correct sets adjusted_p_value and significant on every treatment row with
// a p-value, corrected together, and significant on Bayesian readings.
func correct(rows []Variant, r reading) {
	var p []float64
	var at []int
	for i := 1; i < len(rows); i++ {
		if rows[i].PValue != nil {
			p, at = append(p, *rows[i].PValue), append(at, i)
		}
	}
	adj := make([]float64, len(p))
	stats.AdjustPValues(r.correction, p, adj)
	for j, i := range at {
		rows[i].AdjustedPValue = ptr(adj[j])
		sig := adj[j] < r.alpha
		rows[i].Significant = &sig
	}
	if r.method == stats.Bayesian {
		for i := 1; i < len(rows); i++ {
			if c := rows[i].comparison; c != nil {
				sig := stats.Significant(*c, 0, r.alpha)
				rows[i].Significant = &sig
			}
		}
	}
}
