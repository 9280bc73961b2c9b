// Package assignment serves GET /v1/client/experiments/{key}/assignment: the
// sticky variant of the calling user. The first call buckets the user and
// persists the result; every later call returns the stored variant, whatever
// has happened to the experiment's weights or status since.
package assignment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/abtest/abtest/shared/bucketing"
	"github.com/abtest/abtest/shared/catalog"
	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/store"
)

// Error codes of this route.
const (
	CodeExperimentInactive = "EXPERIMENT_INACTIVE"
	CodeNoValidVariants    = "NO_VALID_VARIANTS"
	CodeAssignmentFailed   = "ASSIGNMENT_FAILED"
)

// Store is what the route needs from the data layer.
type Store interface {
	GetAssignment(ctx context.Context, key, userID string, consistent bool) (*store.Assignment, error)
	CreateAssignment(ctx context.Context, key, userID, variant string) (*store.Assignment, bool, error)
}

// Definitions gives experiment definitions, cached (Get) or read now (Fresh).
type Definitions interface {
	Get(ctx context.Context, key string) (*experiment.Experiment, error)
	Fresh(ctx context.Context, key string) (*experiment.Experiment, error)
}

// Response is the body of a 200.
type Response struct {
	Experiment string          `json:"experiment"`
	Variant    string          `json:"variant"`
	Payload    json.RawMessage `json:"payload"`
	AssignedAt string          `json:"assigned_at"`
}

// NewHandler returns the route's handler.
func NewHandler(logger *slog.Logger, defs Definitions, st Store) httpapi.Handler {
	s := &service{defs: defs, store: st}
	return httpapi.Endpoint(logger, CodeAssignmentFailed, httpapi.RoleClient, s.handle)
}

type service struct {
	defs  Definitions
	store Store
}

func (s *service) handle(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
	key, err := httpapi.ExperimentKey(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	userID := caller.UserID
	exp, err := s.defs.Get(ctx, key)
	if err != nil {
		return httpapi.Result{}, definitionError(key, err)
	}
	a, err := s.store.GetAssignment(ctx, key, userID, false)
	switch {
	case err == nil:
		return respond(exp, a), nil
	case !errors.Is(err, store.ErrNotFound):
		return httpapi.Result{}, err
	}
	return s.assign(ctx, exp, userID)
}

// assign buckets a user who has no assignment yet and persists the result.
func (s *service) assign(ctx context.Context, exp *experiment.Experiment, userID string) (httpapi.Result, error) {
	var err error
	if exp.Status != experiment.Active {
		// The cache may lag a resume by a few seconds: check before refusing.
		key := exp.Key
		if exp, err = s.defs.Fresh(ctx, key); err != nil {
			return httpapi.Result{}, definitionError(key, err)
		}
		if exp.Status != experiment.Active {
			return httpapi.Result{}, inactive(exp.Status)
		}
	}
	a, err := s.bucketAndStore(ctx, exp, userID)
	if errors.Is(err, store.ErrUnknownVariant) {
		// Bucketed on a cached definition whose variant was removed since:
		// bucket again on the current one.
		key := exp.Key
		if exp, err = s.defs.Fresh(ctx, key); err != nil {
			return httpapi.Result{}, definitionError(key, err)
		}
		a, err = s.bucketAndStore(ctx, exp, userID)
	}
	if err != nil {
		return httpapi.Result{}, err
	}
	return respond(exp, a), nil
}

// bucketAndStore chooses the user's variant and persists it (or returns the
// assignment a concurrent call stored first).
func (s *service) bucketAndStore(ctx context.Context, exp *experiment.Experiment, userID string) (*store.Assignment, error) {
	idx, err := bucketing.Choose(exp.Key, userID, exp.Weights(), coverage(exp), nil)
	if errors.Is(err, bucketing.ErrNoPositiveWeight) || errors.Is(err, bucketing.ErrTooFewVariants) || errors.Is(err, bucketing.ErrInvalidWeight) {
		return nil, httpapi.NewError(http.StatusUnprocessableEntity, CodeNoValidVariants,
			"the experiment has no usable variant weights")
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %q: %w", exp.Key, err)
	}
	if idx < 0 {
		// Coverage is 1 until traffic ramps land, so every user is enrolled.
		return nil, fmt.Errorf("bucket %q: user not enrolled at coverage %v", exp.Key, exp.Coverage)
	}
	a, _, err := s.store.CreateAssignment(ctx, exp.Key, userID, exp.Variants[idx].Key)
	var inactiveErr *store.InactiveError
	switch {
	case errors.As(err, &inactiveErr):
		return nil, inactive(inactiveErr.Status)
	case errors.Is(err, store.ErrNotFound):
		return nil, definitionError(exp.Key, err)
	}
	return a, err
}

func coverage(exp *experiment.Experiment) float64 {
	if exp.Coverage <= 0 {
		return 1
	}
	return exp.Coverage
}

func respond(exp *experiment.Experiment, a *store.Assignment) httpapi.Result {
	payload := json.RawMessage("null")
	if v, ok := exp.Variant(a.Variant); ok && len(v.Payload) > 0 {
		payload = v.Payload
	}
	return httpapi.OK(Response{
		Experiment: a.Experiment,
		Variant:    a.Variant,
		Payload:    payload,
		AssignedAt: a.AssignedAt.UTC().Format(time.RFC3339Nano),
	})
}

func inactive(status experiment.Status) error {
	if status == experiment.Archived {
		return notFound()
	}
	return httpapi.NewError(http.StatusConflict, CodeExperimentInactive,
		fmt.Sprintf("the experiment is %s: it enrols no new users", status)).
		WithDetails(map[string]any{"status": string(status)})
}

func notFound() error { return httpapi.ExperimentNotFound() }

// definitionError turns a failed definition lookup into the route's answer.
func definitionError(key string, err error) error {
	if errors.Is(err, catalog.ErrNotFound) || errors.Is(err, store.ErrNotFound) {
		return notFound()
	}
	return fmt.Errorf("experiment %q: %w", key, err)
}
