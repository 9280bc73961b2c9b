package adminapi

import (
	"context"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/usecase/layers"
)

// LayerView is a layer as the admin API shows it, with its allocation:
// the experiments holding slices, by start, and the free ranges of [0, 1).
type LayerView struct {
	Key         string         `json:"key"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Allocation  []layer.Holder `json:"allocation"`
	Free        []layer.Range  `json:"free"`
	Version     int64          `json:"version"`
	CreatedAt   string         `json:"created_at"`
	CreatedBy   string         `json:"created_by"`
	UpdatedAt   string         `json:"updated_at"`
	UpdatedBy   string         `json:"updated_by"`
}

func layerViewOf(l *layer.Layer) LayerView {
	return LayerView{
		Key: l.Key, Name: l.Name, Description: l.Description, Version: l.Version,
		Allocation: append([]layer.Holder{}, l.Holders...), Free: layer.Free(l.Holders),
		CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: l.CreatedBy,
		UpdatedAt: l.UpdatedAt.UTC().Format(time.RFC3339Nano), UpdatedBy: l.UpdatedBy,
	}
}

func (e *edge) createLayer(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	in, err := parseNewLayer(body)
	if err != nil {
		return httpapi.Result{}, err
	}
	l, err := e.layers.Create(ctx, admin, in)
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Created(layerViewOf(l)), nil
}

func parseNewLayer(body []byte) (layers.NewInput, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "key", "name", "description")
	if !ok {
		return layers.NewInput{}, invalidJSON()
	}
	var in layers.NewInput
	in.Key, _ = f.str("key", true)
	in.Name, _ = f.str("name", true)
	in.Description, _ = f.str("description", false)
	return in, problems(errs, layers.CheckNew(in))
}

// LayersResponse is the body of the layer listing.
type LayersResponse struct {
	Layers     []LayerView `json:"layers"`
	NextCursor *string     `json:"next_cursor"`
}

func (e *edge) listLayers(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := e.layers.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := LayersResponse{Layers: []LayerView{}, NextCursor: cursorOf(page.Next)}
	for _, l := range page.Items {
		out.Layers = append(out.Layers, layerViewOf(l))
	}
	return httpapi.OK(out), nil
}

func (e *edge) getLayer(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	l, err := e.layers.Get(ctx, req.PathParameters["key"])
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.OK(layerViewOf(l)), nil
}

func (e *edge) archiveLayer(ctx context.Context, req httpapi.Request, admin string) (httpapi.Result, error) {
	if err := e.layers.Archive(ctx, admin, req.PathParameters["key"]); err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.NoContent(), nil
}
