// Package assignment is the use case "which variant is this unit in?": the
// first call buckets the unit and stores the result; every later call returns
// the stored variant, whatever has happened to the experiment's weights or
// status since.
package assignment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// CodeFailed is the code of a dependency failure while assigning.
const CodeFailed = "ASSIGNMENT_FAILED"

// Store is what assigning needs from the data layer.
type Store interface {
	GetAssignment(ctx context.Context, key, userID string, consistent bool) (*experiment.Assignment, error)
	CreateAssignment(ctx context.Context, key, userID, variant string) (*experiment.Assignment, bool, error)
}

// Definitions serves definitions, reading one again when the one in memory
// fails want.
type Definitions interface {
	Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error)
}

// Service assigns units to variants.
type Service struct {
	defs  Definitions
	store Store
}

// New returns the use case.
func New(defs Definitions, st Store) *Service { return &Service{defs: defs, store: st} }

// Result is a unit's variant in an experiment.
type Result struct {
	Experiment string
	Variant    string
	Payload    json.RawMessage // the variant's payload; "null" when it has none
	AssignedAt time.Time
	// Created: this call made the assignment (false: it was stored before).
	Created bool
}

// Assign returns userID's variant of experiment key, bucketing and storing
// it on the first call.
func (s *Service) Assign(ctx context.Context, userID, key string) (Result, error) {
	if err := experiment.CheckKey(key); err != nil {
		return Result{}, err
	}
	// An eventually consistent read is enough: creating an assignment is
	// conditional and returns the stored one anyway.
	exp, a, err := s.current(ctx, userID, key, nil, false)
	if err != nil {
		return Result{}, err
	}
	if a != nil {
		return result(exp, a, false), nil
	}
	// Memory may lag a start or resume by a few seconds: the definition is
	// read again before refusing.
	if exp, err = s.defs.Get(ctx, key, experiment.IsActive); err != nil {
		return Result{}, err
	}
	if exp.Status != experiment.Active {
		return Result{}, experiment.ErrInactive(exp.Status)
	}
	a, created, err := s.bucketAndStore(ctx, exp, userID)
	if err != nil {
		return Result{}, err
	}
	return result(exp, a, created), nil
}

// Current returns experiment key's definition, read again if the one in
// memory fails want, and userID's assignment in it (nil when the unit has
// none), read strongly consistent so an assignment made a moment ago is
// seen.
func (s *Service) Current(ctx context.Context, userID, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, *experiment.Assignment, error) {
	if err := experiment.CheckKey(key); err != nil {
		return nil, nil, err
	}
	return s.current(ctx, userID, key, want, true)
}

func (s *Service) current(ctx context.Context, userID, key string, want func(*experiment.Experiment) bool, consistent bool) (*experiment.Experiment, *experiment.Assignment, error) {
	exp, err := s.defs.Get(ctx, key, want)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.store.GetAssignment(ctx, key, userID, consistent)
	if errors.Is(err, store.ErrNotFound) {
		return exp, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !experiment.HasVariant(a.Variant)(exp) {
		// A variant added a moment ago may be missing from memory.
		if exp, err = s.defs.Get(ctx, key, experiment.HasVariant(a.Variant)); err != nil {
			return nil, nil, err
		}
	}
	return exp, a, nil
}

// bucketAndStore chooses the unit's variant and stores it, or returns the
// assignment a concurrent call stored first.
func (s *Service) bucketAndStore(ctx context.Context, exp *experiment.Experiment, userID string) (*experiment.Assignment, bool, error) {
	idx, err := bucketing.Choose(exp.Key, userID, exp.Weights(), coverage(exp), nil)
	if errors.Is(err, bucketing.ErrNoPositiveWeight) || errors.Is(err, bucketing.ErrTooFewVariants) || errors.Is(err, bucketing.ErrInvalidWeight) {
		return nil, false, fault.New(fault.Unprocessable, experiment.CodeNoValidVariants, "the experiment has no usable variant weights")
	}
	if err != nil {
		return nil, false, fmt.Errorf("bucket %q: %w", exp.Key, err)
	}
	if idx < 0 {
		// Coverage is 1 until traffic ramps land, so every unit is enrolled.
		return nil, false, fmt.Errorf("bucket %q: unit not enrolled at coverage %v", exp.Key, exp.Coverage)
	}
	return s.store.CreateAssignment(ctx, exp.Key, userID, exp.Variants[idx].Key)
}

func coverage(exp *experiment.Experiment) float64 {
	if exp.Coverage <= 0 {
		return 1
	}
	return exp.Coverage
}

func result(exp *experiment.Experiment, a *experiment.Assignment, created bool) Result {
	payload := json.RawMessage("null")
	if v, ok := exp.Variant(a.Variant); ok && len(v.Payload) > 0 {
		payload = v.Payload
	}
	return Result{Experiment: a.Experiment, Variant: a.Variant, Payload: payload, AssignedAt: a.AssignedAt, Created: created}
}
