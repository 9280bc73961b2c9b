// Package holdouts is the use case of defining holdouts: create, list,
// read, rename or raise, archive, and whether a unit is held out. Which
// units a holdout keeps out of an experiment is decided on the request path
// (shared/usecase/assignment, shared/domain/enrolment); its results are
// shared/usecase/results'.
package holdouts

import (
	"context"
	"errors"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/holdout"
)

// Codes of this use case.
const (
	// CodeInvalidUnitID: the unit id of a membership question is not one.
	CodeInvalidUnitID = "INVALID_UNIT_ID"
)

// Store is what managing holdouts needs from the data layer.
type Store interface {
	CreateHoldout(ctx context.Context, h *holdout.Holdout) error
	GetHoldout(ctx context.Context, key string) (*holdout.Holdout, error)
	ListHoldouts(ctx context.Context, limit int, cursor string) (store.Page[*holdout.Holdout], error)
	UpdateHoldout(ctx context.Context, key string, c store.HoldoutChange) (*holdout.Holdout, error)
	ArchiveHoldout(ctx context.Context, key, by string, at time.Time) error
}

// Service manages holdouts.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: func() time.Time { return now().UTC() }}
}

// NewInput defines a new holdout.
type NewInput struct {
	Key     string
	Name    string
	Percent float64
	Layers  []string // empty: every experiment
	Events  []string
}

func (in NewInput) holdout() *holdout.Holdout {
	return &holdout.Holdout{Key: in.Key, Name: in.Name, Percent: in.Percent, Layers: in.Layers, Events: in.Events, Status: holdout.Live}
}

// CheckNew returns every problem of a holdout to be created.
func CheckNew(in NewInput) experiment.Problems { return holdout.CheckNew(in.holdout()) }

// Create stores a new live holdout, made by the admin key by.
func (s *Service) Create(ctx context.Context, by string, in NewInput) (*holdout.Holdout, error) {
	h := in.holdout()
	if p := holdout.CheckNew(h); len(p) > 0 {
		return nil, fault.Validation(p)
	}
	now := s.now()
	h.Version, h.CreatedAt, h.UpdatedAt, h.CreatedBy, h.UpdatedBy = 1, now, now, by, by
	switch err := s.store.CreateHoldout(ctx, h); {
	case errors.Is(err, store.ErrExists):
		return nil, fault.New(fault.Conflict, holdout.CodeExists,
			"a holdout with this key exists or existed (archived keys are never reused)")
	case errors.Is(err, store.ErrHoldoutLimit):
		return nil, holdout.ErrLimit()
	case err != nil:
		return nil, err
	}
	return h, nil
}

// Get returns a live holdout.
func (s *Service) Get(ctx context.Context, key string) (*holdout.Holdout, error) {
	if err := holdout.CheckKey(key); err != nil {
		return nil, err
	}
	// Read as it is now: HOLDOUT_NOT_FOUND when unknown or archived.
	h, err := s.store.GetHoldout(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, holdout.ErrNotFound()
	}
	if err != nil {
		return nil, err
	}
	return holdout.Visible(h)
}

// List returns one page of live holdouts, newest first.
func (s *Service) List(ctx context.Context, limit int, cursor string) (store.Page[*holdout.Holdout], error) {
	page, err := s.store.ListHoldouts(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// Patch changes a live holdout; nil fields stay as they are. Only the name
// and the percent change: the percent only upward, so units only join;
// layers and events are fixed at creation, since changing them would mix
// counts kept under two definitions.
type Patch struct {
	Name    *string
	Percent *float64
}

// CheckPatch returns every problem of a patch on its own.
func CheckPatch(p Patch) experiment.Problems {
	out := experiment.Problems{}
	if p.Name == nil && p.Percent == nil {
		out["name"] = "a patch changes name or percent"
	}
	if p.Name != nil {
		if msg := experiment.NameProblem(*p.Name); msg != "" {
			out["name"] = msg
		}
	}
	if p.Percent != nil {
		if msg := holdout.PercentProblem(*p.Percent); msg != "" {
			out["percent"] = msg
		}
	}
	return out
}

// Update applies p to live holdout key, made by the admin key by. A lower
// percent is 409 PERCENT_LOWERED; the check is DynamoDB's, so concurrent
// patches cannot lower it either.
func (s *Service) Update(ctx context.Context, by, key string, p Patch) (*holdout.Holdout, error) {
	if err := holdout.CheckKey(key); err != nil {
		return nil, err
	}
	if problems := CheckPatch(p); len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	h, err := s.store.UpdateHoldout(ctx, key, store.HoldoutChange{Name: p.Name, Percent: p.Percent, By: by, At: s.now()})
	var lowered *store.PercentLoweredError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, holdout.ErrNotFound()
	case errors.As(err, &lowered):
		return nil, holdout.ErrPercentLowered(lowered.Current)
	case err != nil:
		return nil, err
	}
	return h, nil
}

// Archive stops holdout key from applying (within the snapshot's age):
// its units are enrolled again from then on. Its memberships and counters
// stay; the key then answers HOLDOUT_NOT_FOUND and is never reused.
func (s *Service) Archive(ctx context.Context, by, key string) error {
	if err := holdout.CheckKey(key); err != nil {
		return err
	}
	if err := s.store.ArchiveHoldout(ctx, key, by, s.now()); errors.Is(err, store.ErrNotFound) {
		return holdout.ErrNotFound()
	} else if err != nil {
		return err
	}
	return nil
}

// Membership answers whether a live holdout holds a unit out.
type Membership struct {
	Holdout string `json:"holdout"`
	Unit    string `json:"unit"`
	HeldOut bool   `json:"held_out"`
}

// Member says whether holdout key holds unitID out of the experiments it
// covers. It is a pure function of the key, the unit and the percent, so
// it answers for units that have not been seen yet too.
func (s *Service) Member(ctx context.Context, key, unitID string) (Membership, error) {
	if err := holdout.CheckKey(key); err != nil {
		return Membership{}, err
	}
	if !experiment.ValidUnitID(unitID) {
		return Membership{}, fault.New(fault.Invalid, CodeInvalidUnitID,
			"unit id must be 1-256 bytes of UTF-8 without control or format characters")
	}
	h, err := s.Get(ctx, key)
	if err != nil {
		return Membership{}, err
	}
	return Membership{Holdout: h.Key, Unit: unitID, HeldOut: h.HeldOut(unitID)}, nil
}
