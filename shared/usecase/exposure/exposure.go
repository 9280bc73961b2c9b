// Package exposure is the use case "this unit saw a variant": an append-only
// record. It is not gated on status: a paused experiment's units still see
// what they were assigned, and that must be recorded.
package exposure

import (
	"context"
	"fmt"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of this use case.
const (
	CodeInvalidVariant     = "INVALID_VARIANT"
	CodeAssignmentRequired = "ASSIGNMENT_REQUIRED"
	CodeFailed             = "EXPOSURE_FAILED"
)

// Assignments reads a unit's assignment (shared/usecase/assignment).
type Assignments interface {
	Current(ctx context.Context, id experiment.Identity, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, *experiment.Assignment, error)
}

// Recorder appends exposures; a unit's first exposure in an experiment
// also records what first says (holdouts joined, the CUPED window).
type Recorder interface {
	RecordExposureFor(ctx context.Context, a *experiment.Assignment, shown, id string, first store.FirstExposure) (*experiment.Exposure, bool, error)
}

// Holdouts serves the live holdouts' rules, from memory.
type Holdouts interface {
	Rules(ctx context.Context) ([]enrolment.Holdout, error)
}

// Service records exposures.
type Service struct {
	assignments Assignments
	recorder    Recorder
	holdouts    Holdouts
}

// New returns the use case.
func New(assignments Assignments, r Recorder) *Service {
	return &Service{assignments: assignments, recorder: r}
}

// WithHoldouts returns a copy of s that, on a unit's first exposure in an
// experiment, makes the unit an exposed member of every live holdout that
// covers the experiment and does not hold the unit out: the other group of
// the holdouts' results.
func (s *Service) WithHoldouts(h Holdouts) *Service {
	c := *s
	c.holdouts = h
	return &c
}

// Expose records that the unit experiment key buckets for who (the user,
// or the device of a device-unit experiment) saw shown ("" = the assigned
// variant). The unit must be assigned; results count it under the
// assigned variant whatever was shown. id is an optional idempotency key: a
// retry with the same id stores nothing and returns the stored exposure with
// created false.
func (s *Service) Expose(ctx context.Context, who experiment.Identity, key, shown, id string) (x *experiment.Exposure, created bool, err error) {
	if id != "" && !experiment.ValidID(id) {
		return nil, false, fault.New(fault.Invalid, fault.CodeValidationFailed, fmt.Sprintf("id must be 1-%d printable characters", experiment.MaxIDLen)).
			With(map[string]any{"fields": map[string]string{"id": fmt.Sprintf("must be 1-%d printable characters", experiment.MaxIDLen)}})
	}
	var want func(*experiment.Experiment) bool
	if shown != "" {
		want = experiment.HasVariant(shown)
	}
	exp, a, err := s.assignments.Current(ctx, who, key, want)
	if err != nil {
		return nil, false, err
	}
	if shown != "" && !want(exp) {
		return nil, false, InvalidVariant(fmt.Sprintf("%q is not a variant of this experiment", shown))
	}
	if a == nil {
		return nil, false, fault.New(fault.NotFound, CodeAssignmentRequired,
			"the unit has no assignment in this experiment: call the assignment route first")
	}
	return s.Record(ctx, exp, a, shown, id)
}

// Record stores an exposure of assignment a in exp (read by the caller),
// shown "" meaning the assigned variant; on the unit's first exposure it
// also joins the live holdouts covering exp that do not hold the unit out,
// and fixes the unit's CUPED covariate over exp's lookback window.
func (s *Service) Record(ctx context.Context, exp *experiment.Experiment, a *experiment.Assignment, shown, id string) (*experiment.Exposure, bool, error) {
	if shown == "" {
		shown = a.Variant
	}
	first := store.FirstExposure{LookbackDays: exp.Analysis.Lookback(), Metrics: exp.Metrics.All()}
	if s.holdouts != nil && !a.Exposed() {
		joins, err := s.joins(ctx, exp, a.Unit.ID)
		if err != nil {
			return nil, false, err
		}
		first.Holdouts = joins
	}
	return s.recorder.RecordExposureFor(ctx, a, shown, id, first)
}

// joins are the keys of the live holdouts covering exp that do not hold
// unitID out. A unit they hold out has no assignment, unless it was
// assigned before the holdout: that one joins neither group.
func (s *Service) joins(ctx context.Context, exp *experiment.Experiment, unitID string) ([]string, error) {
	rules, err := s.holdouts.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var keys []string
	for i := range rules {
		if h := &rules[i]; h.Covers(exp) && !enrolment.InHoldout(*h, unitID) {
			keys = append(keys, h.Key)
		}
	}
	return keys, nil
}

// InvalidVariant is the answer for a shown variant that is not one.
func InvalidVariant(msg string) error {
	return fault.New(fault.Invalid, CodeInvalidVariant, msg)
}
