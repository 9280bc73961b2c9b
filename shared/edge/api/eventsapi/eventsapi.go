// Package eventsapi is the HTTP edge of POST /v1/client/events: a batch of
// the calling user's conversion events, which also convert for the device
// named in X-Device-Id (shared/usecase/events).
package eventsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/events"
)

// New returns the handler of POST /v1/client/events (the caller's user,
// and the device in X-Device-Id) and POST /v1/server/events (a server key;
// each event names its unit). A 202 carries events.Batch.
func New(logger *slog.Logger, uc *events.Service) httpapi.Handler {
	client := httpapi.Endpoint(logger, events.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			raw, err := httpapi.Items(req, "events")
			if err != nil {
				return httpapi.Result{}, err
			}
			who, err := httpapi.Identity(req, caller)
			if err != nil {
				return httpapi.Result{}, err
			}
			in := make([]events.Input, len(raw))
			for i, r := range raw {
				in[i] = decodeEvent(r, false)
			}
			out, err := uc.Record(ctx, who, in)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.Result{Status: http.StatusAccepted, Body: out}, nil
		})
	server := httpapi.Endpoint(logger, events.CodeFailed, apikey.RoleServer,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			raw, err := httpapi.Items(req, "events")
			if err != nil {
				return httpapi.Result{}, err
			}
			in := make([]events.Input, len(raw))
			for i, r := range raw {
				in[i] = decodeEvent(r, true)
			}
			out, err := uc.RecordForUnits(ctx, in)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.Result{Status: http.StatusAccepted, Body: out}, nil
		})
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		if req.RouteKey == routes.ServerEvents.Key() {
			return server(ctx, req)
		}
		return client(ctx, req)
	}
}

// decodeEvent reads one event's JSON, with its unit's ids for a server
// route; what cannot be read rejects that event alone (the use case judges
// the rest).
func decodeEvent(raw json.RawMessage, server bool) events.Input {
	var in struct {
		UserID     *string         `json:"user_id"`
		DeviceID   *string         `json:"device_id"`
		Name       *string         `json:"name"`
		Timestamp  *string         `json:"timestamp"`
		ID         *string         `json:"id"`
		Properties json.RawMessage `json:"properties"`
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return events.Input{Rejected: "an event must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		if field, problem, ok := httpapi.FieldProblem(err); ok {
			return events.Input{Rejected: field + " " + problem}
		}
		return events.Input{Rejected: "an event must be a JSON object"}
	}
	if !server && (in.UserID != nil || in.DeviceID != nil) {
		field := "user_id"
		if in.UserID == nil {
			field = "device_id"
		}
		return events.Input{Rejected: field + " is not a known field (the session names the user)"}
	}
	out := events.Input{Timestamp: in.Timestamp, ID: in.ID, Properties: in.Properties}
	if in.Name != nil {
		out.Name = *in.Name
	}
	if in.UserID != nil {
		out.Who.UserID = *in.UserID
	}
	if in.DeviceID != nil {
		out.Who.DeviceID = *in.DeviceID
	}
	return out
}

// Wire builds the handler of the events function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, events.New(d.Definitions, d.Store, d.Now).WithHoldouts(d.Holdouts, d.Store).WithMetrics(d.Metrics, d.Store))
}
