// Package stats holds the statistics behind experiment results. Everything
// here is a pure function of exact sufficient statistics: no I/O, no global
// state, and no allocation, so a results read costs the same at a thousand
// units and at a hundred million. docs/statistics.md states every formula,
// assumption and default, with references.
//
// # The intended call
//
// A results use case holds, per variant of the experiment and per metric, a
// [Summary] (n, Σx, Σx², and for ratio metrics Σy, Σy², Σxy, and for CUPED
// Σpre, Σpre², Σx·pre), and the exposed count and traffic weight of each
// variant. For one results response it does:
//
//	srm := stats.SRM(exposed, weights)            // top level: srm.PValue, srm.Warning
//	out := make([]stats.Result, len(variants))
//	stats.Analyze(variants, controlIndex, stats.Options{
//		Kind:             stats.Continuous,       // from the metric's type
//		Method:           stats.Sequential,       // ?method=
//		Alpha:            alpha,                  // ?alpha=, 0 for 0.05
//		SequentialTuning: exp.SequentialTuning,   // 0 for 5000
//		LowerIsBetter:    metric.Direction == "decrease",
//		CUPED:            cuped,                  // ?cuped=true
//	}, out)
//	// out[i].N, .Mean, .StdDev (and .AdjustedMean with CUPED) per variant;
//	// out[i].Comparison (.Absolute, .Relative, .PValue, .ChanceToBeatControl,
//	// .Risk, ...) for each variant compared (out[i].Compared).
//
// then gathers the PValue of every compared variant of every metric in the
// response, corrects them together with [AdjustPValues] (Holm by default,
// [ParseCorrection] reads ?correction=), and sets significant with
// [Significant] and guardrail_breached with [GuardrailBreached]. Planning
// is [SampleSizePerVariant] from the control's [Summary.Mean] and
// [Summary.Variance].
//
// [Compare] compares one treatment with the control when a caller needs
// only that; [CUPEDTheta] and [DescribeVariant] are the CUPED parts Analyze
// uses. [TwoProportionZTest], [Rate] and [Lift] are the original binomial
// z-test API, unchanged.
//
// # Conventions
//
//   - "Control" is the baseline variant and "treatment" the variant compared
//     with it. Signed statistics (z, t, lift, effects) are positive when the
//     treatment is higher than the control, whatever the metric's good
//     direction; only the Bayesian chance to beat control and risk follow
//     the direction.
//   - Counts are int64. A group's counts are invalid when either is negative
//     or when conversions exceed the group's size.
//   - A statistic that is mathematically undefined for its inputs is
//     reported with ok == false (and, where the result type has one, an
//     [UndefinedReason]) instead of NaN or ±Inf, so callers can show "n/a"
//     and encoding/json never meets a NaN.
//
// Each statistical method lives in a file of its own, named after it.
package stats
