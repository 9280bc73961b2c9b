package experiment

import (
	"fmt"

	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of the experiment rules, stable API.
const (
	CodeNotFound          = "EXPERIMENT_NOT_FOUND"
	CodeInactive          = "EXPERIMENT_INACTIVE"
	CodeNoValidVariants   = "NO_VALID_VARIANTS"
	CodeExists            = "EXPERIMENT_EXISTS"
	CodeVersionConflict   = "VERSION_CONFLICT"
	CodeInvalidTransition = "INVALID_TRANSITION"
	CodeVariantInUse      = "VARIANT_IN_USE"
	CodeControlChanged    = "CONTROL_CHANGED"
)

// ErrNotFound answers for an unknown experiment and for an archived one
// alike: an archived key does not exist for anyone (see Visible).
func ErrNotFound() *fault.Error {
	return fault.New(fault.NotFound, CodeNotFound, "no such experiment")
}

// Visible is the one place that says archived counts as not found: it
// returns e, or ErrNotFound when e is nil or archived.
func Visible(e *Experiment) (*Experiment, error) {
	if e == nil || e.Status == Archived {
		return nil, ErrNotFound()
	}
	return e, nil
}

// ErrInactive says an experiment enrols no new users because of its status
// (archived is not found).
func ErrInactive(status Status) error {
	if status == Archived {
		return ErrNotFound()
	}
	return fault.Newf(fault.Conflict, CodeInactive, "the experiment is %s: it enrols no new users", status).
		With(map[string]any{"status": string(status)})
}

// ErrVersionConflict says the experiment changed since the version the
// caller read.
func ErrVersionConflict(current int64) *fault.Error {
	return fault.New(fault.Conflict, CodeVersionConflict, "the experiment changed since the version you read").
		With(map[string]any{"current_version": current})
}

// ErrInvalidTransition says the lifecycle forbids action from status.
func ErrInvalidTransition(from Status, a Action) *fault.Error {
	return fault.New(fault.Conflict, CodeInvalidTransition, fmt.Sprintf("cannot %s an experiment that is %s", a, from)).
		With(map[string]any{"status": string(from), "action": string(a)})
}
