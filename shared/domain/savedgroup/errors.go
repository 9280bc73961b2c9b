package savedgroup

import (
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of saved groups, stable API.
const (
	CodeNotFound = "SAVED_GROUP_NOT_FOUND"
	CodeExists   = "SAVED_GROUP_EXISTS"
)

// ErrNotFound answers for an unknown (or deleted) group.
func ErrNotFound() *fault.Error {
	return fault.New(fault.NotFound, CodeNotFound, "no such saved group")
}

// ErrVersionConflict says the group changed since the version the caller
// read (the code experiments use for the same thing).
func ErrVersionConflict(current int64) *fault.Error {
	return fault.New(fault.Conflict, experiment.CodeVersionConflict, "the saved group changed since the version you read").
		With(map[string]any{"current_version": current})
}

// CheckKey returns an INVALID_KEY error unless s can be a group key (the
// rule of experiment keys; GrowthBook's group ids such as grp_abc123 fit).
func CheckKey(s string) error {
	if experiment.ValidKey(s) {
		return nil
	}
	return fault.New(fault.Invalid, fault.CodeInvalidKey, "saved group key must match "+experiment.KeyPattern).
		With(map[string]any{"pattern": experiment.KeyPattern})
}
