// Package assignment is the use case "which variant is this unit in?": the
// first call decides whether the unit is enrolled (holdouts, targeting,
// layer, coverage) and, if so, buckets it and stores the result; every later call
// returns the stored variant, whatever has happened to the experiment's
// weights, targeting or status since.
package assignment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// CodeFailed is the code of a dependency failure while assigning.
const CodeFailed = "ASSIGNMENT_FAILED"

// Store is what assigning needs from the data layer.
type Store interface {
	GetAssignment(ctx context.Context, key string, unit experiment.UnitRef, consistent bool) (*experiment.Assignment, error)
	CreateAssignment(ctx context.Context, key string, unit experiment.UnitRef, variant string) (*experiment.Assignment, bool, error)
}

// Definitions serves definitions, reading one again when the one in memory
// fails want.
type Definitions interface {
	Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error)
}

// Groups serves the saved groups conditions reference, from memory.
type Groups interface {
	All(ctx context.Context) (conditions.SavedGroups, error)
}

// Holdouts serves the live holdouts' rules, from memory.
type Holdouts interface {
	Rules(ctx context.Context) ([]enrolment.Holdout, error)
}

// HeldOut records that holdouts hold a unit out (the unit's own items).
type HeldOut interface {
	RecordHeldOut(ctx context.Context, unit experiment.UnitRef, experiment string, holdouts []string) error
}

// Service assigns units to variants.
type Service struct {
	defs     Definitions
	store    Store
	groups   Groups
	holdouts Holdouts
	heldOut  HeldOut
}

// New returns the use case.
func New(defs Definitions, st Store) *Service { return &Service{defs: defs, store: st} }

// WithGroups returns a copy of s that evaluates $inGroup against groups.
func (s *Service) WithGroups(groups Groups) *Service {
	c := *s
	c.groups = groups
	return &c
}

// WithHoldouts returns a copy of s that keeps the units of the live
// holdouts out of the experiments they cover, recording each held-out unit
// with heldOut (its holdout membership, which the holdout's results count).
func (s *Service) WithHoldouts(h Holdouts, heldOut HeldOut) *Service {
	c := *s
	c.holdouts, c.heldOut = h, heldOut
	return &c
}

// Result is a unit's variant in an experiment, and whether and why it is
// in the experiment.
type Result struct {
	Experiment string
	Variant    string
	Payload    json.RawMessage // the variant's payload; "null" when it has none
	AssignedAt time.Time       // zero when the unit is not enrolled
	// Created: this call made the assignment (false: it was stored before).
	Created bool
	// Assignment is the stored assignment (nil when not enrolled).
	Assignment *experiment.Assignment
	// InExperiment: the unit is enrolled and counted. A unit that is not
	// (Reason says why) gets the control and nothing is stored for it.
	InExperiment bool
	Reason       enrolment.Reason
}

// Request is who asks and what is known of them.
type Request struct {
	// Identity is the signed-in user and the device the app names; the
	// experiment's unit says which of the two is bucketed.
	experiment.Identity
	Attributes map[string]any // targeting attributes (id, user_id and device_id are set by the service)
	// Enroll false only reads: a unit without an assignment gets the
	// control with reason not_assigned, and nothing is stored.
	Enroll bool
	// Preview (with Enroll false) answers what enrolling would decide now
	// without storing anything: the reason a unit would not be enrolled,
	// or the variant it would get with reason not_assigned.
	Preview bool
}

// Assign returns the unit's variant of experiment key. In order: an
// override for the unit wins (not stored, not counted); a stored assignment
// wins whatever has changed since (sticky); the experiment must be active;
// then holdouts, the condition, the layer slice and coverage decide whether
// the unit is enrolled (shared/domain/enrolment); if so its bucketed
// variant is stored with a conditional put.
func (s *Service) Assign(ctx context.Context, key string, r Request) (Result, error) {
	if err := experiment.CheckKey(key); err != nil {
		return Result{}, err
	}
	exp, err := s.defs.Get(ctx, key, nil)
	if err != nil {
		return Result{}, err
	}
	unit, err := exp.UnitFor(r.Identity)
	if err != nil {
		return Result{}, err
	}
	// An override wins over everything and needs no read.
	if _, ok, _ := enrolment.Override(exp, unit.ID); ok {
		return s.Decide(ctx, exp, unit, nil, r)
	}
	// An eventually consistent read is enough: creating an assignment is
	// conditional and returns the stored one anyway.
	exp, a, err := s.assignmentOf(ctx, exp, unit, false)
	if err != nil {
		return Result{}, err
	}
	return s.Decide(ctx, exp, unit, a, r)
}

