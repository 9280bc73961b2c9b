package adminclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/results"
)

// UseCases calls the experiments and results use cases of a deployment
// through its admin API, with their Go signatures, so an edge written over
// the use cases (the MCP tools) serves a remote deployment as it serves
// its own: abtest mcp binds the tools to it. The API key is the caller:
// the by arguments are not sent. Refusals come back as the use cases' own
// *fault.Error, with the API's code, message and details.
type UseCases struct{ c *Client }

// UseCases returns the use cases behind c's deployment.
func (c *Client) UseCases() UseCases { return UseCases{c: c} }

const experimentsPath = "/v1/admin/experiments"

func experimentPath(key string) string { return experimentsPath + "/" + PathKey(key) }

// Create is experiments.Service.Create.
func (u UseCases) Create(ctx context.Context, _ string, in experiments.NewInput) (*experiment.Experiment, error) {
	body := map[string]any{"key": in.Key, "name": in.Name, "description": in.Description}
	variants := []map[string]any{}
	for _, v := range in.Variants {
		m := map[string]any{"key": v.Key, "weight": v.Weight}
		if len(v.Payload) > 0 {
			m["payload"] = json.RawMessage(v.Payload)
		}
		variants = append(variants, m)
	}
	body["variants"] = variants
	if in.Events != nil {
		body["events"] = in.Events
	}
	if in.Status != "" {
		body["status"] = in.Status
	}
	if err := targetingFields(body, in.Targeting); err != nil {
		return nil, err
	}
	return u.experiment(ctx, http.MethodPost, experimentsPath, body)
}

// Get is experiments.Service.Get.
func (u UseCases) Get(ctx context.Context, key string) (*experiment.Experiment, experiment.Aggregates, error) {
	var v adminapi.ExperimentView
	if err := u.c.Do(ctx, http.MethodGet, experimentPath(key), nil, nil, &v); err != nil {
		return nil, experiment.Aggregates{}, asFault(err)
	}
	x, err := experimentOf(v)
	agg := experiment.Aggregates{Assigned: map[string]int64{}}
	for _, vv := range v.Variants {
		if vv.AssignedCount != nil {
			agg.Assigned[vv.Key] = *vv.AssignedCount
		}
	}
	return x, agg, err
}

