// Package results is the use case "how is the experiment doing?": per
// variant, units assigned, exposed and converted on one event, the
// conversion rate, and a pooled two-proportion z-test of each variant
// against the control. It reads the live counters, so its cost does not
// grow with the number of units. It also rebuilds those counters from the
// stored items (recount), and answers holdouts' results the same way.
package results

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/domain/stats"
)

// Codes of this use case.
const (
	CodeEventRequired = "EVENT_REQUIRED"
	// CodeEventNotDeclared: the event is not one the experiment counts.
	CodeEventNotDeclared = "EVENT_NOT_DECLARED"
	CodeResultsFailed    = "RESULTS_FAILED"
	CodeRecountFailed    = "RECOUNT_FAILED"
	CodeExportFailed     = "EXPORT_FAILED"
	// CodeRecountConflict: writes kept racing the recount; nothing written.
	CodeRecountConflict = "RECOUNT_CONFLICT"
	// CodeRecountRunning: another call is advancing the same recount.
	CodeRecountRunning = "RECOUNT_RUNNING"
)

// Store is what results need from the data layer.
type Store interface {
	ReadAggregates(ctx context.Context, key string) (experiment.Aggregates, error)
	// GetMetrics reads metric definitions in one call (unknown keys left out).
	GetMetrics(ctx context.Context, keys []string) (map[string]*metric.Metric, error)
	RecountStep(ctx context.Context, key string, events []string, write bool, until time.Time) (store.RecountProgress, error)
	RetentionDays() int
	// ExperimentAssignments is one page of an experiment's assignments (export).
	ExperimentAssignments(ctx context.Context, key string, limit int, cursor string) (store.Page[*experiment.Assignment], error)
}

// Definitions reads one definition as it is now.
type Definitions interface {
	Fresh(ctx context.Context, key string) (*experiment.Experiment, error)
}

// Service reads results and recounts.
type Service struct {
	defs      Definitions
	store     Store
	now       func() time.Time
	holdouts  HoldoutStore
	breaker   Breaker
	snapshots SnapshotStore
}

// New returns the use case; now is the clock.
func New(defs Definitions, st Store, now func() time.Time) *Service {
	return &Service{defs: defs, store: st, now: now}
}

// Variant is one row of the results.
type Variant struct {
	Variant        string   `json:"variant"`
	IsControl      bool     `json:"is_control"`
	Weight         float64  `json:"weight"`
	AssignedCount  int64    `json:"assigned_count"`
	ExposedCount   int64    `json:"exposed_count"`
	ConvertedCount int64    `json:"converted_count"`
	ConversionRate *float64 `json:"conversion_rate"`
	// ZScore is the pooled two-proportion z-test of the variant against
	// the control, whatever the method.
	ZScore *float64 `json:"z_score"`
	// PValue is the method's p-value: the pooled z-test's (frequentist,
	// binomial readings), Welch's t (frequentist, count, sum and ratio
	// metrics), the always-valid one (sequential); null for bayesian.
	PValue *float64 `json:"p_value"`
	Lift   *float64 `json:"lift"`

	// N, Mean and StdDev describe the metric over the variant's exposed
	// units (mean and stddev null without units).
	N      int64    `json:"n"`
	Mean   *float64 `json:"mean"`
	StdDev *float64 `json:"stddev"`
	// The comparison with the control, on non-control variants where it is
	// defined (else Undefined says why): the difference and the relative
	// lift with their intervals at 1-alpha, the p-value corrected over
	// every non-control variant of the response, and whether the effect is
	// significant after correction.
	Absolute       *Effect  `json:"absolute,omitempty"`
	Relative       *Effect  `json:"relative,omitempty"`
	AdjustedPValue *float64 `json:"adjusted_p_value,omitempty"`
	Significant    *bool    `json:"significant,omitempty"`
	// Bayesian only: P(variant better than control) and the expected loss
	// of shipping it, both following the metric's good direction.
	ChanceToBeatControl *float64 `json:"chance_to_beat_control,omitempty"`
	Risk                *float64 `json:"risk,omitempty"`
	Undefined           string   `json:"undefined_reason,omitempty"`
	// GuardrailBreached: a guardrail metric of the experiment moved
	// significantly (after correction over the guardrails) in its bad
	// direction; absent when no guardrail could be checked.
	GuardrailBreached *bool `json:"guardrail_breached,omitempty"`
	// CUPED are the adjusted figures of a cuped=true reading (the
	// estimates, intervals and p-values above are then adjusted).
	CUPED *VariantCUPED `json:"cuped,omitempty"`

	comparison *stats.Comparison
}

