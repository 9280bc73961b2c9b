// Package exposureapi is the HTTP edge of POST
// /v1/client/experiments/{key}/exposure: the calling user saw a variant
// (shared/usecase/exposure).
package exposureapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/exposure"
)

// Response is the body of a 201.
type Response struct {
	ID         string `json:"id"`
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
	ExposedAt  string `json:"exposed_at"`
}

// New returns the route's handler.
func New(logger *slog.Logger, uc *exposure.Service) httpapi.Handler {
	return httpapi.Endpoint(logger, exposure.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			key := req.PathParameters["key"]
			if err := experiment.CheckKey(key); err != nil {
				return httpapi.Result{}, err
			}
			shown, err := shownVariant(req)
			if err != nil {
				return httpapi.Result{}, err
			}
			x, err := uc.Expose(ctx, caller.UserID, key, shown)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.Created(Response{
				ID:         x.ID,
				Experiment: x.Experiment,
				Variant:    x.Variant,
				ExposedAt:  x.ExposedAt.UTC().Format(time.RFC3339Nano),
			}), nil
		})
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
		return "", exposure.InvalidVariant("variant must be a non-empty string")
	}
	return v, nil
}

// Wire builds the handler of the exposure function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, exposure.New(assignment.New(d.Definitions, d.Store), d.Store))
}
