// Package adminapi is the HTTP edge of the admin function: experiments
// (shared/usecase/experiments), layers (shared/usecase/layers), saved groups
// (shared/usecase/savedgroups), holdouts (shared/usecase/holdouts), feature
// flags (shared/usecase/flags), API keys
// (shared/usecase/keys) and erasure (shared/usecase/erasure). One
// Lambda function serves all of these routes and dispatches on the route
// key API Gateway sends.
package adminapi

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/erasure"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/flags"
	"github.com/abtest/abtest/shared/usecase/holdouts"
	"github.com/abtest/abtest/shared/usecase/keys"
	"github.com/abtest/abtest/shared/usecase/layers"
	"github.com/abtest/abtest/shared/usecase/metrics"
	"github.com/abtest/abtest/shared/usecase/savedgroups"
)

type edge struct {
	exps   *experiments.Service
	keys   *keys.Service
	erase  *erasure.Service
	layers *layers.Service
	groups *savedgroups.Service
}

// Targeting are the use cases of what experiments are targeted with
// besides their own definition.
type Targeting struct {
	Layers *layers.Service
	Groups *savedgroups.Service
}

// endpoint is one admin route; admin is the caller's key id, which the
// audit trail records.
type endpoint func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error)

// New returns the admin function's handler.
func New(logger *slog.Logger, exps *experiments.Service, ks *keys.Service, er *erasure.Service, tg Targeting) httpapi.Handler {
	e := &edge{exps: exps, keys: ks, erase: er, layers: tg.Layers, groups: tg.Groups}
	byRoute := map[string]endpoint{
		routes.AdminCreate.Key():  e.create,
		routes.AdminList.Key():    e.list,
		routes.AdminGet.Key():     e.get,
		routes.AdminUpdate.Key():  e.update,
		routes.AdminArchive.Key(): e.archive,
		routes.AdminStart.Key():   e.transition(experiment.Start),
		routes.AdminPause.Key():   e.transition(experiment.Pause),
		routes.AdminResume.Key():  e.transition(experiment.Resume),
		routes.AdminEnd.Key():     e.transition(experiment.End),
		routes.AdminHistory.Key(): e.history,

		routes.AdminCreateKey.Key(): e.createKey,
		routes.AdminListKeys.Key():  e.listKeys,
		routes.AdminRevokeKey.Key(): e.revokeKey,

		routes.AdminEraseUnit.Key():    e.eraseUnit,
		routes.AdminListErasures.Key(): e.listErasures,

		routes.AdminCreateLayer.Key():  e.createLayer,
		routes.AdminListLayers.Key():   e.listLayers,
		routes.AdminGetLayer.Key():     e.getLayer,
		routes.AdminArchiveLayer.Key(): e.archiveLayer,

		routes.AdminCreateSavedGroup.Key(): e.createGroup,
		routes.AdminListSavedGroups.Key():  e.listGroups,
		routes.AdminGetSavedGroup.Key():    e.getGroup,
		routes.AdminUpdateSavedGroup.Key(): e.updateGroup,
		routes.AdminDeleteSavedGroup.Key(): e.deleteGroup,
	}
	return httpapi.Endpoint(logger, experiments.CodeFailed, apikey.RoleAdmin, func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
		ep, ok := byRoute[req.RouteKey]
		if !ok {
			return httpapi.Result{}, fault.New(fault.NotFound, fault.CodeNotFound, "no admin route "+req.RouteKey)
		}
		return ep(ctx, req, caller.Actor())
	})
}

