package experiment

import (
	"fmt"
	"slices"
)

// MaxMetrics bounds the metrics one experiment names, all roles together.
const MaxMetrics = 20

// MetricRefs are the metrics an experiment is read on, by metric key: one
// primary (the decision metric; "" for none), secondary metrics, and
// guardrails (metrics that must not get worse). They may change at any
// time before archive: statistics are kept per metric, not per naming.
type MetricRefs struct {
	Primary    string
	Secondary  []string
	Guardrails []string
}

// All returns every named metric key, primary first, each once.
func (m MetricRefs) All() []string {
	var out []string
	if m.Primary != "" {
		out = append(out, m.Primary)
	}
	for _, k := range append(slices.Clone(m.Secondary), m.Guardrails...) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Names reports whether the experiment names metric key in any role.
func (m MetricRefs) Names(key string) bool { return slices.Contains(m.All(), key) }

// IsGuardrail reports whether metric key is one of the guardrails.
func (m MetricRefs) IsGuardrail(key string) bool { return slices.Contains(m.Guardrails, key) }

// CheckMetrics adds to p every problem of the metric keys: each a valid
// key, named in one role only, at most MaxMetrics in all.
func CheckMetrics(p Problems, m MetricRefs) {
	seen := map[string]string{}
	note := func(field, key string) {
		if msg := KeyProblem(key); msg != "" {
			p[field] = msg
			return
		}
		if other, ok := seen[key]; ok {
			p[field] = "is named in " + other + " already: a metric has one role"
		}
		seen[key] = field
	}
	if m.Primary != "" {
		note("primary_metric", m.Primary)
	}
	for i, k := range m.Secondary {
		note(fmt.Sprintf("secondary_metrics[%d]", i), k)
	}
	for i, k := range m.Guardrails {
		note(fmt.Sprintf("guardrail_metrics[%d]", i), k)
	}
	if n := len(m.Secondary) + len(m.Guardrails) + min(len(m.Primary), 1); n > MaxMetrics {
		p["secondary_metrics"] = fmt.Sprintf("an experiment names at most %d metrics in all", MaxMetrics)
	}
}