// List is experiments.Service.List.
func (u UseCases) List(ctx context.Context, status experiment.Status, limit int, cursor string) (store.Page[*experiment.Experiment], map[experiment.Status]int64, error) {
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if status != "" {
		q.Set("status", string(status))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var resp adminapi.ListResponse
	if err := u.c.Do(ctx, http.MethodGet, experimentsPath, q, nil, &resp); err != nil {
		return store.Page[*experiment.Experiment]{}, nil, asFault(err)
	}
	page := store.Page[*experiment.Experiment]{}
	if resp.NextCursor != nil {
		page.Next = *resp.NextCursor
	}
	for _, v := range resp.Experiments {
		x, err := experimentOf(v)
		if err != nil {
			return store.Page[*experiment.Experiment]{}, nil, err
		}
		page.Items = append(page.Items, x)
	}
	return page, resp.Totals, nil
}

// Update is experiments.Service.Update.
func (u UseCases) Update(ctx context.Context, _ string, key string, p experiments.Patch) (*experiment.Experiment, error) {
	body := map[string]any{"version": p.Version}
	if p.Name != nil {
		body["name"] = *p.Name
	}
	if p.Description != nil {
		body["description"] = *p.Description
	}
	if p.Events != nil {
		body["events"] = *p.Events
	}
	if p.Variants != nil {
		variants := []map[string]any{}
		for _, v := range p.Variants {
			m := map[string]any{"key": v.Key}
			if v.Weight != nil {
				m["weight"] = *v.Weight
			}
			if v.Payload != nil {
				m["payload"] = json.RawMessage(*v.Payload)
			}
			variants = append(variants, m)
		}
		body["variants"] = variants
	}
	if err := targetingFields(body, p.Targeting); err != nil {
		return nil, err
	}
	return u.experiment(ctx, http.MethodPatch, experimentPath(key), body)
}

// Transition is experiments.Service.Transition.
func (u UseCases) Transition(ctx context.Context, _ string, key string, action experiment.Action) (*experiment.Experiment, error) {
	return u.experiment(ctx, http.MethodPost, experimentPath(key)+"/"+string(action), nil)
}

// Archive is experiments.Service.Archive.
func (u UseCases) Archive(ctx context.Context, _ string, key string) error {
	return asFault(u.c.Do(ctx, http.MethodDelete, experimentPath(key), nil, nil, nil))
}

// Results is results.Service.Results.
func (u UseCases) Results(ctx context.Context, key, event string) (results.Report, error) {
	var r results.Report
	err := u.c.Do(ctx, http.MethodGet, experimentPath(key)+"/results", url.Values{"event": {event}}, nil, &r)
	return r, asFault(err)
}

func (u UseCases) experiment(ctx context.Context, method, path string, body any) (*experiment.Experiment, error) {
	var v adminapi.ExperimentView
	if err := u.c.Do(ctx, method, path, nil, body, &v); err != nil {
		return nil, asFault(err)
	}
	return experimentOf(v)
}

// targetingFields adds a Targeting's fields as the API reads them.
func targetingFields(body map[string]any, t experiments.Targeting) error {
	switch {
	case t.ClearCondition:
		body["condition"] = nil
	case t.Condition != nil:
		raw, err := t.Condition.MarshalJSON()
		if err != nil {
			return err
		}
		body["condition"] = json.RawMessage(raw)
	}
	if t.Coverage != nil {
		body["coverage"] = *t.Coverage
	}
	if t.Unit != nil {
		body["unit"] = *t.Unit
	}
	switch {
	case t.ClearLayer:
		body["layer"] = nil
	case t.Layer != nil:
		body["layer"] = t.Layer
	}
	if t.Overrides != nil {
		body["overrides"] = *t.Overrides
	}
	return nil
}

// experimentOf is the definition a view shows.
func experimentOf(v adminapi.ExperimentView) (*experiment.Experiment, error) {
	x := &experiment.Experiment{Key: v.Key, Name: v.Name, Description: v.Description, Status: v.Status, Events: v.Events,
		Coverage: v.Coverage, Unit: v.Unit, Layer: v.Layer, Overrides: v.Overrides, Version: v.Version, CreatedBy: v.CreatedBy, UpdatedBy: v.UpdatedBy}
	for _, vv := range v.Variants {
		payload := vv.Payload
		if string(payload) == "null" {
			payload = nil
		}
		x.Variants = append(x.Variants, experiment.Variant{Key: vv.Key, Weight: vv.Weight, Payload: payload})
	}
	if len(v.Condition) > 0 && string(v.Condition) != "null" {
		c, err := conditions.Compile(v.Condition)
		if err != nil {
			return nil, fmt.Errorf("experiment %s: its condition: %w", v.Key, err)
		}
		x.Condition = c
	}
	x.CreatedAt, _ = time.Parse(time.RFC3339Nano, v.CreatedAt)
	x.UpdatedAt, _ = time.Parse(time.RFC3339Nano, v.UpdatedAt)
	return x, nil
}

// asFault makes the API's refusal the use case's error it was.
func asFault(err error) error {
	ae, ok := AsAPIError(err)
	if !ok {
		return err
	}
	kinds := map[int]fault.Kind{
		http.StatusBadRequest: fault.Invalid, http.StatusUnauthorized: fault.Unauthenticated, http.StatusForbidden: fault.Forbidden,
		http.StatusNotFound: fault.NotFound, http.StatusConflict: fault.Conflict, http.StatusRequestEntityTooLarge: fault.TooLarge,
		http.StatusUnprocessableEntity: fault.Unprocessable, http.StatusServiceUnavailable: fault.Unavailable,
	}
	kind, ok := kinds[ae.Status]
	if !ok {
		kind = fault.Internal
	}
	return fault.New(kind, ae.Code, ae.Message).With(ae.Details)
}
