// Package exposure serves POST /v1/client/experiments/{key}/exposure: an
// append-only record that the calling user actually saw a variant. It is not
// gated on status: a paused experiment's users still see what they were
// assigned, and that must be recorded.
package exposure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/abtest/abtest/shared/catalog"
	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/store"
)

// Error codes of this route.
const (
	CodeInvalidVariant     = "INVALID_VARIANT"
	CodeAssignmentRequired = "ASSIGNMENT_REQUIRED"
	CodeExposureFailed     = "EXPOSURE_FAILED"
)

// Store is what the route needs from the data layer.
type Store interface {
	GetAssignment(ctx context.Context, key, userID string, consistent bool) (*store.Assignment, error)
	RecordExposure(ctx context.Context, a *store.Assignment, shown string) (*store.Exposure, error)
}

// Definitions gives experiment definitions, cached (Get) or read now (Fresh).
type Definitions interface {
	Get(ctx context.Context, key string) (*experiment.Experiment, error)
	Fresh(ctx context.Context, key string) (*experiment.Experiment, error)
}

// Response is the body of a 201.
type Response struct {
	ID         string `json:"id"`
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
	ExposedAt  string `json:"exposed_at"`
}

// NewHandler returns the route's handler.
func NewHandler(logger *slog.Logger, defs Definitions, st Store) httpapi.Handler {
	s := &service{defs: defs, store: st}
	return httpapi.Endpoint(logger, CodeExposureFailed, httpapi.RoleClient, s.handle)
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
	shown, err := shownVariant(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	exp, err := s.defs.Get(ctx, key)
	if err != nil {
		return httpapi.Result{}, definitionError(key, err)
	}
	if shown != "" {
		if err := s.checkVariant(ctx, exp, shown); err != nil {
			return httpapi.Result{}, err
		}
	}
	// Strongly consistent: an assignment made a moment ago must be seen.
	a, err := s.store.GetAssignment(ctx, key, userID, true)
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Result{}, httpapi.NewError(http.StatusNotFound, CodeAssignmentRequired,
			"the user has no assignment in this experiment: call the assignment route first")
	}
	if err != nil {
		return httpapi.Result{}, err
	}
	if shown == "" {
		shown = a.Variant
	}
	x, err := s.store.RecordExposure(ctx, a, shown)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Created(Response{
		ID:         x.ID,
		Experiment: x.Experiment,
		Variant:    x.Variant,
		ExposedAt:  x.ExposedAt.UTC().Format(time.RFC3339Nano),
	}), nil
}

// checkVariant accepts a variant of the experiment, re-reading the
// definition once before refusing in case the cache predates the variant.
func (s *service) checkVariant(ctx context.Context, exp *experiment.Experiment, shown string) error {
	if _, ok := exp.Variant(shown); ok {
		return nil
	}
	fresh, err := s.defs.Fresh(ctx, exp.Key)
	if err != nil {
		return definitionError(exp.Key, err)
	}
	if _, ok := fresh.Variant(shown); ok {
		return nil
	}
	return invalidVariant(fmt.Sprintf("%q is not a variant of this experiment", shown))
}

// shownVariant reads the optional {"variant": "..."} body; "" means the
// assigned variant.
func shownVariant(req httpapi.Request) (string, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return "", err
	}
	if httpapi.IsEmptyBody(body) {
		return "", nil
	}
	var in struct {
		Variant json.RawMessage `json:"variant"`
	}
	if err := httpapi.DecodeObject(body, &in, false); err != nil {
		return "", err
	}
	if in.Variant == nil {
		return "", nil
	}
	var v string
	if err := json.Unmarshal(in.Variant, &v); err != nil || v == "" {
		return "", invalidVariant("variant must be a non-empty string")
	}
	return v, nil
}

func invalidVariant(msg string) error {
	return httpapi.NewError(http.StatusBadRequest, CodeInvalidVariant, msg)
}

func definitionError(key string, err error) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return httpapi.ExperimentNotFound()
	}
	return fmt.Errorf("experiment %q: %w", key, err)
}
