// Package layers is the use case of layers (GrowthBook's namespaces):
// create one, list them, read one with its allocation (the experiments
// holding slices and the free ranges), archive an empty one. Experiments
// claim and free their slices through the experiments use case, in the
// transaction that saves them.
package layers

import (
	"context"
	"errors"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
)

// Store is what managing layers needs from the data layer.
type Store interface {
	CreateLayer(ctx context.Context, l *layer.Layer) error
	GetLayer(ctx context.Context, key string) (*layer.Layer, error)
	ListLayers(ctx context.Context, limit int, cursor string) (store.Page[*layer.Layer], error)
	ArchiveLayer(ctx context.Context, key string, at time.Time, by string) error
}

// Service manages layers.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: func() time.Time { return now().UTC() }}
}

// NewInput defines a new layer.
type NewInput struct {
	Key         string
	Name        string
	Description string
}

func (in NewInput) layer() *layer.Layer {
	return &layer.Layer{Key: in.Key, Name: in.Name, Description: in.Description}
}

// CheckNew returns every problem of a layer to be created.
func CheckNew(in NewInput) experiment.Problems { return layer.CheckNew(in.layer()) }

// Create stores a new, empty layer made by the admin key by.
func (s *Service) Create(ctx context.Context, by string, in NewInput) (*layer.Layer, error) {
	l := in.layer()
	if p := layer.CheckNew(l); len(p) > 0 {
		return nil, fault.Validation(p)
	}
	now := s.now()
	l.Version, l.CreatedAt, l.UpdatedAt, l.CreatedBy, l.UpdatedBy = 1, now, now, by, by
	if err := s.store.CreateLayer(ctx, l); errors.Is(err, store.ErrExists) {
		return nil, fault.New(fault.Conflict, layer.CodeExists, "a layer with this key exists or existed (archived keys are never reused)")
	} else if err != nil {
		return nil, err
	}
	return l, nil
}

// Get returns a live layer with its allocation.
func (s *Service) Get(ctx context.Context, key string) (*layer.Layer, error) {
	if err := layer.CheckKey(key); err != nil {
		return nil, err
	}
	l, err := s.store.GetLayer(ctx, key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.Archived) {
		return nil, layer.ErrNotFound()
	}
	return l, err
}

// List returns one page of live layers, newest first.
func (s *Service) List(ctx context.Context, limit int, cursor string) (store.Page[*layer.Layer], error) {
	page, err := s.store.ListLayers(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// Archive retires a layer no experiment holds a slice of (ended and
// archived experiments hold none). Its key is then not found anywhere and
// never reused; experiments can no longer name it.
func (s *Service) Archive(ctx context.Context, by, key string) error {
	if err := layer.CheckKey(key); err != nil {
		return err
	}
	err := s.store.ArchiveLayer(ctx, key, s.now(), by)
	var notEmpty *store.LayerNotEmptyError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return layer.ErrNotFound()
	case errors.As(err, &notEmpty):
		return layer.ErrNotEmpty(notEmpty.Holders)
	}
	return err
}
