package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/holdouts"
)

// Holdouts serves the holdout routes with hs, and hands every other route
// to next (the rest of the admin function), so the holdouts join the admin
// function without changing how the rest of it is built.
func Holdouts(logger *slog.Logger, hs *holdouts.Service, next httpapi.Handler) httpapi.Handler {
	h := &holdoutEdge{hs: hs}
	show := always(holdoutViewOf)
	return layered(logger, map[string]endpoint{
		routes.AdminCreateHoldout.Key():  createWith(parseNewHoldout, hs.Create, show),
		routes.AdminListHoldouts.Key():   h.list,
		routes.AdminGetHoldout.Key():     getWith(hs.Get, show),
		routes.AdminUpdateHoldout.Key():  updateWith(holdout.CheckKey, parseHoldoutPatch, hs.Update, show),
		routes.AdminArchiveHoldout.Key(): archiveWith(hs.Archive),
		routes.AdminHoldoutUnit.Key():    h.unit,
	}, next)
}

type holdoutEdge struct{ hs *holdouts.Service }

// HoldoutView is a holdout as the admin API shows it.
type HoldoutView struct {
	Key     string  `json:"key"`
	Name    string  `json:"name"`
	Percent float64 `json:"percent"`
	// Layers are the layers whose experiments it covers; [] covers every
	// experiment.
	Layers    []string       `json:"layers"`
	Events    []string       `json:"events"`
	Status    holdout.Status `json:"status"`
	Version   int64          `json:"version"`
	CreatedAt string         `json:"created_at"`
	CreatedBy string         `json:"created_by"`
	UpdatedAt string         `json:"updated_at"`
	UpdatedBy string         `json:"updated_by"`
}

func holdoutViewOf(h *holdout.Holdout) HoldoutView {
	return HoldoutView{
		Key: h.Key, Name: h.Name, Percent: h.Percent, Status: h.Status, Version: h.Version,
		Layers: append([]string{}, h.Layers...), Events: append([]string{}, h.Events...),
		CreatedAt: h.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: h.CreatedBy,
		UpdatedAt: h.UpdatedAt.UTC().Format(time.RFC3339Nano), UpdatedBy: h.UpdatedBy,
	}
}

// HoldoutsResponse is the body of the holdout listing.
type HoldoutsResponse struct {
	Holdouts   []HoldoutView `json:"holdouts"`
	NextCursor *string       `json:"next_cursor"`
}

func (h *holdoutEdge) list(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := h.hs.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := HoldoutsResponse{Holdouts: []HoldoutView{}, NextCursor: cursorOf(page.Next)}
	for _, x := range page.Items {
		out.Holdouts = append(out.Holdouts, holdoutViewOf(x))
	}
	return httpapi.OK(out), nil
}

func (h *holdoutEdge) unit(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	m, err := h.hs.Member(ctx, req.PathParameters["key"], req.PathParameters["id"])
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(m), nil
}

func parseNewHoldout(body []byte) (holdouts.NewInput, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "key", "name", "percent", "layers", "events")
	if !ok {
		return holdouts.NewInput{}, invalidJSON()
	}
	var in holdouts.NewInput
	in.Key, _ = f.str("key", true)
	in.Name, _ = f.str("name", true)
	in.Percent = f.number("percent")
	if f.has("layers") {
		in.Layers = f.keyList("layers")
	}
	if f.has("events") {
		in.Events, _ = f.names("events")
	}
	return in, problems(errs, holdouts.CheckNew(in))
}

// fixedHoldoutFields are the fields a holdout keeps for good.
var fixedHoldoutFields = map[string]string{
	"key":    "cannot be changed",
	"layers": "cannot be changed: create a new holdout for another scope",
	"events": "cannot be changed: create a new holdout to count other events",
}

func parseHoldoutPatch(body []byte) (holdouts.Patch, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "name", "percent", "key", "layers", "events")
	if !ok {
		return holdouts.Patch{}, invalidJSON()
	}
	for name, msg := range fixedHoldoutFields {
		if f.has(name) {
			f.fail(name, msg)
		}
	}
	var p holdouts.Patch
	if s, ok := f.str("name", false); ok {
		p.Name = &s
	}
	if f.has("percent") {
		n := f.number("percent")
		p.Percent = &n
	}
	rules := holdouts.CheckPatch(p)
	if len(f.fields) > 0 && p.Name == nil && p.Percent == nil {
		// Every field sent is unknown, fixed or undecodable, and says so.
		delete(rules, "name")
	}
	return p, problems(errs, rules)
}

// keyList reads an array of keys (layer keys).
func (f *form) keyList(name string) []string {
	var out []string
	if t := bytes.TrimSpace(f.fields[name]); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &out) != nil {
		f.fail(name, "must be an array of layer keys")
		return nil
	}
	return out
}
