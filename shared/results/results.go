// Package results serves an experiment's results: per variant, users
// assigned, exposed and converted on one event, the conversion rate, and a
// pooled two-proportion z-test of each variant against the control. It reads
// the live counters, so its cost does not grow with the number of users.
// It also serves the recount that rebuilds those counters from the items.
package results

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/abtest/abtest/shared/events"
	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/routes"
	"github.com/abtest/abtest/shared/stats"
	"github.com/abtest/abtest/shared/store"
)

// Error codes of these routes.
const (
	CodeEventRequired = "EVENT_REQUIRED"
	CodeResultsFailed = "RESULTS_FAILED"
	CodeRecountFailed = "RECOUNT_FAILED"
	// CodeRecountConflict: writes kept racing the recount; nothing written.
	CodeRecountConflict = "RECOUNT_CONFLICT"
)

// Store is what the routes need from the data layer.
type Store interface {
	GetExperiment(ctx context.Context, key string) (*experiment.Experiment, error)
	ReadAggregates(ctx context.Context, key string) (store.Aggregates, error)
	Recount(ctx context.Context, key string, write bool) (store.Aggregates, error)
}

// Variant is one row of the results.
type Variant struct {
	Variant        string   `json:"variant"`
	IsControl      bool     `json:"is_control"`
	Weight         float64  `json:"weight"`
	AssignedCount  int64    `json:"assigned_count"`
	ExposedCount   int64    `json:"exposed_count"`
	ConvertedCount int64    `json:"converted_count"`
	ConversionRate *float64 `json:"conversion_rate"`
	ZScore         *float64 `json:"z_score"`
	PValue         *float64 `json:"p_value"`
	Lift           *float64 `json:"lift"`
}

// Response is the body of a results 200.
type Response struct {
	Experiment  string            `json:"experiment"`
	Status      experiment.Status `json:"status"`
	Event       string            `json:"event"`
	GeneratedAt string            `json:"generated_at"`
	Variants    []Variant         `json:"variants"`
}

// NewHandler returns the results function's handler: results and recount.
func NewHandler(logger *slog.Logger, st Store, now func() time.Time) httpapi.Handler {
	res, recount := newResultsHandler(logger, st, now), newRecountHandler(logger, st)
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		switch req.RouteKey {
		case routes.AdminRecount.Key():
			return recount(ctx, req)
		case routes.AdminResults.Key():
			return res(ctx, req)
		}
		return httpapi.ErrorResponse(httpapi.NewError(http.StatusNotFound, httpapi.CodeNotFound, "no results route "+req.RouteKey), CodeResultsFailed), nil
	}
}

// newResultsHandler serves GET /v1/admin/experiments/{key}/results?event=.
func newResultsHandler(logger *slog.Logger, st Store, now func() time.Time) httpapi.Handler {
	return httpapi.Endpoint(logger, CodeResultsFailed, httpapi.RoleAdmin, func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
		key, err := httpapi.ExperimentKey(req)
		if err != nil {
			return httpapi.Result{}, err
		}
		event := req.QueryStringParameters["event"]
		if event == "" {
			return httpapi.Result{}, httpapi.NewError(http.StatusBadRequest, CodeEventRequired, "the event query parameter names the conversion event")
		}
		if !events.ValidName(event) {
			return httpapi.Result{}, httpapi.NewError(http.StatusBadRequest, httpapi.CodeValidationFailed, "event must match "+events.NamePattern).
				WithDetails(map[string]any{"fields": map[string]string{"event": "must match " + events.NamePattern}})
		}
		exp, err := lookup(ctx, st, key)
		if err != nil {
			return httpapi.Result{}, err
		}
		agg, err := st.ReadAggregates(ctx, key)
		if err != nil {
			return httpapi.Result{}, err
		}
		return httpapi.OK(Compute(exp, agg, event, now())), nil
	})
}

