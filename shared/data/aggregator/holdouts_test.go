package aggregator_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/aggregator"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
)

// holdoutWorkload writes memberships of two holdouts beside assignments:
// held-out units, units exposed (once or twice), conversions before and
// after joining, retried events. It returns the units.
func holdoutWorkload(t *testing.T, st *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateExperiment(ctx, &experiment.Experiment{Key: "x", Name: "x", Status: experiment.Active, Coverage: 1, Version: 1,
		Events: []string{"purchase"}, Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	counted := func(string) bool { return true }
	var units []string
	for u := 0; u < 30; u++ {
		unit := fmt.Sprintf("u%02d", u)
		units = append(units, unit)
		now := time.Now().UTC()
		early := &experiment.Event{ID: "early", Unit: experiment.UserUnit(unit), Name: "purchase", Timestamp: now.Add(-time.Minute), ReceivedAt: now}
		if u%4 == 0 { // held out of both
			if err := st.RecordHeldOut(ctx, experiment.UserUnit(unit), "x", []string{"h1", "h2"}); err != nil {
				t.Fatal(err)
			}
		} else {
			a, _, err := st.CreateAssignment(ctx, "x", experiment.UserUnit(unit), []string{"control", "treatment"}[u%2])
			if err != nil {
				t.Fatal(err)
			}
			if u%3 != 0 {
				for i := 0; i < 2; i++ {
					if _, _, err := st.RecordExposureFor(ctx, a, a.Variant, "", store.FirstExposure{Holdouts: []string{"h1", "h2"}}); err != nil {
						t.Fatal(err)
					}
					if a, err = st.GetAssignment(ctx, "x", experiment.UserUnit(unit), true); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		asg, _ := st.UnitAssignments(ctx, experiment.UserUnit(unit))
		ms, _ := st.UnitMemberships(ctx, experiment.UserUnit(unit), true)
		c := store.Convertible{Assignments: asg, Counted: counted, Memberships: ms, HoldoutCounted: func(string) bool { return true }}
		if _, err := st.RecordEventFor(ctx, early, c); err != nil { // happened before joining
			t.Fatal(err)
		}
		if u%2 == 0 {
			for retry := 0; retry < 2; retry++ {
				ev := &experiment.Event{ID: "p", Unit: experiment.UserUnit(unit), Name: "purchase", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
				if _, err := st.RecordEventFor(ctx, ev, c); err != nil {
					t.Fatal(err)
				}
			}
			// Only h1 declares signup (x does not).
			onlyH1 := c
			onlyH1.Counted = func(string) bool { return false }
			onlyH1.HoldoutCounted = func(h string) bool { return h == "h1" }
			ev := &experiment.Event{ID: "s", Unit: experiment.UserUnit(unit), Name: "signup", Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
			if _, err := st.RecordEventFor(ctx, ev, onlyH1); err != nil {
				t.Fatal(err)
			}
		}
	}
	return units
}

// fromItems is a holdout's counts summed from its stored memberships: what
// the counters must equal.
func fromItems(t *testing.T, st *store.Store, units []string, key string) experiment.Aggregates {
	t.Helper()
	g := experiment.NewAggregates()
	for _, u := range units {
		ms, err := st.UnitMemberships(context.Background(), experiment.UserUnit(u), true)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Holdout == key {
				g.Add(holdout.Contribution(m))
			}
		}
	}
	return g.NonZero()
}

// TestHoldoutCountersCountOnce: holdout counters kept from the stream, with
// batches delivered twice, retried from an earlier record and replayed
// whole, equal the sum of the memberships' contributions; the experiment's
// counters beside them are still exact.
func TestHoldoutCountersCountOnce(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	units := holdoutWorkload(t, st)
	agg := aggregator.New(st)
	records := streamRecords(t, db, table)
	for round := 0; round < 2; round++ { // the second round is a whole replay
		for shard, rs := range records {
			for start := 0; start < len(rs); start += 5 {
				b := aggregator.Batch{Shard: shard, Records: rs[start:min(start+5, len(rs))]}
				for delivery := 0; delivery < 2; delivery++ {
					if _, err := agg.Apply(ctx, b); err != nil {
						t.Fatal(err)
					}
				}
				if start >= 5 {
					if _, err := agg.Apply(ctx, aggregator.Batch{Shard: shard, Records: rs[start-3 : min(start+8, len(rs))]}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for _, key := range []string{"h1", "h2"} {
			live, err := st.ReadHoldoutCounts(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			want := fromItems(t, st, units, key)
			if !reflect.DeepEqual(live.NonZero(), want) || live.AsOf.IsZero() {
				t.Fatalf("round %d, %s: live %+v, from the items %+v", round, key, live, want)
			}
			if want.Assigned[holdout.GroupHeldOut] != 8 || want.Assigned[holdout.GroupExposed] != 15 {
				t.Fatalf("%s: %+v: the workload is not what the test means", key, want)
			}
		}
		// Even units convert after joining; the odd ones' event happened
		// before they joined, which counts nowhere.
		if h1, h2 := fromItems(t, st, units, "h1"), fromItems(t, st, units, "h2"); h1.Converted[holdout.GroupHeldOut]["purchase"] != 8 ||
			h2.Converted[holdout.GroupHeldOut]["purchase"] != 8 || h1.Converted[holdout.GroupExposed]["purchase"] != 5 || h2.Converted[holdout.GroupExposed]["purchase"] != 5 ||
			h1.Converted[holdout.GroupHeldOut]["signup"] != 8 || h2.Converted[holdout.GroupHeldOut]["signup"] != 0 {
			t.Fatalf("conversions: h1 %+v h2 %+v", h1, h2)
		}
		live, _ := st.ReadAggregates(ctx, "x")
		recount, _ := st.Recount(ctx, "x", []string{"purchase"}, false)
		if !reflect.DeepEqual(live.NonZero(), recount.NonZero()) {
			t.Fatalf("experiment: live %+v, recount %+v", live, recount)
		}
	}
}
