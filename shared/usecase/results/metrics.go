package results

import (
	"context"
	"fmt"
	"strings"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/domain/stats"
)

// Codes of reading a metric.
const (
	// CodeEventOrMetric: a results call names an event or a metric, not both.
	CodeEventOrMetric = "EVENT_OR_METRIC"
	// CodeMetricNotNamed: the metric is not one the experiment names.
	CodeMetricNotNamed = "METRIC_NOT_NAMED"
)

// checkTarget checks that q names an event or a metric, well formed.
func checkTarget(q Query) error {
	switch {
	case q.Metric != "" && q.Event != "":
		return fault.New(fault.Invalid, CodeEventOrMetric, "name an event or a metric, not both")
	case q.Metric != "":
		return metric.CheckKey(q.Metric)
	}
	return checkEvent(q.Event)
}

// metricsOf reads, in one call, the definitions of the metric asked (if
// any) and of the experiment's guardrails; none are read when there are
// none, so plain event results cost what they did.
func (s *Service) metricsOf(ctx context.Context, exp *experiment.Experiment, asked string) (map[string]*metric.Metric, error) {
	keys := append([]string{}, exp.Metrics.Guardrails...)
	if asked != "" {
		keys = append(keys, asked)
	}
	if len(keys) == 0 {
		return map[string]*metric.Metric{}, nil
	}
	return s.store.GetMetrics(ctx, keys)
}

// askedMetric is the metric a results call reads: one the experiment
// names (archived since or not).
func askedMetric(exp *experiment.Experiment, defs map[string]*metric.Metric, key string) (*metric.Metric, error) {
	if !exp.Metrics.Names(key) {
		return nil, fault.New(fault.Invalid, CodeMetricNotNamed,
			fmt.Sprintf("%q is not one of the experiment's metrics: name it in primary_metric, secondary_metrics or guardrail_metrics", key)).
			With(map[string]any{"metrics": exp.Metrics.All()})
	}
	m := defs[key]
	if m == nil {
		return nil, metric.ErrNotFound()
	}
	return m, nil
}

// fromCounters reports whether a metric is read from the experiment's
// conversion counters rather than from its own sums: a binomial metric
// without a window on an event the experiment counts is exactly the
// converted count on that event (distinct exposed units that emitted it at
// or after assignment), which the counters have held since the experiment
// started and a recount backfills from the marks. Every other metric is
// read from its sums (experiment.Aggregates.Sums), kept per metric.
func fromCounters(exp *experiment.Experiment, m *metric.Metric) bool {
	return m.Type == metric.Binomial && m.WindowHours == 0 && exp.CountsEvent(m.Event)
}

// summaries are the variants' sufficient statistics of what a report reads
// (in the experiment's variant order) and how the statistics read them:
// the counters of an event (or a metric they hold, fromCounters) as a
// binomial metric, or the metric's sums. A CUPED reading takes every
// metric from its sums, where the covariate's sums are.
func summaries(exp *experiment.Experiment, agg experiment.Aggregates, event string, m *metric.Metric, cuped bool) ([]stats.Summary, stats.Kind) {
	out := make([]stats.Summary, len(exp.Variants))
	if m == nil || (fromCounters(exp, m) && !cuped) {
		if m != nil {
			event = m.Event
		}
		for i, v := range exp.Variants {
			out[i] = stats.Summary{N: agg.Exposed[v.Key], Sum: float64(agg.Converted[v.Key][event])}
		}
		return out, stats.Binomial
	}
	for i, v := range exp.Variants {
		x := agg.Sums[v.Key][m.Key]
		out[i] = stats.Summary{N: agg.Exposed[v.Key], Sum: x.X, SumSq: x.XX, DenSum: x.Y, DenSumSq: x.YY, SumXY: x.XY,
			PreSum: x.P, PreSumSq: x.PP, SumXPre: x.XP}
	}
	return out, m.Kind()
}

