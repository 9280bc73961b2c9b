// Package resultsapi is the HTTP edge of the results function: GET
// .../results?event=, GET .../plan?event=&mde=, POST .../recount?dry_run=
// and GET .../export (shared/usecase/results), and GET /v1/admin/holdouts/{key}/results?event=.
package resultsapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// New returns the results function's handler: results, recount, export,
// and holdouts' results.
func New(logger *slog.Logger, uc *results.Service) httpapi.Handler {
	read := reading(logger, func(ctx context.Context, key string, q results.Query) (any, error) { return uc.Read(ctx, key, q) })
	series := reading(logger, func(ctx context.Context, key string, q results.Query) (any, error) { return uc.Timeseries(ctx, key, q) })
	recount := httpapi.Endpoint(logger, results.CodeRecountFailed, apikey.RoleAdmin,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			key := req.PathParameters["key"]
			if err := experiment.CheckKey(key); err != nil {
				return httpapi.Result{}, err
			}
			dry := false
			if v, ok := req.QueryStringParameters["dry_run"]; ok {
				var err error
				if dry, err = strconv.ParseBool(v); err != nil {
					return httpapi.Result{}, fault.New(fault.Invalid, fault.CodeValidationFailed, "dry_run must be true or false").
						With(map[string]any{"fields": map[string]string{"dry_run": "must be true or false"}})
				}
			}
			r, err := uc.Recount(ctx, key, dry)
			if err != nil {
				return httpapi.Result{}, err
			}
			if r.Status == "running" {
				return httpapi.Result{Status: http.StatusAccepted, Body: r}, nil // call again to go on
			}
			return httpapi.OK(r), nil
		})
	plan := httpapi.Endpoint(logger, results.CodeResultsFailed, apikey.RoleAdmin,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			// A plan has no reading: a method or a correction asked for
			// would be silently ignored, so it is refused.
			for _, name := range []string{"method", "correction"} {
				if _, ok := req.QueryStringParameters[name]; ok {
					return httpapi.Result{}, fault.Validation(experiment.Problems{name: "is not a parameter of the plan (event or metric, mde, alpha)"})
				}
			}
			q, err := query(req.QueryStringParameters)
			if err != nil {
				return httpapi.Result{}, err
			}
			p, err := uc.Plan(ctx, req.PathParameters["key"], results.PlanQuery{Event: q.Event, Metric: q.Metric, MDE: q.MDE, Alpha: q.Alpha})
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.OK(p), nil
		})
	holdout := httpapi.Endpoint(logger, results.CodeResultsFailed, apikey.RoleAdmin,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			r, err := uc.Holdout(ctx, req.PathParameters["key"], req.QueryStringParameters["event"])
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.OK(r), nil
		})
	exp := httpapi.Endpoint(logger, results.CodeExportFailed, apikey.RoleAdmin,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			return export(ctx, uc, req)
		})
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		switch req.RouteKey {
		case routes.AdminExport.Key():
			return exp(ctx, req)
		case routes.AdminRecount.Key():
			return recount(ctx, req)
		case routes.AdminResults.Key():
			return read(ctx, req)
		case routes.AdminPlan.Key():
			return plan(ctx, req)
		case routes.AdminTimeseries.Key():
			return series(ctx, req)
		case routes.AdminHoldoutResults.Key():
			return holdout(ctx, req)
		}
		return httpapi.ErrorResponse(fault.New(fault.NotFound, fault.CodeNotFound, "no results route "+req.RouteKey), results.CodeResultsFailed, req.RequestContext.RequestID), nil
	}
}

// reading is a route that reads results as its query string asks.
func reading(logger *slog.Logger, read func(ctx context.Context, key string, q results.Query) (any, error)) httpapi.Handler {
	return httpapi.Endpoint(logger, results.CodeResultsFailed, apikey.RoleAdmin,
		func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
			q, err := query(req.QueryStringParameters)
			if err != nil {
				return httpapi.Result{}, err
			}
			r, err := read(ctx, req.PathParameters["key"], q)
			if err != nil {
				return httpapi.Result{}, err
			}
			return httpapi.OK(r), nil
		})
}

// query reads a results call's query string: event or metric, method,
// correction, alpha, mde, cuped (the use case checks their values).
func query(qs map[string]string) (results.Query, error) {
	q := results.Query{Event: qs["event"], Metric: qs["metric"], Method: qs["method"], Correction: qs["correction"]}
	var err error
	if q.Alpha, err = positive(qs, "alpha", results.ErrInvalidAlpha); err != nil {
		return results.Query{}, err
	}
	if q.MDE, err = positive(qs, "mde", results.ErrInvalidMDE); err != nil {
		return results.Query{}, err
	}
	switch qs["cuped"] {
	case "", "false":
	case "true":
		q.CUPED = true
	default:
		const msg = "must be true or false"
		return results.Query{}, fault.New(fault.Invalid, fault.CodeValidationFailed, "cuped "+msg).
			With(map[string]any{"fields": map[string]string{"cuped": msg}})
	}
	return q, nil
}

// positive reads an optional positive number from the query string (0 when
// absent); anything else is refused with invalid().
func positive(qs map[string]string, name string, invalid func() error) (float64, error) {
	v, ok := qs[name]
	if !ok {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f > 0) || math.IsInf(f, 0) {
		return 0, invalid()
	}
	return f, nil
}

// Wire builds the handler of the results function.
func Wire(d lambdafn.Deps) httpapi.Handler { return New(d.Logger, UseCase(d)) }

// UseCase is the results use case as the results function wires it (the
// scheduled snapshots function runs the same): holdouts, the guardrail
// circuit breaker (the experiments use case) and the daily snapshots.
func UseCase(d lambdafn.Deps) *results.Service {
	breaker := experiments.New(d.Definitions, d.Store, d.Now)
	return results.New(d.Definitions, d.Store, d.Now).WithHoldouts(d.Store).WithBreaker(breaker).WithSnapshots(d.Store)
}
