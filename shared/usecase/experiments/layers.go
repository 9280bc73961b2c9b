package experiments

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
)

// layerAttempts bounds how often a save is decided again because a layer
// it claims or frees a slice in changed meanwhile. Every round at least one
// of the concurrent changes of a layer lands, so this many admins can
// change one layer at the same moment without a LAYER_BUSY.
const layerAttempts = 10

// withLayers runs write with the layer allocations that saving next (over
// prev; nil for a new experiment) changes, each conditioned on its layer
// being as read here. When a layer moved meanwhile, nothing was written:
// the layers are read and the claim decided again, so a concurrent claim
// that landed first is seen (and refused as an overlap if it is one).
func (s *Service) withLayers(ctx context.Context, prev, next *experiment.Experiment, write func([]store.LayerWrite) error) error {
	for attempt := 1; ; attempt++ {
		writes, err := s.layerWrites(ctx, prev, next)
		if err != nil {
			return err
		}
		err = write(writes)
		if !errors.Is(err, store.ErrLayerChanged) {
			return err
		}
		if attempt == layerAttempts {
			return layer.ErrBusy().Because(err)
		}
	}
}

// layerWrites decides the allocation of every layer next or prev names:
// next claims its slice while it holds one (not ended, not archived), and
// is freed from any other. A layer whose allocation would not change is
// not written, and so not conditioned on: only changes of the allocation
// need to be serialized.
func (s *Service) layerWrites(ctx context.Context, prev, next *experiment.Experiment) ([]store.LayerWrite, error) {
	var keys []string
	if prev != nil && prev.Layer != nil {
		keys = append(keys, prev.Layer.Key)
	}
	if next.Layer != nil && !slices.Contains(keys, next.Layer.Key) {
		keys = append(keys, next.Layer.Key)
	}
	var writes []store.LayerWrite
	for _, key := range keys {
		claims := layer.Holds(next) && next.Layer.Key == key
		l, err := s.store.GetLayer(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && l.Archived):
			if claims {
				return nil, noLayer(err == nil)
			}
			continue // nothing can be held there, so nothing to free
		case err != nil:
			return nil, fmt.Errorf("layer %q: %w", key, err)
		}
		holders := l.Release(next.Key)
		if claims {
			if holders, err = l.Claim(layer.HolderOf(next)); err != nil {
				return nil, err
			}
		}
		if !slices.Equal(holders, l.Holders) {
			writes = append(writes, store.LayerWrite{Key: key, Version: l.Version, Holders: holders})
		}
	}
	return writes, nil
}

// noLayer refuses a slice of a layer that does not exist or is archived.
func noLayer(archived bool) error {
	msg := "must name an existing layer: create it first (POST /v1/admin/layers)"
	if archived {
		msg = "names an archived layer"
	}
	return fault.Validation(experiment.Problems{"layer.key": msg})
}
