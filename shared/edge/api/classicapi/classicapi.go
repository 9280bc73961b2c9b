// Package classicapi serves the classic Experiments API (/api/experiments,
// JWT-authenticated admin) over the experiments and results use cases
// (shared/usecase/experiments, shared/usecase/results), so a tool written
// against it switches by changing the base URL and the token.
//
// Mapping: an experiment's id is its key ("exp_" and 13 random letters and
// digits on create); a variant's id is its key ("v1", "v2", ... unless the
// body names one), splitPercentage its weight (they must sum to 100; a
// variant made by the admin API shows its weight's share), config its
// payload, name and flowId labels kept with it. Statuses: draft is draft,
// running is active, stopped is paused, completed is ended; start starts a
// draft or resumes a stopped experiment, stop pauses a running one (its
// assignments stay and no unit enrols), and only the admin API ends one.
// audienceId is a saved group: the experiment targets the units whose id is
// in it (the condition {"id": {"$inGroup": "<audienceId>"}}); an experiment
// targeted otherwise shows audienceId null. _count.assignments is the units
// assigned, from the counters. PATCH changes a draft only (409 otherwise);
// DELETE archives. compute-results reads the primary event
// (primary_event; this API's extension primaryEvent sets it).
//
// Who calls is an admin token (Authorization: Bearer <JWT>, checked by the
// authorizer); the audit trail names its subject.
package classicapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
	"github.com/abtest/abtest/shared/usecase/savedgroups"
)

// CodeNotDraft: PATCH on an experiment that has started.
const CodeNotDraft = "EXPERIMENT_NOT_DRAFT"

// Paging of the list route.
const (
	DefaultPage  = 1
	DefaultLimit = 20
	MaxLimit     = 100
)

type edge struct {
	exps   *experiments.Service
	res    *results.Service
	groups *savedgroups.Service
}

type endpoint func(ctx context.Context, req httpapi.Request, actor string) (httpapi.Result, error)

// New returns the handler of every classic route.
func New(logger *slog.Logger, exps *experiments.Service, res *results.Service, groups *savedgroups.Service) httpapi.Handler {
	e := &edge{exps: exps, res: res, groups: groups}
	byRoute := map[string]endpoint{
		routes.ClassicList.Key():           e.list,
		routes.ClassicCreate.Key():         e.create,
		routes.ClassicGet.Key():            e.get,
		routes.ClassicUpdate.Key():         e.update,
		routes.ClassicArchive.Key():        e.archive,
		routes.ClassicStart.Key():          e.start,
		routes.ClassicStop.Key():           e.stop,
		routes.ClassicResults.Key():        e.results,
		routes.ClassicComputeResults.Key(): e.compute,
	}
	return httpapi.Endpoint(logger, experiments.CodeFailed, apikey.RoleAdmin, func(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
		ep, ok := byRoute[req.RouteKey]
		if !ok {
			return httpapi.Result{}, fault.New(fault.NotFound, fault.CodeNotFound, "no classic route "+req.RouteKey)
		}
		return ep(ctx, req, caller.Actor())
	})
}

func (e *edge) list(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	q := req.QueryStringParameters
	p := experiment.Problems{}
	page := number(q, "page", DefaultPage, 1<<20, p)
	limit := number(q, "limit", DefaultLimit, MaxLimit, p)
	var status experiment.Status
	if s, ok := q["status"]; ok {
		if status, ok = toService[s]; !ok {
			p["status"] = "must be draft, running, stopped or completed"
		}
	}
	if len(p) > 0 {
		return httpapi.Result{}, fault.Validation(p)
	}
	n, err := e.exps.Page(ctx, status, page, limit)
	if err != nil {
		return httpapi.Result{}, err
	}
	out := List{Data: []Experiment{}, Meta: Meta{Total: n.Total, Page: page, Limit: limit, TotalPages: (n.Total + int64(limit) - 1) / int64(limit)}}
	for _, x := range n.Items {
		out.Data = append(out.Data, viewOf(x, n.Assigned[x.Key]))
	}
	return httpapi.OK(out), nil
}

