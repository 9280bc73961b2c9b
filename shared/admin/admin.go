// Package admin serves the admin API: experiments (create, list, read, edit
// with re-weighting, the lifecycle, archive, the audit trail) and API keys.
// One Lambda function serves all of these routes and dispatches on the
// route key API Gateway sends.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/store"
)

// Error codes of the admin routes.
const (
	CodeExperimentExists  = "EXPERIMENT_EXISTS"
	CodeVersionConflict   = "VERSION_CONFLICT"
	CodeInvalidTransition = "INVALID_TRANSITION"
	CodeVariantInUse      = "VARIANT_IN_USE"
	CodeControlChanged    = "CONTROL_CHANGED"
	CodeInvalidCursor     = "INVALID_CURSOR"
	CodeAdminFailed       = "ADMIN_FAILED"
)

// Store is what the admin routes need from the data layer.
type Store interface {
	GetExperiment(ctx context.Context, key string) (*experiment.Experiment, error)
	CreateExperiment(ctx context.Context, e *experiment.Experiment) error
	SaveExperiment(ctx context.Context, e, prev *experiment.Experiment, change store.Change) error
	ListExperiments(ctx context.Context, status experiment.Status, limit int, cursor string) (store.Page[*experiment.Experiment], error)
	StatusCounts(ctx context.Context) (map[experiment.Status]int64, error)
	History(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error)
	ReadAggregates(ctx context.Context, key string) (store.Aggregates, error)
	CreateAPIKey(ctx context.Context, k *store.APIKey) error
	ListAPIKeys(ctx context.Context, limit int, cursor string) (store.Page[*store.APIKey], error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error)
}

type service struct {
	store Store
	now   func() time.Time
}

// endpoint is one admin route's logic; admin is the caller's identity.
type endpoint func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error)

// NewHandler returns the admin function's handler.
func NewHandler(logger *slog.Logger, st Store, now func() time.Time) httpapi.Handler {
	s := &service{store: st, now: func() time.Time { return now().UTC() }}
	byRoute := map[string]endpoint{
		routes.AdminCreate.Key():  s.create,
		routes.AdminList.Key():    s.list,
		routes.AdminGet.Key():     s.get,
		routes.AdminUpdate.Key():  s.update,
		routes.AdminArchive.Key(): s.archive,
		routes.AdminStart.Key():   s.transition(experiment.Start),
		routes.AdminPause.Key():   s.transition(experiment.Pause),
		routes.AdminResume.Key():  s.transition(experiment.Resume),
		routes.AdminEnd.Key():     s.transition(experiment.End),
		routes.AdminHistory.Key(): s.history,

		routes.AdminCreateKey.Key(): s.createKey,
		routes.AdminListKeys.Key():  s.listKeys,
		routes.AdminRevokeKey.Key(): s.revokeKey,
	}
	return httpapi.Endpoint(logger, CodeAdminFailed, httpapi.RoleAdmin, func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
		ep, ok := byRoute[req.RouteKey]
		if !ok {
			return httpapi.Result{}, httpapi.NewError(http.StatusNotFound, httpapi.CodeNotFound, "no admin route "+req.RouteKey)
		}
		// The audit trail names the admin key that made each change.
		return ep(ctx, req, caller.KeyID)
	})
}

