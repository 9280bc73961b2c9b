package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/layer"
)

// A claim is written on condition that the layer is still at the version
// its allocation was decided on: of two claims decided on the same
// version, the second writes nothing, experiment included.
func TestLayerWriteIsConditionedOnTheVersionRead(t *testing.T) {
	ctx := context.Background()
	st, _, _ := storetest.New(t)
	now := time.Now().UTC()
	if err := st.CreateLayer(ctx, &layer.Layer{Key: "l", Name: "L", Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	read, err := st.GetLayer(ctx, "l")
	if err != nil || read.Version != 1 || len(read.Holders) != 0 || read.Archived {
		t.Fatalf("read %+v, %v", read, err)
	}
	claim := func(key string, start, end float64) error {
		e := newExperiment(key, experiment.Draft)
		e.Layer = &experiment.LayerSlice{Key: "l", Start: start, End: end}
		holders, err := read.Claim(layer.HolderOf(e))
		if err != nil {
			t.Fatal(err)
		}
		return st.CreateExperiment(ctx, e, store.LayerWrite{Key: "l", Version: read.Version, Holders: holders})
	}
	if err := claim("a", 0, 0.6); err != nil {
		t.Fatal(err)
	}
	if err := claim("b", 0.4, 1); !errors.Is(err, store.ErrLayerChanged) {
		t.Fatalf("second claim on the same version: %v", err)
	}
	if _, err := st.GetExperiment(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused claim stored its experiment: %v", err)
	}
	got, err := st.GetLayer(ctx, "l")
	want := []layer.Holder{{Experiment: "a", Status: experiment.Draft, Start: 0, End: 0.6}}
	if err != nil || got.Version != 2 || !reflect.DeepEqual(got.Holders, want) {
		t.Fatalf("layer %+v, %v", got, err)
	}

	// Saving with a stale layer version is refused the same way.
	a, _ := st.GetExperiment(ctx, "a")
	next := *a
	next.Version, next.Status = 2, experiment.Ended
	err = st.SaveExperiment(ctx, &next, a, store.Change{Version: 2, Action: "end", By: "t", At: now},
		store.LayerWrite{Key: "l", Version: 1, Holders: nil})
	if !errors.Is(err, store.ErrLayerChanged) {
		t.Fatalf("save on a stale layer: %v", err)
	}
	if cur, _ := st.GetExperiment(ctx, "a"); cur.Version != 1 {
		t.Fatalf("refused save stored version %d", cur.Version)
	}

	// An archive is refused while slices are held, and answers who holds them.
	var notEmpty *store.LayerNotEmptyError
	if err := st.ArchiveLayer(ctx, "l", now, "t"); !errors.As(err, &notEmpty) || !reflect.DeepEqual(notEmpty.Holders, want) {
		t.Fatalf("archive of a held layer: %v", err)
	}
	if err := st.SaveExperiment(ctx, &next, a, store.Change{Version: 2, Action: "end", By: "t", At: now},
		store.LayerWrite{Key: "l", Version: 2, Holders: nil}); err != nil {
		t.Fatal(err)
	}
	if err := st.ArchiveLayer(ctx, "l", now, "t"); err != nil {
		t.Fatal(err)
	}
	if err := st.ArchiveLayer(ctx, "l", now, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second archive: %v", err)
	}
	if err := st.ArchiveLayer(ctx, "never", now, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("archive of an unknown layer: %v", err)
	}
	// A claim on an archived layer is refused by the same condition.
	gone, _ := st.GetLayer(ctx, "l")
	if !gone.Archived {
		t.Fatalf("layer %+v", gone)
	}
	c := newExperiment("c", experiment.Draft)
	if err := st.CreateExperiment(ctx, c, store.LayerWrite{Key: "l", Version: gone.Version}); !errors.Is(err, store.ErrLayerChanged) {
		t.Fatalf("claim on an archived layer: %v", err)
	}
	if page, err := st.ListLayers(ctx, 10, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("archived layer listed: %+v, %v", page, err)
	}
}
