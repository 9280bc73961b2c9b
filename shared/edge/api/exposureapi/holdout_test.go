package exposureapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/edge/api/exposureapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/exposure"
)

// TestFirstExposureJoinsHoldouts: a unit's first exposure in an experiment
// makes it an exposed member of each live holdout covering the experiment
// that does not hold it out, in the exposure's own transaction (no other
// write, only the unit's items); later exposures change nothing. A unit in
// a holdout's range that was assigned before the holdout joins neither
// group, and a holdout of another layer is not joined.
func TestFirstExposureJoinsHoldouts(t *testing.T) {
	ctx := context.Background()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	parts := storetest.NewPartitions(db)
	counter := storetest.NewCounting(parts)
	st := store.New(counter, table)
	exp := newExp("exp", experiment.Active)
	exp.Layer = &experiment.LayerSlice{Key: "checkout", Start: 0, End: 1}
	if err := st.CreateExperiment(ctx, exp); err != nil {
		t.Fatal(err)
	}
	everywhere := enrolment.Holdout{Key: "everywhere", Percent: 30}
	// Units assigned before the holdouts exist: one outside its range, one
	// inside it.
	var outside, inside string
	for i := 0; outside == "" || inside == ""; i++ {
		u := fmt.Sprintf("u%d", i)
		if enrolment.InHoldout(everywhere, u) {
			inside = u
		} else if outside == "" {
			outside = u
		}
	}
	for _, u := range []string{outside, inside} {
		if _, _, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit(u), "treatment"); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []*holdout.Holdout{
		{Key: everywhere.Key, Name: "E", Percent: everywhere.Percent},
		{Key: "checkout-hold", Name: "C", Percent: 1e-9, Layers: []string{"checkout"}},
		{Key: "pricing-hold", Name: "P", Percent: 50, Layers: []string{"pricing"}},
	} {
		h.Status, h.Version = holdout.Live, 1
		if err := st.CreateHoldout(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	h := exposureapi.New(quiet, exposure.New(assignment.New(snapshot.New(st, time.Minute), st), st).
		WithHoldouts(snapshot.NewHoldouts(st, time.Minute)))
	expose := func(user string) time.Time {
		t.Helper()
		resp, err := h(ctx, httpapitest.Request("exp", user, ""))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("expose %s: %d %s %v", user, resp.StatusCode, resp.Body, err)
		}
		var x struct {
			ExposedAt time.Time `json:"exposed_at"`
		}
		httpapitest.Decode(t, resp, &x)
		return x.ExposedAt
	}
	memberships := func(user string) map[string]*holdout.Membership {
		t.Helper()
		ms, err := st.UnitMemberships(ctx, experiment.UserUnit(user), true)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*holdout.Membership{}
		for _, m := range ms {
			out[m.Holdout] = m
		}
		return out
	}

	expose(outside) // loads the snapshots
	counter.Reset()
	parts.Reset()
	expose(inside)
	// The experiment names no metric: no covariate, so no daily totals read.
	if got := counter.Calls(); got["TransactWriteItems"] != 1 || got["GetItem"] != 1 || counter.Total() != 2 {
		t.Fatalf("first exposure: calls %v, want 1 GetItem (assignment) and 1 transaction", got)
	}
	if other := parts.OtherThan("USER#" + inside); len(other) != 0 {
		t.Fatalf("first exposure wrote outside the unit's partition: %v", other)
	}

	ms := memberships(outside)
	if len(ms) != 2 || ms["everywhere"] == nil || ms["checkout-hold"] == nil {
		t.Fatalf("outside: memberships %v, want everywhere and checkout-hold", ms)
	}
	first := *ms["everywhere"]
	if first.HeldOut || first.Experiment != "exp" || first.Unit.ID != outside || first.Since.IsZero() {
		t.Fatalf("outside: %+v", first)
	}
	expose(outside)
	if again := memberships(outside)["everywhere"]; !again.Since.Equal(first.Since) || again.HeldOut {
		t.Fatalf("a later exposure changed the membership: %+v, was %+v", again, first)
	}
	if ms := memberships(inside); ms["everywhere"] != nil || ms["checkout-hold"] == nil || ms["pricing-hold"] != nil {
		t.Fatalf("inside (assigned before the holdout): %v", ms)
	}
}
