// Package metrics is the use case of defining metrics: create, list, read,
// rename or redirect (name, description, direction; versioned), archive,
// and the audit trail. What a metric computes is fixed at creation (see
// metric.Metric); experiments name metrics, and results read them.
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
)

// Store is what managing metrics needs from the data layer.
type Store interface {
	CreateMetric(ctx context.Context, m *metric.Metric) error
	GetMetric(ctx context.Context, key string) (*metric.Metric, error)
	ListMetrics(ctx context.Context, limit int, cursor string) (store.Page[*metric.Metric], error)
	SaveMetric(ctx context.Context, m *metric.Metric, change store.Change) error
	MetricHistory(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error)
}

// Service manages metrics.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: func() time.Time { return now().UTC() }}
}

// Create stores a new live metric, made by the admin key by. The direction
// defaults to increase.
func (s *Service) Create(ctx context.Context, by string, m metric.Metric) (*metric.Metric, error) {
	if m.Direction == "" {
		m.Direction = metric.Increase
	}
	if p := metric.CheckNew(&m); len(p) > 0 {
		return nil, fault.Validation(p)
	}
	now := s.now()
	m.Status, m.Version, m.CreatedAt, m.UpdatedAt, m.CreatedBy, m.UpdatedBy = metric.Live, 1, now, now, by, by
	switch err := s.store.CreateMetric(ctx, &m); {
	case errors.Is(err, store.ErrExists):
		return nil, fault.New(fault.Conflict, metric.CodeExists,
			"a metric with this key exists or existed (archived keys are never reused)")
	case err != nil:
		return nil, err
	}
	return &m, nil
}

// Get returns a live metric: METRIC_NOT_FOUND when unknown or archived.
func (s *Service) Get(ctx context.Context, key string) (*metric.Metric, error) {
	if err := metric.CheckKey(key); err != nil {
		return nil, err
	}
	m, err := s.store.GetMetric(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, metric.ErrNotFound()
	}
	if err != nil {
		return nil, err
	}
	return metric.Visible(m)
}

// List returns one page of live metrics, newest first.
func (s *Service) List(ctx context.Context, limit int, cursor string) (store.Page[*metric.Metric], error) {
	page, err := s.store.ListMetrics(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// Patch changes a live metric at Version; nil fields stay as they are.
type Patch struct {
	Version     int64
	Name        *string
	Description *string
	Direction   *metric.Direction
}

// CheckPatch returns every problem of a patch on its own.
func CheckPatch(p Patch) experiment.Problems {
	out := experiment.Problems{}
	if p.Version < 1 {
		out["version"] = "is required: the version you read"
	}
	if p.Name == nil && p.Description == nil && p.Direction == nil {
		out["name"] = "a patch changes name, description or direction"
	}
	if p.Name != nil {
		if msg := experiment.NameProblem(*p.Name); msg != "" {
			out["name"] = msg
		}
	}
	if p.Description != nil {
		if msg := experiment.DescriptionProblem(*p.Description); msg != "" {
			out["description"] = msg
		}
	}
	if p.Direction != nil {
		if msg := metric.DirectionProblem(*p.Direction); msg != "" || *p.Direction == "" {
			out["direction"] = "must be increase or decrease"
		}
	}
	return out
}

// Update applies p to a live metric, audited: a stale version is
// METRIC_VERSION_CONFLICT with the current one.
func (s *Service) Update(ctx context.Context, by, key string, p Patch) (*metric.Metric, error) {
	if prob := CheckPatch(p); len(prob) > 0 {
		return nil, fault.Validation(prob)
	}
	prev, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if prev.Version != p.Version {
		return nil, metric.ErrVersionConflict(prev.Version)
	}
	next := *prev
	changed := map[string]any{}
	if p.Name != nil {
		next.Name, changed["name"] = *p.Name, *p.Name
	}
	if p.Description != nil {
		next.Description, changed["description"] = *p.Description, *p.Description
	}
	if p.Direction != nil {
		next.Direction, changed["direction"] = *p.Direction, *p.Direction
	}
	return &next, s.save(ctx, &next, by, "update", changed)
}

// Archive retires a metric for good: its key then is not found anywhere
// and can never be reused. Experiments naming it keep their statistics.
func (s *Service) Archive(ctx context.Context, by, key string) error {
	prev, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	next := *prev
	next.Status = metric.Archived
	return s.save(ctx, &next, by, "archive", map[string]any{"from": prev.Status})
}

// History returns one page of a metric's audit trail, newest first.
func (s *Service) History(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error) {
	if _, err := s.Get(ctx, key); err != nil {
		return store.Page[store.Change]{}, err
	}
	page, err := s.store.MetricHistory(ctx, key, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// save writes next as the version after the one read, with its audit entry.
func (s *Service) save(ctx context.Context, next *metric.Metric, by, action string, details map[string]any) error {
	now := s.now()
	next.Version, next.UpdatedAt, next.UpdatedBy = next.Version+1, now, by
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	err = s.store.SaveMetric(ctx, next, store.Change{Version: next.Version, Action: action, By: by, At: now, Details: d})
	var conflict *store.MetricVersionConflictError
	switch {
	case errors.As(err, &conflict):
		if conflict.Current == nil || conflict.Current.Status == metric.Archived {
			return metric.ErrNotFound()
		}
		return metric.ErrVersionConflict(conflict.Current.Version).Because(err)
	case err != nil:
		return fmt.Errorf("save metric %q: %w", next.Key, err)
	}
	return nil
}