// Report is an experiment's results on one event.
type Report struct {
	Experiment  string            `json:"experiment"`
	Status      experiment.Status `json:"status"`
	Event       string            `json:"event"`
	Metric      string            `json:"metric,omitempty"` // ?metric=: the metric read (its first event is Event)
	GeneratedAt string            `json:"generated_at"`
	// AsOf is when the newest change the counts include was made: counts
	// follow the table's change stream a moment behind (null: none yet).
	AsOf       *string   `json:"as_of"`
	Method     string    `json:"method"`
	Correction string    `json:"correction"`
	Alpha      float64   `json:"alpha"`
	SRM        SRM       `json:"srm"`
	Variants   []Variant `json:"variants"`
	// MDE is the minimum detectable relative effect SampleSizeReached is
	// judged against (?mde=, default 0.05): every variant taking traffic
	// has at least SampleSizePerVariant exposed units (see Plan).
	MDE                  float64 `json:"mde"`
	SampleSizePerVariant *int64  `json:"sample_size_per_variant"`
	SampleSizeReached    bool    `json:"sample_size_reached"`
	// Warning says what makes the figures doubtful or empty, such as an
	// event never received from the experiment's units.
	Warning string `json:"warning,omitempty"`
	// Guardrails are the guardrail metrics checked for guardrail_breached;
	// GuardrailsUnchecked those whose definition could not be read.
	Guardrails          []string `json:"guardrails,omitempty"`
	GuardrailsUnchecked []string `json:"guardrails_unchecked,omitempty"`
	// StoppedByGuardrail: this read paused the experiment (stop_on_guardrail).
	StoppedByGuardrail bool `json:"stopped_by_guardrail,omitempty"`
	// CUPED says how a cuped=true reading was adjusted.
	CUPED *CUPED `json:"cuped,omitempty"`
}

// Results reads experiment key's results on event, read the default way.
func (s *Service) Results(ctx context.Context, key, event string) (Report, error) {
	return s.Read(ctx, key, Query{Event: event})
}

// Read reads experiment key's results as q asks: one read of the
// definition and one of the counters, whatever the number of units.
func (s *Service) Read(ctx context.Context, key string, q Query) (Report, error) {
	a, err := s.ask(ctx, key, q)
	if err != nil {
		return Report{}, err
	}
	agg, err := s.store.ReadAggregates(ctx, key)
	if err != nil {
		return Report{}, err
	}
	rep := a.report(agg, s.now())
	if err := s.tripBreaker(ctx, &rep, a.exp, agg, a.defs); err != nil {
		return Report{}, err
	}
	return rep, nil
}

// asked is a results query checked against the definitions it reads:
// everything a report needs but the counters.
type asked struct {
	exp    *experiment.Experiment
	defs   map[string]*metric.Metric
	metric string
	event  string
	m      *metric.Metric // the metric asked, if any
	r      reading
}