// number reads a positive integer query parameter sent as a string.
func number(q map[string]string, name string, def, max int, p experiment.Problems) int {
	v, ok := q[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		p[name] = fmt.Sprintf("must be an integer from 1 to %d", max)
	}
	return n
}

func (e *edge) create(ctx context.Context, req httpapi.Request, actor string) (httpapi.Result, error) {
	raw, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	b, p, err := decode(raw)
	if err != nil {
		return httpapi.Result{}, err
	}
	in := experiments.NewInput{Key: newKey(), Status: experiment.Draft}
	if b.Name == nil {
		p["name"] = "is required"
	} else {
		in.Name = *b.Name
	}
	if b.Description != nil {
		in.Description = *b.Description
	}
	if b.Primary != nil && *b.Primary != "" {
		in.Events, in.PrimaryEvent = []string{*b.Primary}, *b.Primary
	}
	if b.Variants == nil {
		p["variants"] = "is required"
	} else {
		in.Variants = experiments.Provisional(variants(*b.Variants, nil, p))
	}
	if err := e.audience(ctx, b, &in.Targeting, p); err != nil {
		return httpapi.Result{}, err
	}
	for k, msg := range experiments.CheckNew(in) {
		if _, ok := p[k]; !ok && k != "key" {
			p[k] = msg
		}
	}
	if err := invalid(p); err != nil {
		return httpapi.Result{}, err
	}
	x, err := e.exps.Create(ctx, actor, in)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Created(Data[Experiment]{Data: viewOf(x, 0)}), nil
}

// audience sets the targeting audienceId asks for, after checking its
// saved group exists (an unknown one would enrol nobody).
func (e *edge) audience(ctx context.Context, b body, t *experiments.Targeting, p experiment.Problems) error {
	group, set := b.audience(p)
	if !set || p["audienceId"] != "" {
		return nil
	}
	if group == nil {
		t.ClearCondition = true
		return nil
	}
	if _, err := e.groups.Get(ctx, *group); fault.HasCode(err, savedgroup.CodeNotFound) {
		p["audienceId"] = "no such saved group"
		return nil
	} else if err != nil {
		return err
	}
	c, err := audienceCondition(*group)
	if err != nil {
		return fmt.Errorf("audience condition: %w", err)
	}
	t.Condition = c
	return nil
}

