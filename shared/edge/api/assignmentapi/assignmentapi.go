// Package assignmentapi is the HTTP edge of GET
// /v1/client/experiments/{key}/assignment?attributes=&enroll=: the sticky
// variant of the calling user (or of the device in X-Device-Id, for an
// experiment whose unit is device_id), or why the user is not in the experiment
// (shared/usecase/assignment).
package assignmentapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/assignment"
)

// Response is the body of a 200. A unit that is not in the experiment
// (InExperiment false; Reason says why) gets the variant to show, usually
// the control, with AssignedAt null; nothing was stored for it.
type Response struct {
	Experiment   string          `json:"experiment"`
	Variant      string          `json:"variant"`
	Payload      json.RawMessage `json:"payload"`
	AssignedAt   *string         `json:"assigned_at"`
	InExperiment bool            `json:"in_experiment"`
	Reason       string          `json:"reason"`
}

// New returns the route's handler.
func New(logger *slog.Logger, uc *assignment.Service) httpapi.Handler {
	return httpapi.Endpoint(logger, assignment.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			attrs, err := httpapi.QueryAttributes(req)
			if err != nil {
				return httpapi.Result{}, err
			}
			enrol, err := enroll(req)
			if err != nil {
				return httpapi.Result{}, err
			}
			who, err := httpapi.Identity(req, caller)
			if err != nil {
				return httpapi.Result{}, err
			}
			r, err := uc.Assign(ctx, req.PathParameters["key"], assignment.Request{Identity: who, Attributes: attrs, Enroll: enrol})
			return httpapi.OK(responseOf(r)), err
		})
}

func responseOf(r assignment.Result) Response {
	resp := Response{Experiment: r.Experiment, Variant: r.Variant, Payload: r.Payload, InExperiment: r.InExperiment, Reason: string(r.Reason)}
	if !r.AssignedAt.IsZero() {
		at := r.AssignedAt.UTC().Format(time.RFC3339Nano)
		resp.AssignedAt = &at
	}
	return resp
}

// Wire builds the handler of the assignment function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	uc := assignment.New(d.Definitions, d.Store).WithHoldouts(d.Holdouts, d.Store)
	if d.Groups != nil {
		uc = uc.WithGroups(d.Groups)
	}
	return New(d.Logger, uc)
}

// enroll reads the enroll query parameter: "false" asks for the stored
// assignment only, never enrolling.
func enroll(req httpapi.Request) (bool, error) {
	switch v, ok := req.QueryStringParameters["enroll"]; {
	case !ok || v == "true":
		return true, nil
	case v == "false":
		return false, nil
	}
	return false, fault.Validation(map[string]string{"enroll": "must be true or false"})
}
