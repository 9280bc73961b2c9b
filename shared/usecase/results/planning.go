package results

import (
	"context"
	"math"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/domain/stats"
)

// CodeInvalidMDE refuses a minimum detectable effect outside (0, 10].
const CodeInvalidMDE = "INVALID_MDE"

// DefaultMDE is the minimum detectable relative effect plans and results'
// sample_size_reached use when none is asked: +5%.
const DefaultMDE = 0.05

// ErrInvalidMDE refuses a minimum detectable effect.
func ErrInvalidMDE() error {
	const msg = "must be a relative effect above 0 and at most 10 (0.05 for +5%)"
	return fault.New(fault.Invalid, CodeInvalidMDE, "mde "+msg).
		With(map[string]any{"fields": map[string]string{"mde": msg}})
}

// PlanQuery is what a plan asks: the event, the minimum detectable
// relative effect (0: DefaultMDE) and alpha (0: 0.05).
type PlanQuery struct {
	Event  string
	Metric string // instead of Event: a binomial metric the experiment names
	MDE    float64
	Alpha  float64
}

// PlanVariant is one variant's progress towards the planned size.
type PlanVariant struct {
	Variant      string `json:"variant"`
	ExposedCount int64  `json:"exposed_count"`
	// ExposuresPerDay is the variant's exposed units over the days since
	// the experiment started (null before a day's worth of time has any
	// exposure to measure).
	ExposuresPerDay *float64 `json:"exposures_per_day"`
	// ExpectedDaysRemaining is how long the variant needs at that rate to
	// reach the planned size (0 once reached; null without a rate).
	ExpectedDaysRemaining *float64 `json:"expected_days_remaining"`
}

// Plan is the sample size an experiment needs to detect MDE on an event,
// and how far it is from it.
type Plan struct {
	Experiment string  `json:"experiment"`
	Event      string  `json:"event"`
	Metric     string  `json:"metric,omitempty"`
	MDE        float64 `json:"mde"`
	Alpha      float64 `json:"alpha"`
	Power      float64 `json:"power"`
	// BaselineMean is the control's conversion rate so far, the baseline
	// the size is planned from (null without exposed control units).
	BaselineMean *float64 `json:"baseline_mean"`
	// SampleSizePerVariant is null when the baseline cannot be planned
	// from (no data yet, or a rate of 0 or 1); Warning says why.
	SampleSizePerVariant *int64 `json:"sample_size_per_variant"`
	SampleSizeReached    bool   `json:"sample_size_reached"`
	// StartedAt is when traffic is measured from: the first start (the
	// creation time for experiments started before it was recorded).
	StartedAt *string `json:"started_at"`
	// ExpectedDaysRemaining is the longest of the variants' (null when
	// any variant taking traffic has no rate yet).
	ExpectedDaysRemaining *float64      `json:"expected_days_remaining"`
	Variants              []PlanVariant `json:"variants"`
	GeneratedAt           string        `json:"generated_at"`
	Warning               string        `json:"warning,omitempty"`
}

// Plan answers how many units each variant needs to detect q.MDE on
// q.Event at q.Alpha with power 0.8, from the control's rate so far, and
// when the experiment should get there at its traffic so far. It reads the
// definition and the counters, as results do.
func (s *Service) Plan(ctx context.Context, key string, q PlanQuery) (Plan, error) {
	if err := experiment.CheckKey(key); err != nil {
		return Plan{}, err
	}
	if err := checkTarget(Query{Event: q.Event, Metric: q.Metric}); err != nil {
		return Plan{}, err
	}
	r, err := Query{Alpha: q.Alpha}.resolve()
	if err != nil {
		return Plan{}, err
	}
	mde, err := resolveMDE(q.MDE)
	if err != nil {
		return Plan{}, err
	}
	exp, err := s.defs.Fresh(ctx, key)
	if err != nil {
		return Plan{}, err
	}
	var m *metric.Metric
	if q.Metric != "" {
		defs, err := s.store.GetMetrics(ctx, []string{q.Metric})
		if err != nil {
			return Plan{}, err
		}
		if m, err = askedMetric(exp, defs, q.Metric); err != nil {
			return Plan{}, err
		}
		q.Event = m.Events()[0]
	} else if err := declared(exp, q.Event); err != nil {
		return Plan{}, err
	}
	agg, err := s.store.ReadAggregates(ctx, key)
	if err != nil {
		return Plan{}, err
	}
	sums, kind := summaries(exp, agg, q.Event, m, false)
	p := planOf(exp, agg, q.Event, sums[0], kind, mde, r.alpha, s.now())
	p.Metric = q.Metric
	return p, nil
}

func resolveMDE(mde float64) (float64, error) {
	if mde == 0 {
		return DefaultMDE, nil
	}
	if !(mde > 0 && mde <= 10) {
		return 0, ErrInvalidMDE()
	}
	return mde, nil
}

// planOf is the plan of one event or metric from the counters, whose
// control's sufficient statistics are control (read as kind): pure.
func planOf(exp *experiment.Experiment, agg experiment.Aggregates, event string, control stats.Summary, kind stats.Kind, mde, alpha float64, now time.Time) Plan {
	p := Plan{Experiment: exp.Key, Event: event, MDE: mde, Alpha: alpha, Power: stats.DefaultPower,
		GeneratedAt: now.UTC().Format(time.RFC3339Nano), Variants: []PlanVariant{}}
	if control.N > 0 {
		mean := control.Mean(kind)
		p.BaselineMean = &mean
		if size, ok := stats.SampleSizePerVariant(kind, mean, control.Variance(kind), mde, alpha, stats.DefaultPower); ok {
			p.SampleSizePerVariant = &size
		} else if kind == stats.Binomial {
			p.Warning = "the control's rate so far cannot be planned from (0 or 1, or moved past 1 by mde)"
		} else {
			p.Warning = "the control's values so far cannot be planned from (a mean of 0, or no variance)"
		}
	} else {
		p.Warning = "no exposed control units yet: the baseline rate is unknown"
	}
	start := exp.StartedAt
	if start.IsZero() && exp.Status != experiment.Draft {
		start = exp.CreatedAt
	}
	var days float64
	if !start.IsZero() {
		at := start.UTC().Format(time.RFC3339Nano)
		p.StartedAt = &at
		days = now.Sub(start).Hours() / 24
	}
	p.SampleSizeReached = p.SampleSizePerVariant != nil
	allRates := true
	longest := 0.0
	for _, v := range exp.Variants {
		if !(v.Weight > 0) {
			continue // takes no traffic by design
		}
		row := PlanVariant{Variant: v.Key, ExposedCount: agg.Exposed[v.Key]}
		if days > 0 && row.ExposedCount > 0 {
			rate := float64(row.ExposedCount) / days
			row.ExposuresPerDay = &rate
		}
		if p.SampleSizePerVariant != nil {
			need := *p.SampleSizePerVariant - row.ExposedCount
			if need > 0 {
				p.SampleSizeReached = false
			}
			switch {
			case need <= 0:
				row.ExpectedDaysRemaining = ptr(0)
			case row.ExposuresPerDay != nil:
				row.ExpectedDaysRemaining = ptr(float64(need) / *row.ExposuresPerDay)
			}
			if row.ExpectedDaysRemaining == nil {
				allRates = false
			} else {
				longest = math.Max(longest, *row.ExpectedDaysRemaining)
			}
		}
		p.Variants = append(p.Variants, row)
	}
	if p.SampleSizePerVariant != nil && allRates {
		p.ExpectedDaysRemaining = &longest
	}
	return p
}