func (e *edge) get(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	x, agg, err := e.exps.Get(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(Data[Experiment]{Data: viewOf(x, experiments.TotalAssigned(agg))}), nil
}

func (e *edge) update(ctx context.Context, req httpapi.Request, actor string) (httpapi.Result, error) {
	raw, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	b, p, err := decode(raw)
	if err != nil {
		return httpapi.Result{}, err
	}
	prev, _, err := e.exps.Get(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Result{}, err
	}
	if prev.Status != experiment.Draft {
		return httpapi.Result{}, fault.New(fault.Conflict, CodeNotDraft, "an experiment can be edited only while it is a draft; it is "+statusOf(prev.Status)).
			With(map[string]any{"status": statusOf(prev.Status)})
	}
	patch := experiments.Patch{Version: prev.Version, Name: b.Name, Description: b.Description}
	if b.Variants != nil {
		patch.Variants = variants(*b.Variants, prev.Variants, p)
	}
	if b.Primary != nil {
		patch.PrimaryEvent = b.Primary
		if *b.Primary != "" && !prev.CountsEvent(*b.Primary) {
			events := append(slices.Clone(prev.Events), *b.Primary)
			patch.Events = &events
		}
	}
	if err := e.audience(ctx, b, &patch.Targeting, p); err != nil {
		return httpapi.Result{}, err
	}
	if err := invalid(p); err != nil {
		return httpapi.Result{}, err
	}
	x := prev
	if b.Name != nil || b.Description != nil || b.Variants != nil || b.Primary != nil || len(b.AudienceID) > 0 {
		if x, err = e.exps.Update(ctx, actor, prev.Key, patch); err != nil {
			return httpapi.Result{}, classicFault(err)
		}
	}
	return httpapi.OK(Data[Experiment]{Data: viewOf(x, 0)}), nil
}

// classicFault gives a use case's validation problems the reference's
// field names.
func classicFault(err error) error {
	var f *fault.Error
	if !errors.As(err, &f) || f.Code != fault.CodeValidationFailed {
		return err
	}
	fields, ok := f.Details["fields"].(map[string]string)
	if !ok {
		return err
	}
	return fault.Validation(renamed(fields))
}

func (e *edge) archive(ctx context.Context, req httpapi.Request, actor string) (httpapi.Result, error) {
	if err := e.exps.Archive(ctx, actor, req.PathParameters["id"]); err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.NoContent(), nil
}

// start starts a draft, or resumes a stopped experiment.
func (e *edge) start(ctx context.Context, req httpapi.Request, actor string) (httpapi.Result, error) {
	x, _, err := e.exps.Get(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Result{}, err
	}
	action := experiment.Start
	if x.Status == experiment.Paused {
		action = experiment.Resume
	}
	return e.transition(ctx, actor, x.Key, action)
}

// stop pauses a running experiment.
func (e *edge) stop(ctx context.Context, req httpapi.Request, actor string) (httpapi.Result, error) {
	return e.transition(ctx, actor, req.PathParameters["id"], experiment.Pause)
}

func (e *edge) transition(ctx context.Context, actor, key string, action experiment.Action) (httpapi.Result, error) {
	x, err := e.exps.Transition(ctx, actor, key, action)
	if err != nil {
		return httpapi.Result{}, err
	}
	n, err := e.exps.Assigned(ctx, x.Key)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(Data[Experiment]{Data: viewOf(x, n)}), nil
}

// results answers the raw counts: units assigned per variant and, per
// conversion event, exposed units and those converted.
func (e *edge) results(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	x, agg, err := e.exps.Get(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := Results{ExperimentID: x.Key, Name: x.Name, Status: statusOf(x.Status), StartDate: timeOf(x.StartedAt), EndDate: timeOf(x.EndedAt),
		Variants: make([]VariantCounts, 0, len(x.Variants))}
	splits := splitsOf(x)
	for i, v := range x.Variants {
		vc := VariantCounts{VariantID: v.Key, VariantName: labelOf(v), SplitPercentage: splits[i], Participants: agg.Assigned[v.Key], Results: []EventResult{}}
		for _, ev := range x.Events {
			vc.Results = append(vc.Results, EventResult{Event: ev, Exposed: agg.Exposed[v.Key], Conversions: agg.Converted[v.Key][ev]})
		}
		out.Variants = append(out.Variants, vc)
	}
	return httpapi.OK(Data[Results]{Data: out}), nil
}

// compute answers the primary event's conversion rates, through the
// results use case.
func (e *edge) compute(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	x, rep, err := e.res.Primary(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := Computed{ExperimentID: x.Key, PrimaryEvent: x.PrimaryEvent, Variants: make([]ComputedRate, 0, len(rep.Variants))}
	for _, r := range rep.Variants {
		v, _ := x.Variant(r.Variant)
		c := ComputedRate{VariantID: r.Variant, VariantName: labelOf(v), SampleSize: r.ExposedCount, Conversions: r.ConvertedCount}
		if r.ConversionRate != nil {
			c.ConversionRate = *r.ConversionRate
		}
		out.Variants = append(out.Variants, c)
	}
	return httpapi.OK(Data[Computed]{Data: out}), nil
}

// labelOf is a variant's name, or its key when it has none.
func labelOf(v experiment.Variant) string {
	if v.Name != "" {
		return v.Name
	}
	return v.Key
}

// Wire builds the handler on the use cases as the admin and results
// functions wire them (results pause an experiment whose guardrail is
// breached, when it opted in).
func Wire(d lambdafn.Deps) httpapi.Handler {
	exps := experiments.New(d.Definitions, d.Store, d.Now)
	return New(d.Logger, exps, results.New(d.Definitions, d.Store, d.Now).WithBreaker(exps), savedgroups.New(d.Store, d.Now))
}
