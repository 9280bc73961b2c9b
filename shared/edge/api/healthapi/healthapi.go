// Package healthapi is the HTTP edge of the health function: GET /v1/health,
// the one route without authorization, for load balancers and uptime
// probes. It answers 200 with the version, or 503 DYNAMODB_UNAVAILABLE.
package healthapi

import (
	"context"
	"log/slog"

	"github.com/abtest/abtest/shared/edge/buildinfo"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/usecase/health"
)

// New returns the health handler for the build version.
func New(logger *slog.Logger, db health.Pinger, version string) httpapi.Handler {
	return httpapi.PublicEndpoint(logger, health.CodeUnavailable, func(ctx context.Context, _ httpapi.Request) (httpapi.Result, error) {
		r, err := health.Check(ctx, db, version)
		if err != nil {
			return httpapi.Result{}, err
		}
		return httpapi.OK(r), nil
	})
}

// Wire builds the handler of the health function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return New(d.Logger, d.Store, buildinfo.Version())
}