// ask checks q and reads what it names (the definition, its metrics).
func (s *Service) ask(ctx context.Context, key string, q Query) (asked, error) {
	if err := experiment.CheckKey(key); err != nil {
		return asked{}, err
	}
	if err := checkTarget(q); err != nil {
		return asked{}, err
	}
	r, err := q.resolve()
	if err != nil {
		return asked{}, err
	}
	exp, err := s.defs.Fresh(ctx, key)
	if err != nil {
		return asked{}, err
	}
	defs, err := s.metricsOf(ctx, exp, q.Metric)
	if err != nil {
		return asked{}, err
	}
	event := q.Event
	var m *metric.Metric
	if q.Metric != "" {
		if m, err = askedMetric(exp, defs, q.Metric); err != nil {
			return asked{}, err
		}
		event, r.lowerIsBetter = m.Events()[0], m.LowerIsBetter()
	} else if err := declared(exp, event); err != nil {
		return asked{}, err
	}
	if err := checkCUPED(q, m); err != nil {
		return asked{}, err
	}
	return asked{exp: exp, defs: defs, metric: q.Metric, event: event, m: m, r: r}, nil
}

// report computes the asked figures from one set of counters (the live
// ones, or a day's snapshot of them).
func (a asked) report(agg experiment.Aggregates, now time.Time) Report {
	rep := computeFor(a.exp, agg, a.event, a.m, a.r, now)
	rep.Metric = a.metric
	checkGuardrails(&rep, a.exp, agg, a.defs, a.r)
	return rep
}

// declared refuses an event the experiment does not count.
func declared(exp *experiment.Experiment, event string) error {
	if !exp.CountsEvent(event) {
		return fault.New(fault.Invalid, CodeEventNotDeclared,
			fmt.Sprintf("%q is not one of the experiment's conversion events: add it to events (a recount then backfills it)", event)).
			With(map[string]any{"events": exp.Events})
	}
	return nil
}

// checkEvent checks the event query parameter of results.
func checkEvent(event string) error {
	if event == "" {
		return fault.New(fault.Invalid, CodeEventRequired, "the event query parameter names the conversion event")
	}
	if !experiment.ValidEventName(event) {
		msg := "must match " + experiment.EventNamePattern
		return fault.New(fault.Invalid, fault.CodeValidationFailed, "event "+msg).
			With(map[string]any{"fields": map[string]string{"event": msg}})
	}
	return nil
}

// Compute builds the results of one event from the counters, read the
// default way: pure, so the statistics are tested without DynamoDB.
func Compute(exp *experiment.Experiment, agg experiment.Aggregates, event string, now time.Time) Report {
	r, _ := Query{}.resolve()
	return compute(exp, agg, event, r, now)
}

// ComputeQuery is Compute read as q asks (q.Event is the event).
func ComputeQuery(exp *experiment.Experiment, agg experiment.Aggregates, q Query, now time.Time) (Report, error) {
	r, err := q.resolve()
	if err != nil {
		return Report{}, err
	}
	return compute(exp, agg, q.Event, r, now), nil
}

func compute(exp *experiment.Experiment, agg experiment.Aggregates, event string, r reading, now time.Time) Report {
	return computeFor(exp, agg, event, nil, r, now)
}

