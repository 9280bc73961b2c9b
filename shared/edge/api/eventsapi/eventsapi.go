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
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/events"
)

// New returns the route's handler. A 202 carries events.Batch.
func New(logger *slog.Logger, uc *events.Service) httpapi.Handler {
	return httpapi.Endpoint(logger, events.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			batch, err := decodeBatch(req)
			if err != nil {
				return httpapi.Result{}, err
			}
			who, err := httpapi.Identity(req, caller)
			if err != nil {
				return httpapi.Result{}, err
			}
			out, err := uc.Record(ctx, who, batch)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.Result{Status: http.StatusAccepted, Body: out}, nil
		})
}

func decodeBatch(req httpapi.Request) ([]events.Input, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return nil, err
	}
	if httpapi.IsEmptyBody(body) {
		return nil, invalidBatch("the body must be {\"events\":[...]}")
	}
	var in struct {
		Events json.RawMessage `json:"events"`
	}
	if err := httpapi.DecodeObject(body, &in, true); err != nil {
		return nil, err
	}
	var raw []json.RawMessage
	if t := bytes.TrimSpace(in.Events); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &raw) != nil {
		return nil, invalidBatch("events must be an array")
	}
	out := make([]events.Input, len(raw))
	for i, r := range raw {
		out[i] = decodeEvent(r)
	}
	return out, nil
}

func invalidBatch(msg string) error {
	return fault.New(fault.Invalid, fault.CodeValidationFailed, msg).
		With(map[string]any{"fields": map[string]string{"events": msg}})
}

// decodeEvent reads one event's JSON; what cannot be read rejects that
// event alone (the use case judges the rest).
func decodeEvent(raw json.RawMessage) events.Input {
	var in struct {
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
	out := events.Input{Timestamp: in.Timestamp, ID: in.ID, Properties: in.Properties}
	if in.Name != nil {
		out.Name = *in.Name
	}
	return out
}

// Wire builds the handler of the events function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, events.New(d.Definitions, d.Store, d.Now).WithHoldouts(d.Holdouts, d.Store))
}
