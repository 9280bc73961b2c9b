// Package exposureapi is the HTTP edge of POST
// /v1/client/experiments/{key}/exposure: the calling user (or, for a
// device-unit experiment, the device in X-Device-Id) saw a variant
// (shared/usecase/exposure).
package exposureapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
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

// New returns the handler of the client exposure route and of POST
// /v1/server/exposures (a server key; each exposure names its unit; a 202
// carries one outcome per exposure, as events do).
func New(logger *slog.Logger, uc *exposure.Service) httpapi.Handler {
	client := clientRoute(logger, uc)
	server := httpapi.Endpoint(logger, exposure.CodeFailed, apikey.RoleServer,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			raw, err := httpapi.Items(req, "exposures")
			if err != nil {
				return httpapi.Result{}, err
			}
			items := make([]exposure.Item, len(raw))
			for i, r := range raw {
				items[i] = decodeItem(r)
			}
			out, err := uc.ExposeForUnits(ctx, items)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.Result{Status: http.StatusAccepted, Body: out}, nil
		})
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		if req.RouteKey == routes.ServerExposures.Key() {
			return server(ctx, req)
		}
		return client(ctx, req)
	}
}

// decodeItem reads one exposure of a backend's batch; what cannot be read
// rejects that exposure alone.
func decodeItem(raw json.RawMessage) exposure.Item {
	var in struct {
		UserID     string `json:"user_id"`
		DeviceID   string `json:"device_id"`
		Experiment string `json:"experiment"`
		Variant    string `json:"variant"`
		ID         string `json:"id"`
	}
	if err := httpapi.DecodeObject(raw, &in, true); err != nil {
		msg := "an exposure must be a JSON object"
		if f, ok := fault.As(err); ok && f.Code == fault.CodeValidationFailed {
			msg = f.Message
		}
		return exposure.Item{Rejected: msg}
	}
	return exposure.Item{Who: experiment.Identity{UserID: in.UserID, DeviceID: in.DeviceID}, Experiment: in.Experiment, Variant: in.Variant, ID: in.ID}
}

func clientRoute(logger *slog.Logger, uc *exposure.Service) httpapi.Handler {
	return httpapi.Endpoint(logger, exposure.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			key := req.PathParameters["key"]
			if err := experiment.CheckKey(key); err != nil {
				return httpapi.Result{}, err
			}
			shown, id, err := decode(req)
			if err != nil {
				return httpapi.Result{}, err
			}
			who, err := httpapi.Identity(req, caller)
			if err != nil {
				return httpapi.Result{}, err
			}
			x, created, err := uc.Expose(ctx, who, key, shown, id)
			if err != nil {
				return httpapi.Result{}, err
			}
			resp := Response{ID: x.ID, Experiment: x.Experiment, Variant: x.Variant, ExposedAt: x.ExposedAt.UTC().Format(time.RFC3339Nano)}
			if !created {
				return httpapi.OK(resp), nil // a retry: the stored exposure
			}
			return httpapi.Created(resp), nil
		})
}

// decode reads the optional {"variant": "...", "id": "..."} body; an empty
// variant means the assigned one, an empty id one the server makes.
func decode(req httpapi.Request) (shown, id string, err error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return "", "", err
	}
	if httpapi.IsEmptyBody(body) {
		return "", "", nil
	}
	var in struct {
		Variant json.RawMessage `json:"variant"`
		ID      json.RawMessage `json:"id"`
	}
	if err := httpapi.DecodeObject(body, &in, false); err != nil {
		return "", "", err
	}
	if in.Variant != nil {
		if err := json.Unmarshal(in.Variant, &shown); err != nil || shown == "" {
			return "", "", exposure.InvalidVariant("variant must be a non-empty string")
		}
	}
	if in.ID != nil {
		if err := json.Unmarshal(in.ID, &id); err != nil || id == "" {
			msg := fmt.Sprintf("must be 1-%d printable characters", experiment.MaxIDLen)
			return "", "", fault.New(fault.Invalid, fault.CodeValidationFailed, "id "+msg).
				With(map[string]any{"fields": map[string]string{"id": msg}})
		}
	}
	return shown, id, nil
}

// Wire builds the handler of the exposure function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, exposure.New(assignment.New(d.Definitions, d.Store), d.Store).WithHoldouts(d.Holdouts))
}