// computeFor builds the results of event, or of metric m when given (its
// first event is event), from one set of counters: pure.
func computeFor(exp *experiment.Experiment, agg experiment.Aggregates, event string, m *metric.Metric, r reading, now time.Time) Report {
	r = r.of(exp)
	sums, kind := summaries(exp, agg, event, m, r.cuped)
	resp := Report{Experiment: exp.Key, Status: exp.Status, Event: event, GeneratedAt: now.UTC().Format(time.RFC3339Nano),
		Method: r.method.String(), Correction: r.correction.String(), Alpha: r.alpha, Variants: []Variant{}}
	if !agg.AsOf.IsZero() {
		at := agg.AsOf.UTC().Format(time.RFC3339Nano)
		resp.AsOf = &at
	}
	exposed := make([]int64, len(exp.Variants))
	for i, v := range exp.Variants {
		row := Variant{
			Variant:       v.Key,
			IsControl:     i == 0,
			Weight:        v.Weight,
			AssignedCount: agg.Assigned[v.Key],
			ExposedCount:  agg.Exposed[v.Key],
		}
		if kind == stats.Binomial {
			// Converted units: the counters' count on the event, or the
			// metric's Σx (a unit counts 1 once converted).
			row.ConvertedCount = int64(math.Round(sums[i].Sum))
			if r, ok := stats.Rate(row.ConvertedCount, row.ExposedCount); ok {
				row.ConversionRate = &r
			}
		}
		exposed[i] = row.ExposedCount
		resp.Variants = append(resp.Variants, row)
	}
	srm := stats.SRM(exposed, exp.Weights())
	resp.SRM = SRM{PValue: srm.PValue, Warning: srm.Warning}
	resp.Warning = emptyWarning(agg, event, m, sums)
	if len(resp.Variants) == 0 {
		return resp
	}
	control := resp.Variants[0]
	for i := 1; i < len(resp.Variants) && kind == stats.Binomial; i++ {
		row := &resp.Variants[i]
		if z, ok := stats.TwoProportionZTest(control.ConvertedCount, control.ExposedCount, row.ConvertedCount, row.ExposedCount); ok {
			row.ZScore, row.PValue = ptr(z.Z), ptr(z.PValue)
		}
		if control.ConversionRate != nil && row.ConversionRate != nil {
			if l, ok := stats.Lift(*control.ConversionRate, *row.ConversionRate); ok {
				row.Lift = &l
			}
		}
	}
	theta := analyze(resp.Variants, sums, kind, r)
	if r.cuped {
		resp.CUPED = &CUPED{Theta: theta, LookbackDays: exp.Analysis.Lookback()}
	}
	plan := planOf(exp, agg, event, sums[0], kind, r.mde, r.alpha, now)
	resp.MDE, resp.SampleSizePerVariant, resp.SampleSizeReached = r.mde, plan.SampleSizePerVariant, plan.SampleSizeReached
	return resp
}

func ptr(f float64) *float64 { return &f }

// emptyWarning says when what a report reads was never received: an event
// no unit of the experiment emitted (at or after its assignment), or a
// metric whose sums are all zero.
func emptyWarning(agg experiment.Aggregates, event string, m *metric.Metric, sums []stats.Summary) string {
	if m == nil {
		if agg.Marked[event] == 0 && convertedOn(agg, event) == 0 {
			return fmt.Sprintf("no events named %s were ever received from this experiment's units (at or after their assignment)", event)
		}
		return ""
	}
	for _, s := range sums {
		if s.Sum != 0 || s.DenSum != 0 {
			return ""
		}
	}
	return fmt.Sprintf("metric %s has no value yet from this experiment's exposed units: no events named %s were counted for it",
		m.Key, strings.Join(m.Events(), " or "))
}

// convertedOn is the number of exposed units converted on event, over every
// variant: counters kept before Marked existed still show the event.
func convertedOn(agg experiment.Aggregates, event string) int64 {
	var n int64
	for _, m := range agg.Converted {
		n += m[event]
	}
	return n
}

// Recounted compares the live counters with the recounted ones. While the
// recount is still running (Status "running"), only Progress is set; a
// recount counts progress in units read and items scanned.
type Recounted struct {
	Experiment string    `json:"experiment"`
	Status     string    `json:"status"` // "done" or "running"
	Progress   *Progress `json:"progress,omitempty"`
	Written    bool      `json:"written"`
	Matched    bool      `json:"matched"`
	Before     Counts    `json:"before"`
	After      Counts    `json:"after"`
	// RetentionDays is how long the raw items a recount reads are kept:
	// exposures and events older than that are gone, and a recount cannot
	// count them (Note says so).
	RetentionDays int    `json:"retention_days"`
	Note          string `json:"note"`
}

// Progress is how far a running recount has come.
type Progress struct {
	Segments     int    `json:"segments"`
	SegmentsDone int    `json:"segments_done"`
	Units        int64  `json:"units"`
	Scanned      int64  `json:"scanned_items"`
	StartedAt    string `json:"started_at"`
}

