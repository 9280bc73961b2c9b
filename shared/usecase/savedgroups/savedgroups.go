// Package savedgroups is the use case of saved groups, the named lists of
// values GrowthBook's $inGroup and $notInGroup test attributes against:
// create, list, read, replace (versioned), delete. The request path reads
// them from memory (snapshot.Groups), not through this use case.
package savedgroups

import (
	"context"
	"errors"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/savedgroup"
)

// Store is what managing saved groups needs from the data layer.
type Store interface {
	CreateSavedGroup(ctx context.Context, g *savedgroup.Group) error
	GetSavedGroup(ctx context.Context, key string) (*savedgroup.Group, error)
	ListSavedGroups(ctx context.Context, limit int, cursor string) (store.Page[*savedgroup.Group], error)
	SaveSavedGroup(ctx context.Context, g *savedgroup.Group, prev int64) error
	DeleteSavedGroup(ctx context.Context, key string) error
}

// Service manages saved groups.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: func() time.Time { return now().UTC() }}
}

// NewInput defines a new group; Values are strings and float64s (JSON).
type NewInput struct {
	Key    string
	Name   string
	Values []any
}

// CheckNew returns every problem of a group to be created.
func CheckNew(in NewInput) experiment.Problems {
	_, p := savedgroup.New(in.Key, in.Name, in.Values)
	return p
}

// Create stores a new group made by the admin key by; duplicate values
// are stored once.
func (s *Service) Create(ctx context.Context, by string, in NewInput) (*savedgroup.Group, error) {
	g, p := savedgroup.New(in.Key, in.Name, in.Values)
	if len(p) > 0 {
		return nil, fault.Validation(p)
	}
	now := s.now()
	g.Version, g.CreatedAt, g.UpdatedAt, g.CreatedBy, g.UpdatedBy = 1, now, now, by, by
	if err := s.store.CreateSavedGroup(ctx, g); errors.Is(err, store.ErrExists) {
		return nil, fault.New(fault.Conflict, savedgroup.CodeExists, "a saved group with this key exists")
	} else if err != nil {
		return nil, err
	}
	return g, nil
}

// Get returns a group with its values.
func (s *Service) Get(ctx context.Context, key string) (*savedgroup.Group, error) {
	if err := savedgroup.CheckKey(key); err != nil {
		return nil, err
	}
	g, err := s.store.GetSavedGroup(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, savedgroup.ErrNotFound()
	}
	return g, err
}

// List returns one page of groups by key, without their values.
func (s *Service) List(ctx context.Context, limit int, cursor string) (store.Page[*savedgroup.Group], error) {
	page, err := s.store.ListSavedGroups(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// Patch changes a group read at Version; nil fields stay as they are, and
// Values replaces every value.
type Patch struct {
	Version int64
	Name    *string
	Values  *[]any
}

// CheckPatch returns every problem of a patch before it is applied.
func CheckPatch(p Patch) experiment.Problems {
	problems := experiment.Problems{}
	if p.Version < 1 {
		problems["version"] = "must be a positive integer"
	}
	if p.Name != nil {
		if msg := experiment.NameProblem(*p.Name); msg != "" {
			problems["name"] = msg
		}
	}
	if p.Values != nil {
		savedgroup.CheckValues(problems, "values", *p.Values)
	}
	if p.Name == nil && p.Values == nil {
		problems["values"] = "name or values must change"
	}
	return problems
}

// Update applies p, made by the admin key by.
func (s *Service) Update(ctx context.Context, by, key string, p Patch) (*savedgroup.Group, error) {
	if problems := CheckPatch(p); len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	prev, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if p.Version != prev.Version {
		return nil, savedgroup.ErrVersionConflict(prev.Version)
	}
	name, values := prev.Name, prev.Values
	if p.Name != nil {
		name = *p.Name
	}
	if p.Values != nil {
		values = *p.Values
	}
	next, problems := savedgroup.New(key, name, values)
	if len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	next.Version, next.CreatedAt, next.CreatedBy = prev.Version+1, prev.CreatedAt, prev.CreatedBy
	next.UpdatedAt, next.UpdatedBy = s.now(), by
	err = s.store.SaveSavedGroup(ctx, next, prev.Version)
	var conflict *store.SavedGroupConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Current == 0:
		return nil, savedgroup.ErrNotFound()
	case errors.As(err, &conflict):
		return nil, savedgroup.ErrVersionConflict(conflict.Current).Because(err)
	case err != nil:
		return nil, err
	}
	return next, nil
}

// Delete removes a group. Conditions naming it then treat it as empty
// ($inGroup matches nothing, $notInGroup everything), as GrowthBook does
// for an unknown group.
func (s *Service) Delete(ctx context.Context, key string) error {
	if err := savedgroup.CheckKey(key); err != nil {
		return err
	}
	if err := s.store.DeleteSavedGroup(ctx, key); errors.Is(err, store.ErrNotFound) {
		return savedgroup.ErrNotFound()
	} else if err != nil {
		return err
	}
	return nil
}
