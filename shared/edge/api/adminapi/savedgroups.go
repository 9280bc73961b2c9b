package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/usecase/savedgroups"
)

// SavedGroupView is a saved group as listed: its values are counted, not
// shown (a group may hold 10,000).
type SavedGroupView struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	Size      int    `json:"size"`
	Version   int64  `json:"version"`
	CreatedAt string `json:"created_at"`
	CreatedBy string `json:"created_by"`
	UpdatedAt string `json:"updated_at"`
	UpdatedBy string `json:"updated_by"`
}

// SavedGroupDetail is one saved group with its values.
type SavedGroupDetail struct {
	SavedGroupView
	Values []any `json:"values"`
}

func groupViewOf(g *savedgroup.Group) SavedGroupView {
	return SavedGroupView{
		Key: g.Key, Name: g.Name, Size: g.Size, Version: g.Version,
		CreatedAt: g.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: g.CreatedBy,
		UpdatedAt: g.UpdatedAt.UTC().Format(time.RFC3339Nano), UpdatedBy: g.UpdatedBy,
	}
}

func groupDetailOf(g *savedgroup.Group) SavedGroupDetail {
	d := SavedGroupDetail{SavedGroupView: groupViewOf(g), Values: g.Values}
	if d.Values == nil {
		d.Values = []any{}
	}
	return d
}

func (e *edge) createGroup(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.BodyUpTo(req, savedgroup.MaxBodyBytes)
	if err != nil {
		return httpapi.Result{}, err
	}
	in, err := parseNewGroup(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	g, err := e.groups.Create(ctx, admin, in)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Created(groupDetailOf(g)), nil
}

func (e *edge) getGroup(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	g, err := e.groups.Get(ctx, req.PathParameters["key"])
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(groupDetailOf(g)), nil
}

func (e *edge) updateGroup(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.BodyUpTo(req, savedgroup.MaxBodyBytes)
	if err != nil {
		return httpapi.Result{}, err
	}
	p, err := parseGroupPatch(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	g, err := e.groups.Update(ctx, admin, req.PathParameters["key"], p)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(groupDetailOf(g)), nil
}

func (e *edge) deleteGroup(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	if err := e.groups.Delete(ctx, req.PathParameters["key"]); err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.NoContent(), nil
}

// SavedGroupsResponse is the body of the saved group listing.
type SavedGroupsResponse struct {
	SavedGroups []SavedGroupView `json:"saved_groups"`
	NextCursor  *string          `json:"next_cursor"`
}

func (e *edge) listGroups(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := e.groups.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := SavedGroupsResponse{SavedGroups: []SavedGroupView{}, NextCursor: cursorOf(page.Next)}
	for _, g := range page.Items {
		out.SavedGroups = append(out.SavedGroups, groupViewOf(g))
	}
	return httpapi.OK(out), nil
}

func parseNewGroup(body []byte) (savedgroups.NewInput, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "key", "name", "values")
	if !ok {
		return savedgroups.NewInput{}, invalidJSON()
	}
	var in savedgroups.NewInput
	in.Key, _ = f.str("key", true)
	in.Name, _ = f.str("name", true)
	in.Values, _ = f.values("values", true)
	return in, problems(errs, savedgroups.CheckNew(in))
}

func parseGroupPatch(body []byte) (savedgroups.Patch, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "version", "name", "values")
	if !ok {
		return savedgroups.Patch{}, invalidJSON()
	}
	var p savedgroups.Patch
	p.Version = f.integer("version")
	if s, ok := f.str("name", false); ok {
		p.Name = &s
	}
	if v, ok := f.values("values", false); ok {
		p.Values = &v
	}
	rules := savedgroups.CheckPatch(p)
	if len(f.fields) > 1 && p.Name == nil && p.Values == nil {
		// Every other field sent is unknown or undecodable, and says so.
		delete(rules, "values")
	}
	return p, problems(errs, rules)
}

// values reads an array of saved group values as JSON gives them (strings
// and float64s; anything else is for the domain to refuse by index).
func (f *form) values(name string, required bool) ([]any, bool) {
	raw, ok := f.fields[name]
	if !ok {
		if required {
			f.fail(name, "is required")
		}
		return nil, false
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		f.fail(name, "must be an array of strings and numbers")
		return nil, false
	}
	out := make([]any, len(items))
	for i, it := range items {
		var v any
		if json.Unmarshal(it, &v) != nil {
			// Only a number beyond float64 (1e400) fails here.
			v = math.Inf(1)
		}
		out[i] = v
	}
	return out, true
}