// Counts are counters without the zero ones, and the metrics' sums.
type Counts struct {
	Assigned  map[string]int64                      `json:"assigned"`
	Exposed   map[string]int64                      `json:"exposed"`
	Converted map[string]map[string]int64           `json:"converted"`
	Sums      map[string]map[string]experiment.Sums `json:"sums,omitempty"`
}

// matches reports whether b and a are the same counts, with sums equal to
// 1e-9 relative: the live sums add float64 deltas in another order than
// the recount.
func matches(b, a Counts) bool {
	if !reflect.DeepEqual(b.Assigned, a.Assigned) || !reflect.DeepEqual(b.Exposed, a.Exposed) || !reflect.DeepEqual(b.Converted, a.Converted) {
		return false
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) }
	for _, pair := range [][2]Counts{{b, a}, {a, b}} {
		for v, m := range pair[0].Sums {
			for k, x := range m {
				y := pair[1].Sums[v][k]
				if !near(x.X, y.X) || !near(x.XX, y.XX) || !near(x.Y, y.Y) || !near(x.YY, y.YY) || !near(x.XY, y.XY) {
					return false
				}
			}
		}
	}
	return true
}

// Recount advances the rebuilding of experiment key's counters from the
// stored items (with dryRun it only compares) for as long as the request
// may run, and answers with the comparison once it is done, or with its
// progress: calling again goes on where it stopped, also after a call
// that failed or was cut off.
func (s *Service) Recount(ctx context.Context, key string, dryRun bool) (Recounted, error) {
	if err := experiment.CheckKey(key); err != nil {
		return Recounted{}, err
	}
	exp, err := s.defs.Fresh(ctx, key)
	if err != nil {
		return Recounted{}, err
	}
	before, err := s.store.ReadAggregates(ctx, key)
	if err != nil {
		return Recounted{}, err
	}
	p, err := s.store.RecountStep(ctx, key, exp.Events, !dryRun, recountUntil(ctx, time.Now()))
	switch {
	case errors.Is(err, store.ErrRecountConflict):
		return Recounted{}, fault.New(fault.Conflict, CodeRecountConflict,
			"the counters kept changing during the recount, which wrote nothing; pause the experiment, let results catch up, and retry")
	case errors.Is(err, store.ErrRecountBusy):
		return Recounted{}, fault.New(fault.Conflict, CodeRecountRunning,
			"another call is running this recount; call again in a few seconds")
	case err != nil:
		return Recounted{}, err
	}
	days := s.store.RetentionDays()
	progress := &Progress{Segments: p.Segments, SegmentsDone: p.SegmentsDone, Units: p.Units, Scanned: p.Scanned,
		StartedAt: p.StartedAt.UTC().Format(time.RFC3339Nano)}
	if !p.Done {
		return Recounted{Experiment: key, Status: "running", RetentionDays: days, Progress: progress,
			Note: "the recount goes on where it stopped each time it is called: call again until status is done"}, nil
	}
	b, a := counts(before), counts(p.Totals)
	return Recounted{
		Experiment: key, Status: "done", Progress: progress, Written: !dryRun, Matched: matches(b, a), Before: b, After: a, RetentionDays: days,
		Note: fmt.Sprintf("rebuilt from the stored exposures and events, which are kept %d days: counts of older ones are only in the live counters", days),
	}, nil
}

// RecountBudget is how long one recount call works when its context sets
// no deadline; with one (Lambda's), it stops RecountMargin before it.
const (
	RecountBudget = 8 * time.Second
	RecountMargin = 2 * time.Second
)

func recountUntil(ctx context.Context, now time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		if until := d.Add(-RecountMargin); until.After(now) {
			return until
		}
		return now.Add(d.Sub(now) / 2)
	}
	return now.Add(RecountBudget)
}

func counts(g experiment.Aggregates) Counts {
	g = g.NonZero()
	c := Counts{Assigned: g.Assigned, Exposed: g.Exposed, Converted: g.Converted}
	if len(g.Sums) > 0 {
		c.Sums = g.Sums
	}
	return c
}
