package experiments

import (
	"context"
	"errors"
	"slices"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
)

// MetricsPatch changes the metrics an experiment names; nil fields stay as
// they are ("" as primary removes it). Allowed in any status: statistics
// are kept per metric, so renaming roles loses nothing.
type MetricsPatch struct {
	Primary    *string
	Secondary  *[]string
	Guardrails *[]string
}

func (m MetricsPatch) empty() bool {
	return m.Primary == nil && m.Secondary == nil && m.Guardrails == nil
}

// applyTo sets the patch's metrics on e and records them in changed.
func (m MetricsPatch) applyTo(e *experiment.Experiment, changed map[string]any) {
	if m.Primary != nil {
		e.Metrics.Primary, changed["primary_metric"] = *m.Primary, *m.Primary
	}
	if m.Secondary != nil {
		e.Metrics.Secondary, changed["secondary_metrics"] = *m.Secondary, *m.Secondary
	}
	if m.Guardrails != nil {
		e.Metrics.Guardrails, changed["guardrail_metrics"] = *m.Guardrails, *m.Guardrails
	}
}

// nameMetrics checks that every metric next names and prev did not (prev
// nil: every one) is a live metric, and declares the events every named
// metric reads as the experiment's conversion events, so their conversions
// are counted from now on (a recount backfills earlier ones). A metric
// archived since it was named stays named.
func (s *Service) nameMetrics(ctx context.Context, next, prev *experiment.Experiment) error {
	problems := experiment.Problems{}
	experiment.CheckMetrics(problems, next.Metrics)
	if len(problems) > 0 {
		return fault.Validation(problems)
	}
	for _, key := range next.Metrics.All() {
		m, err := s.store.GetMetric(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			m, err = nil, nil
		}
		if err != nil {
			return err
		}
		named := prev != nil && prev.Metrics.Names(key)
		if m == nil || (!named && m.Status == metric.Archived) {
			return fault.New(fault.Invalid, metric.CodeNotFound, "no such metric: "+key).
				With(map[string]any{"metric": key})
		}
		for _, ev := range m.Events() {
			if !slices.Contains(next.Events, ev) {
				next.Events = append(slices.Clip(next.Events), ev)
			}
		}
	}
	experiment.CheckEvents(problems, "events", next.Events)
	if len(problems) > 0 {
		problems["events"] += ", the events of the named metrics included"
		return fault.Validation(problems)
	}
	return nil
}
