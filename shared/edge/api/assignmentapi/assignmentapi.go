// Package assignmentapi is the HTTP edge of GET
// /v1/client/experiments/{key}/assignment: the calling user's sticky variant
// (shared/usecase/assignment).
package assignmentapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/assignment"
)

// Response is the body of a 200.
type Response struct {
	Experiment string          `json:"experiment"`
	Variant    string          `json:"variant"`
	Payload    json.RawMessage `json:"payload"`
	AssignedAt string          `json:"assigned_at"`
}

// New returns the route's handler.
func New(logger *slog.Logger, uc *assignment.Service) httpapi.Handler {
	return httpapi.Endpoint(logger, assignment.CodeFailed, apikey.RoleClient,
		func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
			r, err := uc.Assign(ctx, caller.UserID, req.PathParameters["key"])
			return httpapi.OK(responseOf(r)), err
		})
}

func responseOf(r assignment.Result) Response {
	return Response{Experiment: r.Experiment, Variant: r.Variant, Payload: r.Payload, AssignedAt: r.AssignedAt.UTC().Format(time.RFC3339Nano)}
}

// Wire builds the handler of the assignment function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, assignment.New(d.Definitions, d.Store))
}