// Compute builds the results of one event from the counters: pure, so the
// statistics are tested without DynamoDB.
func Compute(exp *experiment.Experiment, agg store.Aggregates, event string, now time.Time) Response {
	resp := Response{Experiment: exp.Key, Status: exp.Status, Event: event, GeneratedAt: now.UTC().Format(time.RFC3339Nano)}
	for i, v := range exp.Variants {
		row := Variant{
			Variant:        v.Key,
			IsControl:      i == 0,
			Weight:         v.Weight,
			AssignedCount:  agg.Assigned[v.Key],
			ExposedCount:   agg.Exposed[v.Key],
			ConvertedCount: agg.Converted[v.Key][event],
		}
		if r, ok := stats.Rate(row.ConvertedCount, row.ExposedCount); ok {
			row.ConversionRate = &r
		}
		resp.Variants = append(resp.Variants, row)
	}
	if len(resp.Variants) == 0 {
		return resp
	}
	control := resp.Variants[0]
	for i := 1; i < len(resp.Variants); i++ {
		row := &resp.Variants[i]
		if z, ok := stats.TwoProportionZTest(control.ConvertedCount, control.ExposedCount, row.ConvertedCount, row.ExposedCount); ok {
			row.ZScore, row.PValue = ptr(z.Z), ptr(z.PValue)
		}
		if control.ConversionRate != nil && row.ConversionRate != nil {
			if l, ok := stats.Lift(*control.ConversionRate, *row.ConversionRate); ok {
				row.Lift = &l
			}
		}
	}
	return resp
}

func ptr(f float64) *float64 { return &f }

// RecountResponse compares the live counters with the recounted ones.
type RecountResponse struct {
	Experiment string     `json:"experiment"`
	Written    bool       `json:"written"`
	Matched    bool       `json:"matched"`
	Before     CountsView `json:"before"`
	After      CountsView `json:"after"`
}

// CountsView is a JSON view of the counters.
type CountsView struct {
	Assigned  map[string]int64            `json:"assigned"`
	Exposed   map[string]int64            `json:"exposed"`
	Converted map[string]map[string]int64 `json:"converted"`
}

// newRecountHandler serves POST /v1/admin/experiments/{key}/recount
// (?dry_run=true compares without writing).
func newRecountHandler(logger *slog.Logger, st Store) httpapi.Handler {
	return httpapi.Endpoint(logger, CodeRecountFailed, httpapi.RoleAdmin, func(ctx context.Context, req httpapi.Request, _ httpapi.Caller) (httpapi.Result, error) {
		key, err := httpapi.ExperimentKey(req)
		if err != nil {
			return httpapi.Result{}, err
		}
		dry := false
		if v, ok := req.QueryStringParameters["dry_run"]; ok {
			if dry, err = strconv.ParseBool(v); err != nil {
				return httpapi.Result{}, httpapi.NewError(http.StatusBadRequest, httpapi.CodeValidationFailed, "dry_run must be true or false").
					WithDetails(map[string]any{"fields": map[string]string{"dry_run": "must be true or false"}})
			}
		}
		if _, err := lookup(ctx, st, key); err != nil {
			return httpapi.Result{}, err
		}
		before, err := st.ReadAggregates(ctx, key)
		if err != nil {
			return httpapi.Result{}, err
		}
		after, err := st.Recount(ctx, key, !dry)
		if errors.Is(err, store.ErrRecountConflict) {
			return httpapi.Result{}, httpapi.NewError(http.StatusConflict, CodeRecountConflict,
				"the counters kept changing during the recount, which wrote nothing; pause the experiment and retry")
		}
		if err != nil {
			return httpapi.Result{}, err
		}
		b, a := view(before), view(after)
		return httpapi.OK(RecountResponse{Experiment: key, Written: !dry, Matched: reflect.DeepEqual(b, a), Before: b, After: a}), nil
	})
}

func lookup(ctx context.Context, st Store, key string) (*experiment.Experiment, error) {
	exp, err := st.GetExperiment(ctx, key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && exp.Status == experiment.Archived) {
		return nil, httpapi.ExperimentNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("results of %q: %w", key, err)
	}
	return exp, nil
}

// view drops zero counters so a recount and live counters that differ only
// by never-incremented attributes compare equal.
func view(g store.Aggregates) CountsView {
	v := CountsView{Assigned: map[string]int64{}, Exposed: map[string]int64{}, Converted: map[string]map[string]int64{}}
	for k, n := range g.Assigned {
		if n != 0 {
			v.Assigned[k] = n
		}
	}
	for k, n := range g.Exposed {
		if n != 0 {
			v.Exposed[k] = n
		}
	}
	for k, m := range g.Converted {
		for e, n := range m {
			if n == 0 {
				continue
			}
			if v.Converted[k] == nil {
				v.Converted[k] = map[string]int64{}
			}
			v.Converted[k][e] = n
		}
	}
	return v
}