// checkGuardrails sets guardrail_breached on every non-control row from
// the guardrail metrics the counters can read: each compared with the
// control by the response's method, the p-values of every variant ×
// guardrail corrected together (the response's correction), and a breach
// is a significant move in the metric's bad direction
// (stats.GuardrailBreached). A binomial guardrail with a group of no
// variance is read on the pooled variance (guardrailComparison).
func checkGuardrails(rep *Report, exp *experiment.Experiment, agg experiment.Aggregates, defs map[string]*metric.Metric, r reading) {
	r = r.of(exp)
	type test struct {
		row   int
		c     stats.Comparison
		lower bool
	}
	var tests []test
	out := make([]stats.Result, len(exp.Variants))
	for _, key := range exp.Metrics.Guardrails {
		m := defs[key]
		if m == nil || len(exp.Variants) < 2 {
			rep.GuardrailsUnchecked = append(rep.GuardrailsUnchecked, key)
			continue
		}
		rep.Guardrails = append(rep.Guardrails, key)
		sums, kind := summaries(exp, agg, "", m, r.cuped)
		stats.Analyze(sums, 0, r.options(kind, m.LowerIsBetter()), out)
		for i := 1; i < len(out); i++ {
			if c, ok := guardrailComparison(out[i], sums[0], sums[i], r.options(kind, m.LowerIsBetter())); ok {
				tests = append(tests, test{row: i, c: c, lower: m.LowerIsBetter()})
			}
		}
	}
	if len(rep.Guardrails) == 0 {
		return
	}
	p := make([]float64, len(tests))
	for j, t := range tests {
		p[j] = t.c.PValue
	}
	adj := make([]float64, len(p))
	if r.method != stats.Bayesian {
		stats.AdjustPValues(r.correction, p, adj)
	}
	for i := 1; i < len(rep.Variants); i++ {
		breached := false
		for j, t := range tests {
			if t.row == i && stats.GuardrailBreached(t.c, adj[j], r.alpha, t.lower) {
				breached = true
			}
		}
		rep.Variants[i].GuardrailBreached = &breached
	}
}

// Breaker pauses an experiment for a breached guardrail (the experiments
// use case's PauseForGuardrail): it reports whether it paused.
type Breaker interface {
	PauseForGuardrail(ctx context.Context, key string, details map[string]any) (bool, error)
}

// WithBreaker returns a copy of s whose results reads trip the circuit
// breaker of experiments that opted in (stop_on_guardrail).
func (s *Service) WithBreaker(b Breaker) *Service {
	c := *s
	c.breaker = b
	return &c
}

// breakerReading is how the circuit breaker reads guardrails, whatever the
// reader asked: sequentially (always valid, so reading results often does
// not inflate false alarms), corrected by Holm, at alpha 0.05.
var breakerReading = reading{method: stats.Sequential, correction: stats.Holm, alpha: stats.DefaultAlpha, mde: DefaultMDE}

// tripBreaker pauses an active experiment that opted in to
// stop_on_guardrail when a guardrail is breached by the breaker's reading,
// and says so in the report.
func (s *Service) tripBreaker(ctx context.Context, rep *Report, exp *experiment.Experiment, agg experiment.Aggregates, defs map[string]*metric.Metric) error {
	if s.breaker == nil || !exp.StopOnGuardrail || exp.Status != experiment.Active || len(exp.Metrics.Guardrails) == 0 {
		return nil
	}
	scratch := Report{Variants: make([]Variant, len(exp.Variants))}
	checkGuardrails(&scratch, exp, agg, defs, breakerReading)
	var breached []string
	for i, row := range scratch.Variants {
		if row.GuardrailBreached != nil && *row.GuardrailBreached {
			breached = append(breached, exp.Variants[i].Key)
		}
	}
	if len(breached) == 0 {
		return nil
	}
	paused, err := s.breaker.PauseForGuardrail(ctx, exp.Key, map[string]any{"guardrails": scratch.Guardrails, "variants": breached})
	if err != nil {
		return fmt.Errorf("guardrail circuit breaker of %q: %w", exp.Key, err)
	}
	if paused {
		rep.Status = experiment.Paused
		rep.StoppedByGuardrail = true
		rep.Warning = strings.TrimPrefix(rep.Warning+"; ", "; ") +
			fmt.Sprintf("paused by its guardrail circuit breaker: variants %s breached a guardrail (sequential, alpha 0.05)", strings.Join(breached, ", "))
	}
	return nil
}
