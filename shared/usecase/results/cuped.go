package results

import (
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/domain/stats"
)

// Codes of a CUPED reading.
const (
	// CodeCUPEDNeedsMetric: cuped=true reads a metric; an event has no
	// covariate kept.
	CodeCUPEDNeedsMetric = "CUPED_NEEDS_METRIC"
	// CodeCUPEDRatio: CUPED does not adjust ratio metrics.
	CodeCUPEDRatio = "CUPED_NOT_FOR_RATIO"
)

// CUPED is how a cuped=true report was adjusted: the coefficient pooled
// over every variant (0: nothing adjusted, e.g. no unit had a history) and
// the window the covariate covers.
type CUPED struct {
	Theta        float64 `json:"theta"`
	LookbackDays int     `json:"lookback_days"`
}

// VariantCUPED are a variant's adjusted figures: the mean of x - θ·(pre -
// p̄re_all) over its units (p̄re_all: the covariate's mean over every
// variant), their standard deviation, and, for a variant
// compared with the control, the share of the effect's variance the
// adjustment removed (1 - adjusted/unadjusted).
type VariantCUPED struct {
	AdjustedMean      float64  `json:"adjusted_mean"`
	AdjustedStdDev    float64  `json:"adjusted_stddev"`
	VarianceReduction *float64 `json:"variance_reduction,omitempty"`
}

// checkCUPED refuses a CUPED reading of what has no covariate: an event
// (read as the implicit binomial metric of the counters) or a ratio metric.
func checkCUPED(q Query, m *metric.Metric) error {
	switch {
	case !q.CUPED:
		return nil
	case m == nil:
		return fault.New(fault.Invalid, CodeCUPEDNeedsMetric,
			"cuped=true adjusts a metric with its pre-exposure value: name one with metric= (an event has no covariate)")
	case m.Type == metric.Ratio:
		return fault.New(fault.Invalid, CodeCUPEDRatio, "cuped=true does not adjust ratio metrics: read "+m.Key+" without it")
	}
	return nil
}

// pooledCovariate is the CUPED coefficient pooled over every variant and
// the covariate's mean over all their units: an adjusted mean is shown as
// x̄ - θ·(p̄re - p̄re_all), on the metric's own scale (the engine's
// x̄ - θ·p̄re differs by the same constant in every variant, so the
// comparisons are the same).
func pooledCovariate(sums []stats.Summary, kind stats.Kind) (theta, preMean float64) {
	var n int64
	var pre float64
	for _, s := range sums {
		n, pre = n+s.N, pre+s.PreSum
	}
	if n > 0 {
		preMean = pre / float64(n)
	}
	return stats.CUPEDTheta(kind, sums...), preMean
}