func (e *edge) create(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	in, err := parseCreate(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	x, err := e.exps.Create(ctx, admin, in)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Created(viewOf(x, nil)), nil
}

func (e *edge) get(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	x, agg, err := e.exps.Get(ctx, req.PathParameters["key"])
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(viewOf(x, &agg)), nil
}

func (e *edge) update(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	p, err := parsePatch(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	x, err := e.exps.Update(ctx, admin, req.PathParameters["key"], p)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(viewOf(x, nil)), nil
}

func (e *edge) transition(action experiment.Action) endpoint {
	return func(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
		x, err := e.exps.Transition(ctx, admin, req.PathParameters["key"], action)
		if err != nil {
			return httpapi.Result{}, err
		}
		return httpapi.OK(viewOf(x, nil)), nil
	}
}

func (e *edge) archive(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	if err := e.exps.Archive(ctx, admin, req.PathParameters["key"]); err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.NoContent(), nil
}

// ListResponse is the body of the list route.
type ListResponse struct {
	Experiments []ExperimentView            `json:"experiments"`
	NextCursor  *string                     `json:"next_cursor"`
	Totals      map[experiment.Status]int64 `json:"totals"`
}

func (e *edge) list(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	q := req.QueryStringParameters
	errs := experiment.Problems{}
	status := experiment.Status(q["status"])
	if msg := experiment.FilterProblem(status); msg != "" {
		errs["status"] = msg
	}
	limit, lerr := pageLimit(q)
	if lerr != "" {
		errs["limit"] = lerr
	}
	if len(errs) > 0 {
		return httpapi.Result{}, fault.Validation(errs)
	}
	page, totals, err := e.exps.List(ctx, status, limit, q["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := ListResponse{Experiments: []ExperimentView{}, Totals: totals, NextCursor: cursorOf(page.Next)}
	for _, x := range page.Items {
		out.Experiments = append(out.Experiments, viewOf(x, nil))
	}
	return httpapi.OK(out), nil
}

// HistoryResponse is the body of the history route.
type HistoryResponse struct {
	History    []ChangeView `json:"history"`
	NextCursor *string      `json:"next_cursor"`
}

func (e *edge) history(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	return historyResult(ctx, req, e.exps.History)
}

// historyResult answers one page of an audit trail (an experiment's or a
// metric's) read by read for the key in the path.
func historyResult(ctx context.Context, req httpapi.Request,
	read func(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error)) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := read(ctx, req.PathParameters["key"], limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := HistoryResponse{History: []ChangeView{}, NextCursor: cursorOf(page.Next)}
	for _, c := range page.Items {
		out.History = append(out.History, changeViewOf(c))
	}
	return httpapi.OK(out), nil
}

// Page sizes of listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

func pageLimit(q map[string]string) (int, string) {
	v, ok := q["limit"]
	if !ok {
		return DefaultLimit, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Sprintf("must be an integer from 1 to %d", MaxLimit)
	}
	return n, ""
}

func cursorOf(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// Wire builds the handler of the admin function.
func Wire(d lambdafn.Deps) httpapi.Handler {
	return WireSigning(os.Getenv(auth.EnvSigningSecret))(d)
}

// WireSigning is Wire with the deployment's signing secret, which the
// deployed function reads at cold start (auth.SigningSecret): server keys
// are issued with their signing token.
func WireSigning(signing string) lambdafn.Wire {
	return func(d lambdafn.Deps) httpapi.Handler { return wire(d, signing) }
}

func wire(d lambdafn.Deps, signing string) httpapi.Handler {
	admin := New(d.Logger, experiments.New(d.Definitions, d.Store, d.Now), keys.New(d.Store, d.Now).WithSigning(signing), erasure.New(d.Store, d.Now),
		Targeting{Layers: layers.New(d.Store, d.Now), Groups: savedgroups.New(d.Store, d.Now)})
	return Metrics(d.Logger, metrics.New(d.Store, d.Now), Flags(d.Logger, flags.New(d.Store, d.Definitions, d.Now), Holdouts(d.Logger, holdouts.New(d.Store, d.Now), admin)))
}

// eraseUnit deletes every item of the unit in the path (a user, or a
// device with ?unit=device_id); the answer counts them. The request id goes
// into the audit entry beside the caller.
func (e *edge) eraseUnit(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	unit := experiment.UnitRef{Kind: experiment.UnitUser, ID: req.PathParameters["id"]}
	if k := req.QueryStringParameters["unit"]; k != "" {
		unit.Kind = experiment.Unit(k)
	}
	r, err := e.erase.Erase(ctx, unit, admin, req.RequestContext.RequestID)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(r), nil
}

// ErasuresResponse is the body of the erasure audit listing.
type ErasuresResponse struct {
	Erasures   []erasure.Entry `json:"erasures"`
	NextCursor *string         `json:"next_cursor"`
}

// listErasures pages through the erasure audit trail, newest first.
func (e *edge) listErasures(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	entries, next, err := e.erase.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(ErasuresResponse{Erasures: entries, NextCursor: cursorOf(next)}), nil
}
