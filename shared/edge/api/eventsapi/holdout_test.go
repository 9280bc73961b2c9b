package eventsapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/edge/api/eventsapi"
	"github.com/abtest/abtest/shared/edge/lambdafn"
)

// TestEventsMarkHoldoutMemberships: an event a live holdout declares marks
// the unit's membership converted, once, writing only the unit's items; a name no holdout declares costs
// no read of the memberships; an archived holdout counts nothing more.
func TestEventsMarkHoldoutMemberships(t *testing.T) {
	ctx := context.Background()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	parts := storetest.NewPartitions(db)
	counter := storetest.NewCounting(parts)
	st := store.New(counter, table)
	for _, h := range []*holdout.Holdout{
		{Key: "h", Name: "H", Percent: 10, Events: []string{"purchase", "signup"}, Status: holdout.Live, Version: 1},
		{Key: "other", Name: "O", Percent: 10, Events: []string{"signup"}, Status: holdout.Live, Version: 1},
	} {
		if err := st.CreateHoldout(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordHeldOut(ctx, experiment.UserUnit("alice"), "exp", []string{"h", "other"}); err != nil {
		t.Fatal(err)
	}
	h := eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Holdouts: snapshot.NewHoldouts(st, time.Minute), Now: time.Now})
	conversions := func() map[string][]string {
		t.Helper()
		ms, err := st.UnitMemberships(ctx, experiment.UserUnit("alice"), true)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, m := range ms {
			slices.Sort(m.Conversions)
			out[m.Holdout] = m.Conversions
		}
		return out
	}

	parts.Reset()
	for i := 0; i < 2; i++ {
		accepted(t, post(t, h, "alice", `{"events":[{"name":"purchase","id":"p1"},{"name":"purchase","id":"p2"}]}`))
	}
	// DynamoDB Local never reports conflicts: that marking a membership
	// writes only the unit's own items is checked on every item named.
	if other := parts.OtherThan("USER#alice"); len(other) != 0 {
		t.Fatalf("events wrote outside the unit's partition: %v", other)
	}
	if c := conversions(); !slices.Equal(c["h"], []string{"purchase"}) || len(c["other"]) != 0 {
		t.Fatalf("after purchase: %v", c)
	}
	counter.Reset()
	accepted(t, post(t, h, "alice", `{"events":[{"name":"page_view"}]}`))
	if got := counter.Calls(); got["Query"] != 1 || got["PutItem"] != 1 || counter.Total() != 2 {
		t.Fatalf("an event no holdout declares: calls %v, want the assignments' Query and the event's PutItem", got)
	}
	if err := st.ArchiveHoldout(ctx, "other", "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	h = eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Holdouts: snapshot.NewHoldouts(st, 0), Now: time.Now})
	accepted(t, post(t, h, "alice", `{"events":[{"name":"signup"}]}`))
	if c := conversions(); !slices.Equal(c["h"], []string{"purchase", "signup"}) || len(c["other"]) != 0 {
		t.Fatalf("after signup with other archived: %v", c)
	}
}
