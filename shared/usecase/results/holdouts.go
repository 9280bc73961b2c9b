package results

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/domain/stats"
)

// HoldoutStore is what a holdout's results need from the data layer.
type HoldoutStore interface {
	GetHoldout(ctx context.Context, key string) (*holdout.Holdout, error)
	ReadHoldoutCounts(ctx context.Context, key string) (experiment.Aggregates, error)
}

// WithHoldouts returns a copy of s that also answers holdouts' results.
func (s *Service) WithHoldouts(st HoldoutStore) *Service {
	c := *s
	c.holdouts = st
	return &c
}

// HoldoutGroup is one row of a holdout's results.
type HoldoutGroup struct {
	// Group is holdout.GroupHeldOut (the baseline) or holdout.GroupExposed.
	Group          string   `json:"group"`
	Units          int64    `json:"units"`
	ConvertedCount int64    `json:"converted_count"`
	ConversionRate *float64 `json:"conversion_rate"`
	// The exposed group against the held-out one; null on the held-out row
	// and where undefined.
	ZScore *float64 `json:"z_score"`
	PValue *float64 `json:"p_value"`
	Lift   *float64 `json:"lift"`
}

// HoldoutReport is a holdout's results on one event.
type HoldoutReport struct {
	Holdout     string         `json:"holdout"`
	Event       string         `json:"event"`
	GeneratedAt string         `json:"generated_at"`
	AsOf        *string        `json:"as_of"`
	Groups      []HoldoutGroup `json:"groups"`
}

// Holdout reads live holdout key's results on event: held-out units
// against units exposed in the experiments it covers, with the z-test of
// experiment results.
func (s *Service) Holdout(ctx context.Context, key, event string) (HoldoutReport, error) {
	if s.holdouts == nil {
		return HoldoutReport{}, holdout.ErrNotFound()
	}
	if err := holdout.CheckKey(key); err != nil {
		return HoldoutReport{}, err
	}
	if err := checkEvent(event); err != nil {
		return HoldoutReport{}, err
	}
	h, err := s.holdouts.GetHoldout(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return HoldoutReport{}, holdout.ErrNotFound()
	}
	if err != nil {
		return HoldoutReport{}, err
	}
	if h, err = holdout.Visible(h); err != nil {
		return HoldoutReport{}, err
	}
	if !h.CountsEvent(event) {
		return HoldoutReport{}, fault.New(fault.Invalid, CodeEventNotDeclared,
			fmt.Sprintf("%q is not one of the holdout's conversion events (events are fixed when a holdout is created)", event)).
			With(map[string]any{"events": h.Events})
	}
	agg, err := s.holdouts.ReadHoldoutCounts(ctx, key)
	if err != nil {
		return HoldoutReport{}, err
	}
	return ComputeHoldout(h, agg, event, s.now()), nil
}

// ComputeHoldout builds a holdout's results on one event from its
// counters: pure, like Compute.
func ComputeHoldout(h *holdout.Holdout, agg experiment.Aggregates, event string, now time.Time) HoldoutReport {
	r := HoldoutReport{Holdout: h.Key, Event: event, GeneratedAt: now.UTC().Format(time.RFC3339Nano)}
	if !agg.AsOf.IsZero() {
		at := agg.AsOf.UTC().Format(time.RFC3339Nano)
		r.AsOf = &at
	}
	for _, g := range []string{holdout.GroupHeldOut, holdout.GroupExposed} {
		row := HoldoutGroup{Group: g, Units: agg.Assigned[g], ConvertedCount: agg.Converted[g][event]}
		if rate, ok := stats.Rate(row.ConvertedCount, row.Units); ok {
			row.ConversionRate = &rate
		}
		r.Groups = append(r.Groups, row)
	}
	held, exposed := r.Groups[0], &r.Groups[1]
	if z, ok := stats.TwoProportionZTest(held.ConvertedCount, held.Units, exposed.ConvertedCount, exposed.Units); ok {
		exposed.ZScore, exposed.PValue = ptr(z.Z), ptr(z.PValue)
	}
	if held.ConversionRate != nil && exposed.ConversionRate != nil {
		if l, ok := stats.Lift(*held.ConversionRate, *exposed.ConversionRate); ok {
			exposed.Lift = &l
		}
	}
	return r
}
