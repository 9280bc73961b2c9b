package results

import "github.com/abtest/abtest/shared/domain/stats"

// guardrailComparison is how a guardrail reads a variant against the
// control: the comparison Analyze made (res), or, where Analyze left a
// binomial guardrail undefined because a group has no variance (no unit, or
// every unit, converted: gbstats' rule), the same method's reading on the
// pooled rate's variance (stats.ComparePooled), defined whenever the pooled
// z-test is. Otherwise an error event the control never emitted could rise
// from 0% to any rate in a treatment unflagged. Both groups at 0% (or 100%)
// stay undefined: nothing moved. The frequentist p-value is then the pooled
// z-test's (the one results show), the sequential one the mixture SPRT's on
// the pooled standard error (always valid under the null, which is what a
// false stop needs); either joins the guardrails' corrected family as any
// other, and the breach's direction is the sign of the difference in rates
// (stats.GuardrailBreached).
func guardrailComparison(res stats.Result, control, variant stats.Summary, o stats.Options) (stats.Comparison, bool) {
	if res.Compared {
		return res.Comparison, true
	}
	if o.Kind != stats.Binomial || res.Comparison.Reason != stats.ZeroVariance {
		return stats.Comparison{}, false
	}
	return stats.ComparePooled(control, variant, o)
}
