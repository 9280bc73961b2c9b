// Package exposure is the use case "this unit saw a variant": an append-only
// record. It is not gated on status: a paused experiment's units still see
// what they were assigned, and that must be recorded.
package exposure

import (
	"context"
	"fmt"

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
	Current(ctx context.Context, userID, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, *experiment.Assignment, error)
}

// Recorder appends exposures.
type Recorder interface {
	RecordExposure(ctx context.Context, a *experiment.Assignment, shown, id string) (*experiment.Exposure, bool, error)
}

// Service records exposures.
type Service struct {
	assignments Assignments
	recorder    Recorder
}

// New returns the use case.
func New(assignments Assignments, r Recorder) *Service {
	return &Service{assignments: assignments, recorder: r}
}

// Expose records that userID saw shown ("" = the assigned variant) in
// experiment key. The unit must be assigned; results count it under the
// assigned variant whatever was shown. id is an optional idempotency key: a
// retry with the same id stores nothing and returns the stored exposure with
// created false.
func (s *Service) Expose(ctx context.Context, userID, key, shown, id string) (x *experiment.Exposure, created bool, err error) {
	if id != "" && !experiment.ValidID(id) {
		return nil, false, fault.New(fault.Invalid, fault.CodeValidationFailed, fmt.Sprintf("id must be 1-%d printable characters", experiment.MaxIDLen)).
			With(map[string]any{"fields": map[string]string{"id": fmt.Sprintf("must be 1-%d printable characters", experiment.MaxIDLen)}})
	}
	var want func(*experiment.Experiment) bool
	if shown != "" {
		want = experiment.HasVariant(shown)
	}
	exp, a, err := s.assignments.Current(ctx, userID, key, want)
	if err != nil {
		return nil, false, err
	}
	if shown != "" && !want(exp) {
		return nil, false, InvalidVariant(fmt.Sprintf("%q is not a variant of this experiment", shown))
	}
	if a == nil {
		return nil, false, fault.New(fault.NotFound, CodeAssignmentRequired,
			"the user has no assignment in this experiment: call the assignment route first")
	}
	if shown == "" {
		shown = a.Variant
	}
	return s.recorder.RecordExposure(ctx, a, shown, id)
}

// InvalidVariant is the answer for a shown variant that is not one.
func InvalidVariant(msg string) error {
	return fault.New(fault.Invalid, CodeInvalidVariant, msg)
}
