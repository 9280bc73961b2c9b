package usecase_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/layer"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/layers"
	"github.com/abtest/abtest/shared/usecase/savedgroups"
)

// Layers and saved groups as an MCP tool or the CLI would call them.
func TestLayersAndSavedGroupsWithoutHTTP(t *testing.T) {
	ctx := context.Background()
	s := newServices(t)
	ls := layers.New(s.st, time.Now)
	if _, err := ls.Create(ctx, "admin-1", layers.NewInput{Key: "checkout", Name: "Checkout"}); err != nil {
		t.Fatal(err)
	}
	inLayer := func(key string, start, end float64) experiments.NewInput {
		return experiments.NewInput{Key: key, Name: key, Variants: variants(),
			Targeting: experiments.Targeting{Layer: &experiment.LayerSlice{Key: "checkout", Start: start, End: end}}}
	}
	if _, err := s.exps.Create(ctx, "admin-1", inLayer("a", 0, 0.5)); err != nil {
		t.Fatal(err)
	}
	_, err := s.exps.Create(ctx, "admin-1", inLayer("b", 0.4, 1))
	wantCode(t, err, layer.CodeRangeOverlap)
	wantCode(t, ls.Archive(ctx, "admin-1", "checkout"), layer.CodeNotEmpty)
	if err := s.exps.Archive(ctx, "admin-1", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.exps.Create(ctx, "admin-1", inLayer("b", 0.4, 1)); err != nil {
		t.Fatal(err)
	}
	l, err := ls.Get(ctx, "checkout")
	if err != nil || len(l.Holders) != 1 || l.Holders[0].Experiment != "b" ||
		!reflect.DeepEqual(layer.Free(l.Holders), []layer.Range{{Start: 0, End: 0.4}}) {
		t.Fatalf("layer %+v, %v", l, err)
	}

	gs := savedgroups.New(s.st, time.Now)
	g, err := gs.Create(ctx, "admin-1", savedgroups.NewInput{Key: "staff", Name: "Staff", Values: []any{"ann", "bob", "ann"}})
	if err != nil || g.Size != 2 {
		t.Fatalf("create: %+v, %v", g, err)
	}
	values := []any{"cy"}
	_, err = gs.Update(ctx, "admin-1", "staff", savedgroups.Patch{Version: 2, Values: &values})
	wantCode(t, err, experiment.CodeVersionConflict)
	if g, err = gs.Update(ctx, "admin-1", "staff", savedgroups.Patch{Version: 1, Values: &values}); err != nil || g.Version != 2 {
		t.Fatalf("update: %+v, %v", g, err)
	}
	all, err := snapshot.NewGroups(s.st, 0).All(ctx)
	if err != nil || !reflect.DeepEqual(all["staff"], []any{"cy"}) {
		t.Fatalf("groups %v, %v", all, err)
	}
	if err := gs.Delete(ctx, "staff"); err != nil {
		t.Fatal(err)
	}
	_, err = gs.Get(ctx, "staff")
	wantCode(t, err, savedgroup.CodeNotFound)
}
