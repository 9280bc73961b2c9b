package flag

import (
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of the flag rules, stable API. A version conflict has the code
// experiments use (experiment.CodeVersionConflict).
const (
	CodeNotFound = "FLAG_NOT_FOUND"
	CodeExists   = "FLAG_EXISTS"
)

// ErrNotFound answers for an unknown flag and an archived one alike: an
// archived key exists for no one (see Visible).
func ErrNotFound() *fault.Error {
	return fault.New(fault.NotFound, CodeNotFound, "no such flag")
}

// ErrExists says the key is or was used (archived keys are never reused).
func ErrExists() *fault.Error {
	return fault.New(fault.Conflict, CodeExists, "a flag with this key exists or existed (archived keys are never reused)")
}

// Visible returns f, or ErrNotFound when f is nil or archived.
func Visible(f *Flag) (*Flag, error) {
	if f == nil || f.Archived {
		return nil, ErrNotFound()
	}
	return f, nil
}

// ErrVersionConflict says the flag changed since the version the caller
// read.
func ErrVersionConflict(current int64) *fault.Error {
	return fault.New(fault.Conflict, experiment.CodeVersionConflict, "the flag changed since the version you read").
		With(map[string]any{"current_version": current})
}

// CheckKey returns an INVALID_KEY error unless s is a valid flag key (the
// experiment key pattern).
func CheckKey(s string) error {
	if experiment.ValidKey(s) {
		return nil
	}
	return fault.New(fault.Invalid, fault.CodeInvalidKey, "flag key must match "+experiment.KeyPattern).
		With(map[string]any{"pattern": experiment.KeyPattern})
}