func (s *service) create(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	e, err := parseCreate(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	now := s.now()
	e.CreatedAt, e.UpdatedAt, e.CreatedBy, e.UpdatedBy = now, now, admin, admin
	if err := s.store.CreateExperiment(ctx, e); errors.Is(err, store.ErrExists) {
		return httpapi.Result{}, httpapi.NewError(http.StatusConflict, CodeExperimentExists,
			"an experiment with this key exists or existed (archived keys are never reused)")
	} else if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Created(viewOf(e, nil)), nil
}

// load reads an experiment; archived ones do not exist for the admin API.
func (s *service) load(ctx context.Context, req httpapi.Request) (*experiment.Experiment, error) {
	key, err := httpapi.ExperimentKey(req)
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetExperiment(ctx, key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && e.Status == experiment.Archived) {
		return nil, httpapi.ExperimentNotFound()
	}
	return e, err
}

func (s *service) get(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	e, err := s.load(ctx, req)
	if err != nil {
		return httpapi.Result{}, err
	}
	agg, err := s.store.ReadAggregates(ctx, e.Key)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(viewOf(e, &agg)), nil
}

func (s *service) update(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	p, err := parsePatch(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	prev, err := s.load(ctx, req)
	if err != nil {
		return httpapi.Result{}, err
	}
	if p.Version != prev.Version {
		return httpapi.Result{}, versionConflict(prev.Version)
	}
	next := *prev
	changed := map[string]any{}
	if p.Name != nil {
		next.Name, changed["name"] = *p.Name, *p.Name
	}
	if p.Description != nil {
		next.Description, changed["description"] = *p.Description, *p.Description
	}
	if p.Variants != nil {
		if p.Variants[0].Key != prev.Control() {
			return httpapi.Result{}, httpapi.NewError(http.StatusConflict, CodeControlChanged,
				"the first variant is the control and must stay "+prev.Control()).
				WithDetails(map[string]any{"control": prev.Control()})
		}
		next.Variants, changed["variants"] = p.Variants, p.Variants
	}
	return s.save(ctx, &next, prev, admin, "update", changed)
}

func (s *service) transition(action experiment.Action) endpoint {
	return func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
		// A concurrent edit only moves the version: retry on the fresh state,
		// whose status decides whether the transition is still legal.
		for attempt := 0; ; attempt++ {
			prev, err := s.load(ctx, req)
			if err != nil {
				return httpapi.Result{}, err
			}
			to, ok := experiment.Next(prev.Status, action)
			if !ok {
				return httpapi.Result{}, httpapi.NewError(http.StatusConflict, CodeInvalidTransition,
					fmt.Sprintf("cannot %s an experiment that is %s", action, prev.Status)).
					WithDetails(map[string]any{"status": string(prev.Status), "action": string(action)})
			}
			next := *prev
			next.Status = to
			res, err := s.save(ctx, &next, prev, admin, string(action), map[string]any{"from": prev.Status, "to": to})
			if errors.Is(err, store.ErrVersionConflict) && attempt < 3 {
				continue
			}
			return res, err
		}
	}
}

func (s *service) archive(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	for attempt := 0; ; attempt++ {
		prev, err := s.load(ctx, req)
		if err != nil {
			return httpapi.Result{}, err
		}
		next := *prev
		next.Status = experiment.Archived
		_, err = s.save(ctx, &next, prev, admin, "archive", map[string]any{"from": prev.Status})
		if errors.Is(err, store.ErrVersionConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return httpapi.Result{}, err
		}
		return httpapi.NoContent(), nil
	}
}

// save writes the next version with its audit entry and maps store errors.
func (s *service) save(ctx context.Context, next, prev *experiment.Experiment, admin, action string, details map[string]any) (httpapi.Result, error) {
	now := s.now()
	next.Version, next.UpdatedAt, next.UpdatedBy = prev.Version+1, now, admin
	d, err := json.Marshal(details)
	if err != nil {
		return httpapi.Result{}, err
	}
	err = s.store.SaveExperiment(ctx, next, prev, store.Change{Version: next.Version, Action: action, By: admin, At: now, Details: d})
	var conflict *store.VersionConflictError
	switch {
	case errors.As(err, &conflict):
		if conflict.Current != nil && conflict.Current.Status == experiment.Archived {
			return httpapi.Result{}, httpapi.ExperimentNotFound()
		}
		current := prev.Version + 1
		if conflict.Current != nil {
			current = conflict.Current.Version
		}
		return httpapi.Result{}, fmt.Errorf("%w: %w", versionConflict(current), err)
	case errors.Is(err, store.ErrVariantInUse):
		return httpapi.Result{}, httpapi.NewError(http.StatusConflict, CodeVariantInUse,
			"a variant with assignments cannot be removed; set its weight to 0 instead")
	case err != nil:
		return httpapi.Result{}, err
	}
	return httpapi.OK(viewOf(next, nil)), nil
}

func versionConflict(current int64) *httpapi.Error {
	return httpapi.NewError(http.StatusConflict, CodeVersionConflict, "the experiment changed since the version you read").
		WithDetails(map[string]any{"current_version": current})
}

// ListResponse is the body of the list route.
type ListResponse struct {
	Experiments []ExperimentView            `json:"experiments"`
	NextCursor  *string                     `json:"next_cursor"`
	Totals      map[experiment.Status]int64 `json:"totals"`
}

func (s *service) list(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	q := req.QueryStringParameters
	errs := map[string]string{}
	status := experiment.Status(q["status"])
	if status != "" && (!status.Valid() || status == experiment.Archived) {
		errs["status"] = "must be draft, active, paused or ended"
	}
	limit, lerr := pageLimit(q)
	if lerr != "" {
		errs["limit"] = lerr
	}
	if err := result(errs); err != nil {
		return httpapi.Result{}, err
	}
	page, err := s.store.ListExperiments(ctx, status, limit, q["cursor"])
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.Result{}, badCursor()
	}
	if err != nil {
		return httpapi.Result{}, err
	}
	counts, err := s.store.StatusCounts(ctx)
	if err != nil {
		return httpapi.Result{}, err
	}
	delete(counts, experiment.Archived)
	out := ListResponse{Experiments: []ExperimentView{}, Totals: counts, NextCursor: cursorOf(page.Next)}
	for _, e := range page.Items {
		out.Experiments = append(out.Experiments, viewOf(e, nil))
	}
	return httpapi.OK(out), nil
}

// HistoryResponse is the body of the history route.
type HistoryResponse struct {
	History    []ChangeView `json:"history"`
	NextCursor *string      `json:"next_cursor"`
}

func (s *service) history(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, result(map[string]string{"limit": lerr})
	}
	e, err := s.load(ctx, req)
	if err != nil {
		return httpapi.Result{}, err
	}
	page, err := s.store.History(ctx, e.Key, limit, req.QueryStringParameters["cursor"])
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.Result{}, badCursor()
	}
	if err != nil {
		return httpapi.Result{}, err
	}
	out := HistoryResponse{History: []ChangeView{}, NextCursor: cursorOf(page.Next)}
	for _, c := range page.Items {
		out.History = append(out.History, changeViewOf(c))
	}
	return httpapi.OK(out), nil
}

// Page sizes of listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

func pageLimit(q map[string]string) (int, string) {
	v, ok := q["limit"]
	if !ok {
		return DefaultLimit, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)
	}
	return n, ""
}

func cursorOf(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

func badCursor() error {
	return httpapi.NewError(http.StatusBadRequest, CodeInvalidCursor, "cursor is not one this API issued")
}
