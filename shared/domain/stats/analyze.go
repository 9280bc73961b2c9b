package stats

// Result is one variant's reading on one metric, as [Analyze] fills it.
type Result struct {
	Variant // n, mean, standard deviation (and CUPED-adjusted figures)
	// Comparison with the control; zero for the control itself and when
	// Compared is false (then Comparison.Reason says why, except for the
	// control).
	Comparison Comparison
	Compared   bool
}

// Analyze reads one metric across the variants of an experiment: for each
// summary, its per-variant figures, and for each variant but the control
// (variants[control]) its [Compare] with the control. out must have
// len(variants) entries; it is overwritten. With o.CUPED set, theta is
// pooled over all the variants ([CUPEDTheta]) and o.Theta is ignored.
//
// Multiple-testing correction spans the metrics of a response, so it is
// left to the caller: gather the PValue of every compared variant of every
// metric, correct them together with [AdjustPValues], and decide with
// [Significant]. It panics when len(out) != len(variants) or control is out
// of range, both programming errors. It does not allocate.
func Analyze(variants []Summary, control int, o Options, out []Result) {
	if len(out) != len(variants) {
		panic("stats: Analyze: len(out) != len(variants)")
	}
	if control < 0 || control >= len(variants) {
		panic("stats: Analyze: control index out of range")
	}
	if o.CUPED {
		o.Theta = CUPEDTheta(o.Kind, variants...)
	}
	theta := o.Theta
	if !o.CUPED {
		theta = 0
	}
	for i, s := range variants {
		out[i] = Result{Variant: DescribeVariant(s, o.Kind, theta)}
		if i == control {
			continue
		}
		out[i].Comparison, out[i].Compared = Compare(variants[control], s, o)
	}
}

// Significant reports whether a compared variant's effect is significant at
// alpha: for the frequentist and sequential methods, when its p-value after
// correction (adjustedP, from [AdjustPValues]; pass c.PValue for none) is
// below alpha; for the Bayesian method, which has no p-value to correct,
// when the chance to beat control is at least 1-alpha or at most alpha
// (GrowthBook's 95% and 5% thresholds at alpha 0.05).
func Significant(c Comparison, adjustedP, alpha float64) bool {
	if c.Reason != Defined {
		return false
	}
	if c.Method == Bayesian {
		return c.ChanceToBeatControl >= 1-alpha || c.ChanceToBeatControl <= alpha
	}
	return adjustedP < alpha
}

// GuardrailBreached reports whether a guardrail metric moved significantly
// in its bad direction: significant (see [Significant]) with the estimate
// below 0 for a metric where higher is better, above 0 where lower is
// better. For the Bayesian method the direction is read from the chance to
// beat control, which LowerIsBetter already orients.
func GuardrailBreached(c Comparison, adjustedP, alpha float64, lowerIsBetter bool) bool {
	if !Significant(c, adjustedP, alpha) {
		return false
	}
	if c.Method == Bayesian {
		return c.ChanceToBeatControl <= alpha
	}
	if lowerIsBetter {
		return c.Absolute.Estimate > 0
	}
	return c.Absolute.Estimate < 0
}
