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
	Primary         *string
	Secondary       *[]string
	Guardrails      *[]string
	StopOnGuardrail *bool
	// The analysis settings (any status: they change how results are
	// read, not what is counted). SequentialTuning 0 restores the
	// default; ClearPrior restores the flat prior.
	SequentialTuning *float64
	Prior            *experiment.Prior
	ClearPrior       bool
	// LookbackDays is the CUPED window (0: the default); it applies to
	// units first exposed from then on, and to all after a recount.
	LookbackDays *int
}

func (m MetricsPatch) empty() bool {
	return m.Primary == nil && m.Secondary == nil && m.Guardrails == nil && m.StopOnGuardrail == nil &&
		m.SequentialTuning == nil && m.Prior == nil && !m.ClearPrior && m.LookbackDays == nil
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
	if m.StopOnGuardrail != nil {
		e.StopOnGuardrail, changed["stop_on_guardrail"] = *m.StopOnGuardrail, *m.StopOnGuardrail
	}
	if m.SequentialTuning != nil {
		e.Analysis.SequentialTuning, changed["sequential_tuning"] = *m.SequentialTuning, *m.SequentialTuning
	}
	if m.LookbackDays != nil {
		e.Analysis.LookbackDays, changed["cuped_lookback_days"] = *m.LookbackDays, *m.LookbackDays
	}
	if m.Prior != nil || m.ClearPrior {
		e.Analysis.Prior = nil
		if m.Prior != nil {
			prior := *m.Prior
			e.Analysis.Prior = &prior
		}
		changed["bayesian_prior"] = nil
		if p := e.Analysis.Prior; p != nil {
			changed["bayesian_prior"] = map[string]float64{"mean": p.Mean, "stddev": p.StdDev}
		}
	}
}

// PauseForGuardrail pauses an active experiment whose guardrails a results
// read found breached (the circuit breaker of stop_on_guardrail), with why
// in its audit trail: action "pause", by GuardrailActor, details.reason.
// It reports whether it paused: an experiment no longer active, or no
// longer opted in, is left as it is.
func (s *Service) PauseForGuardrail(ctx context.Context, key string, details map[string]any) (bool, error) {
	for attempt := 0; ; attempt++ {
		prev, err := s.load(ctx, key)
		if err != nil {
			return false, err
		}
		if prev.Status != experiment.Active || !prev.StopOnGuardrail {
			return false, nil
		}
		next := *prev
		next.Status = experiment.Paused
		d := map[string]any{"from": prev.Status, "to": next.Status, "reason": "guardrail_breached"}
		for k, v := range details {
			d[k] = v
		}
		err = s.save(ctx, &next, prev, GuardrailActor, string(experiment.Pause), d)
		if fault.HasCode(err, experiment.CodeVersionConflict) && attempt < 3 {
			continue
		}
		return err == nil, err
	}
}

// GuardrailActor is who the audit trail says paused an experiment for a
// guardrail.
const GuardrailActor = "guardrail"

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
