package layer

import (
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of the layer rules, stable API.
const (
	CodeNotFound     = "LAYER_NOT_FOUND"
	CodeExists       = "LAYER_EXISTS"
	CodeNotEmpty     = "LAYER_NOT_EMPTY"
	CodeRangeOverlap = "LAYER_RANGE_OVERLAP"
	CodeFull         = "LAYER_FULL"
	// CodeBusy: the layer's allocation moved under every attempt to claim
	// or free a slice (many concurrent changes in one layer); nothing was
	// written.
	CodeBusy = "LAYER_BUSY"
)

// ErrNotFound answers for an unknown layer and an archived one alike.
func ErrNotFound() *fault.Error { return fault.New(fault.NotFound, CodeNotFound, "no such layer") }

// ErrOverlap refuses a slice that shares a point with the slice another
// experiment holds; the details name that experiment and its range.
func ErrOverlap(layerKey string, holder Holder) *fault.Error {
	return fault.Newf(fault.Conflict, CodeRangeOverlap,
		"the slice overlaps [%g, %g) of layer %s, held by experiment %s (%s); end or archive it, or pick a free range",
		holder.Start, holder.End, layerKey, holder.Experiment, holder.Status).
		With(map[string]any{"layer": layerKey, "experiment": holder.Experiment, "status": string(holder.Status), "start": holder.Start, "end": holder.End})
}

// ErrFull refuses one more experiment in a layer holding MaxHolders.
func ErrFull(layerKey string) *fault.Error {
	return fault.Newf(fault.Conflict, CodeFull, "layer %s already holds %d experiments; end or archive one", layerKey, MaxHolders).
		With(map[string]any{"layer": layerKey, "max_experiments": MaxHolders})
}

// ErrNotEmpty refuses to archive a layer whose slices are held.
func ErrNotEmpty(holders []Holder) *fault.Error {
	return fault.New(fault.Conflict, CodeNotEmpty, "experiments still hold slices of the layer; end or archive them first").
		With(map[string]any{"holders": holders})
}

// ErrBusy: see CodeBusy.
func ErrBusy() *fault.Error {
	return fault.New(fault.Conflict, CodeBusy, "the layer changed during every attempt to save; retry")
}

// CheckKey returns an INVALID_KEY error unless s can be a layer key (the
// rule of experiment keys).
func CheckKey(s string) error {
	if experiment.ValidKey(s) {
		return nil
	}
	return fault.New(fault.Invalid, fault.CodeInvalidKey, "layer key must match "+experiment.KeyPattern).
		With(map[string]any{"pattern": experiment.KeyPattern})
}
