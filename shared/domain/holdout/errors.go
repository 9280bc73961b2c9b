package holdout

import (
	"fmt"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of the holdout rules, stable API.
const (
	CodeNotFound = "HOLDOUT_NOT_FOUND"
	CodeExists   = "HOLDOUT_EXISTS"
	// CodePercentLowered: a holdout's percent can only be raised.
	CodePercentLowered = "PERCENT_LOWERED"
	// CodeLimit: MaxLive holdouts are live already.
	CodeLimit = "HOLDOUT_LIMIT"
)

// ErrNotFound answers for an unknown holdout and an archived one alike, as
// for experiments: an archived key exists for no one (see Visible).
func ErrNotFound() *fault.Error {
	return fault.New(fault.NotFound, CodeNotFound, "no such holdout")
}

// Visible returns h, or ErrNotFound when h is nil or archived.
func Visible(h *Holdout) (*Holdout, error) {
	if h == nil || h.Status == Archived {
		return nil, ErrNotFound()
	}
	return h, nil
}

// CheckKey returns an INVALID_KEY error unless s is a valid holdout key
// (the experiment key pattern).
func CheckKey(s string) error {
	if experiment.ValidKey(s) {
		return nil
	}
	return fault.New(fault.Invalid, fault.CodeInvalidKey, "holdout key must match "+experiment.KeyPattern).
		With(map[string]any{"pattern": experiment.KeyPattern})
}

// ErrPercentLowered says a patch would lower the percent from current.
func ErrPercentLowered(current float64) *fault.Error {
	return fault.New(fault.Conflict, CodePercentLowered,
		fmt.Sprintf("percent can only be raised (it is %g): lowering it would release held-out units into the experiments", current)).
		With(map[string]any{"current_percent": current})
}

// ErrLimit says no more holdouts can be live.
func ErrLimit() *fault.Error {
	return fault.Newf(fault.Conflict, CodeLimit, "at most %d holdouts can be live at once: archive one first", MaxLive).
		With(map[string]any{"max": MaxLive})
}