// Decide is Assign once the unit's stored assignment in exp is known (a,
// nil when it has none), for a caller that read many of a unit's
// assignments with one Query (shared/usecase/evaluation). unit is what exp
// buckets for r (exp.UnitFor). An override still wins over a.
func (s *Service) Decide(ctx context.Context, exp *experiment.Experiment, unit experiment.UnitRef, a *experiment.Assignment, r Request) (Result, error) {
	if d, ok, err := enrolment.Override(exp, unit.ID); err != nil {
		return Result{}, fmt.Errorf("override in %q: %w", exp.Key, err)
	} else if ok {
		return notEnrolled(exp, d.VariantKey, d.Reason), nil
	}
	if a != nil {
		return result(exp, a, false), nil
	}
	if !r.Enroll && !r.Preview {
		d := enrolment.NotAssigned(exp)
		return notEnrolled(exp, d.VariantKey, d.Reason), nil
	}
	key := exp.Key
	var err error
	if !experiment.IsActive(exp) && r.Preview {
		return notEnrolled(exp, exp.Control(), enrolment.ReasonInactive), nil
	}
	if !experiment.IsActive(exp) {
		// Memory may lag a start or resume by a few seconds: the
		// definition is read again before refusing.
		if exp, err = s.defs.Get(ctx, key, experiment.IsActive); err != nil {
			return Result{}, err
		}
		if !experiment.IsActive(exp) {
			return Result{}, experiment.ErrInactive(exp.Status)
		}
	}
	groups, err := s.savedGroups(ctx, exp)
	if err != nil {
		return Result{}, err
	}
	var holdouts []enrolment.Holdout
	if s.holdouts != nil {
		if holdouts, err = s.holdouts.Rules(ctx); err != nil {
			return Result{}, err
		}
	}
	var attrs map[string]any
	if exp.Condition != nil { // the condition is all that reads them
		attrs = enrolment.Attributes(r.Attributes, unit.ID, r.UserID, r.DeviceID)
	}
	d, err := enrolment.Decide(exp, unit.ID, attrs, groups, holdouts)
	if errors.Is(err, bucketing.ErrNoPositiveWeight) || errors.Is(err, bucketing.ErrTooFewVariants) || errors.Is(err, bucketing.ErrInvalidWeight) {
		return Result{}, fault.New(fault.Unprocessable, experiment.CodeNoValidVariants, "the experiment has no usable variant weights")
	}
	if err != nil {
		return Result{}, fmt.Errorf("enrol in %q: %w", exp.Key, err)
	}
	if r.Preview {
		if d.InExperiment {
			return notEnrolled(exp, d.VariantKey, enrolment.ReasonNotAssigned), nil
		}
		return notEnrolled(exp, d.VariantKey, d.Reason), nil
	}
	if d.Reason == enrolment.ReasonHoldout {
		// Recorded before the answer, so every unit told "holdout" counts
		// in the holdouts' results.
		if err := s.heldOut.RecordHeldOut(ctx, unit, exp.Key, holdingOut(holdouts, exp, unit.ID)); err != nil {
			return Result{}, err
		}
	}
	if !d.InExperiment {
		return notEnrolled(exp, d.VariantKey, d.Reason), nil
	}
	a, created, err := s.store.CreateAssignment(ctx, exp.Key, unit, d.VariantKey)
	if err != nil {
		return Result{}, err
	}
	return result(exp, a, created), nil
}

// holdingOut are the keys of the holdouts that cover exp and hold unitID
// out: Decide names the first, and the unit counts as held out in each.
func holdingOut(holdouts []enrolment.Holdout, exp *experiment.Experiment, unitID string) []string {
	var keys []string
	for i := range holdouts {
		if h := &holdouts[i]; h.Covers(exp) && enrolment.InHoldout(*h, unitID) {
			keys = append(keys, h.Key)
		}
	}
	return keys
}

// savedGroups are the groups a condition may reference ($inGroup); none are
// read for an experiment without a condition.
func (s *Service) savedGroups(ctx context.Context, exp *experiment.Experiment) (conditions.SavedGroups, error) {
	if exp.Condition == nil || s.groups == nil {
		return nil, nil
	}
	return s.groups.All(ctx)
}

// Current returns experiment key's definition, read again if the one in
// memory fails want, and the assignment in it of the unit it buckets for id
// (nil when the unit has none), read strongly consistent so an assignment
// made a moment ago is seen.
func (s *Service) Current(ctx context.Context, id experiment.Identity, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, *experiment.Assignment, error) {
	if err := experiment.CheckKey(key); err != nil {
		return nil, nil, err
	}
	exp, err := s.defs.Get(ctx, key, want)
	if err != nil {
		return nil, nil, err
	}
	unit, err := exp.UnitFor(id)
	if err != nil {
		return nil, nil, err
	}
	return s.assignmentOf(ctx, exp, unit, true)
}

// assignmentOf reads unit's assignment in exp (nil when it has none), and
// exp again when it lacks the stored variant (added a moment ago).
func (s *Service) assignmentOf(ctx context.Context, exp *experiment.Experiment, unit experiment.UnitRef, consistent bool) (*experiment.Experiment, *experiment.Assignment, error) {
	key := exp.Key
	a, err := s.store.GetAssignment(ctx, key, unit, consistent)
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

func result(exp *experiment.Experiment, a *experiment.Assignment, created bool) Result {
	reason := enrolment.ReasonSticky
	if created {
		reason = enrolment.ReasonAssigned
	}
	return Result{Experiment: a.Experiment, Variant: a.Variant, Payload: payloadOf(exp, a.Variant), AssignedAt: a.AssignedAt,
		Created: created, Assignment: a, InExperiment: true, Reason: reason}
}

// notEnrolled is the answer for a unit that gets variant without being in
// the experiment: nothing is stored and nothing counted.
func notEnrolled(exp *experiment.Experiment, variant string, reason enrolment.Reason) Result {
	return Result{Experiment: exp.Key, Variant: variant, Payload: payloadOf(exp, variant), Reason: reason}
}

func payloadOf(exp *experiment.Experiment, variant string) json.RawMessage {
	if v, ok := exp.Variant(variant); ok && len(v.Payload) > 0 {
		return v.Payload
	}
	return json.RawMessage("null")
}
