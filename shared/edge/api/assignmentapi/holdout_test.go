package assignmentapi_test

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
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/usecase/assignment"
)

// holdoutSetup is setup with live holdouts served from a snapshot of ttl,
// every call counted and every written partition recorded.
func holdoutSetup(t *testing.T, ttl time.Duration, hs []*holdout.Holdout, exps ...*experiment.Experiment) (fixture, *storetest.Partitions) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	parts := storetest.NewPartitions(db)
	counter := storetest.NewCounting(parts)
	st := store.New(counter, table)
	for _, e := range exps {
		if err := st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hs {
		h.Status, h.Version = holdout.Live, 1
		if err := st.CreateHoldout(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	counter.Reset()
	parts.Reset()
	uc := assignment.New(snapshot.New(st, ttl), st).WithHoldouts(snapshot.NewHoldouts(st, ttl), st)
	return fixture{table: table, store: st, counter: counter, handler: assignmentapi.New(quiet, uc)}, parts
}

func inLayer(e *experiment.Experiment, layer string) *experiment.Experiment {
	e.Layer = &experiment.LayerSlice{Key: layer, Start: 0, End: 1}
	return e
}

func membership(t *testing.T, f fixture, unit, key string) *holdout.Membership {
	t.Helper()
	ms, err := f.store.UnitMemberships(context.Background(), experiment.UserUnit(unit), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Holdout == key {
			return m
		}
	}
	return nil
}

// TestHeldOutUnitGetsControl: a unit a holdout holds out gets the control
// with reason holdout, nothing is assigned, and its membership is stored
// once (held out, with the experiment that reached it); the other units are
// enrolled as before. Only the unit's own items are written.
func TestHeldOutUnitGetsControl(t *testing.T) {
	rule := enrolment.Holdout{Key: "global", Percent: 30}
	f, parts := holdoutSetup(t, time.Minute, []*holdout.Holdout{{Key: "global", Name: "G", Percent: 30}}, exp("x", experiment.Active, 1, 1))
	held, enrolled := 0, 0
	for i := 0; i < 60; i++ {
		unit := fmt.Sprintf("unit-%d", i)
		resp, r := call(t, f, "x", unit)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", unit, resp.StatusCode, resp.Body)
		}
		m := membership(t, f, unit, "global")
		if enrolment.InHoldout(rule, unit) {
			held++
			if r.Variant != "control" || r.InExperiment || r.Reason != "holdout" || r.AssignedAt != nil || string(r.Payload) != "null" {
				t.Fatalf("%s held out: %+v", unit, r)
			}
			if stored(t, f, "x", unit) {
				t.Fatalf("%s held out but assigned", unit)
			}
			if m == nil || !m.HeldOut || m.Experiment != "x" || m.Unit != experiment.UserUnit(unit) || m.Since.IsZero() {
				t.Fatalf("%s held out: membership %+v", unit, m)
			}
			continue
		}
		enrolled++
		if !r.InExperiment || r.Reason != "assigned" || !stored(t, f, "x", unit) || m != nil {
			t.Fatalf("%s not held out: %+v, membership %+v", unit, r, m)
		}
	}
	if held == 0 || enrolled == 0 {
		t.Fatalf("%d held out, %d enrolled: the test shows nothing", held, enrolled)
	}
	if other := parts.OtherThan(userPartitions(60)...); len(other) != 0 {
		t.Fatalf("assignment wrote outside the units' partitions: %v", other)
	}

	// A held-out unit's repeat call reads, and writes nothing.
	var unit string
	for i := 0; unit == ""; i++ {
		if u := fmt.Sprintf("unit-%d", i); enrolment.InHoldout(rule, u) {
			unit = u
		}
	}
	first := membership(t, f, unit, "global")
	f.counter.Reset()
	_, r := call(t, f, "x", unit)
	if got := f.counter.Calls(); r.Reason != "holdout" || got["GetItem"] != 1 || got["Query"] != 1 || f.counter.Total() != 2 {
		t.Fatalf("repeat call of a held-out unit: %+v, calls %v, want 1 GetItem (assignment) + 1 Query (memberships)", r, got)
	}
	if again := membership(t, f, unit, "global"); !again.Since.Equal(first.Since) {
		t.Fatalf("membership rewritten: %+v, was %+v", again, first)
	}
}

func userPartitions(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("USER#unit-%d", i)
	}
	return out
}

// TestHoldoutScopeByLayers: a holdout naming layers covers the experiments
// of those layers only; one naming none covers every experiment. A unit
// held out by two covering holdouts is a member of both.
func TestHoldoutScopeByLayers(t *testing.T) {
	scoped := enrolment.Holdout{Key: "checkout-hold", Percent: 40, Layers: []string{"checkout"}}
	everywhere := enrolment.Holdout{Key: "everywhere", Percent: 20}
	f, _ := holdoutSetup(t, 0, []*holdout.Holdout{
		{Key: scoped.Key, Name: "C", Percent: scoped.Percent, Layers: scoped.Layers},
		{Key: everywhere.Key, Name: "E", Percent: everywhere.Percent},
	},
		inLayer(exp("co", experiment.Active, 1, 1), "checkout"),
		inLayer(exp("pr", experiment.Active, 1, 1), "pricing"),
		exp("plain", experiment.Active, 1, 1),
	)
	both := false
	for i := 0; i < 80; i++ {
		unit := fmt.Sprintf("u%d", i)
		inScoped, inAll := enrolment.InHoldout(scoped, unit), enrolment.InHoldout(everywhere, unit)
		for _, key := range []string{"co", "pr", "plain"} {
			_, r := call(t, f, key, unit)
			want := inAll || (key == "co" && inScoped)
			if got := r.Reason == "holdout"; got != want || got == r.InExperiment {
				t.Fatalf("%s in %s (scoped %v, everywhere %v): %+v", unit, key, inScoped, inAll, r)
			}
		}
		if got := membership(t, f, unit, scoped.Key) != nil; got != inScoped {
			t.Fatalf("%s: scoped membership %v, held out %v", unit, got, inScoped)
		}
		if got := membership(t, f, unit, everywhere.Key) != nil; got != inAll {
			t.Fatalf("%s: everywhere membership %v, held out %v", unit, got, inAll)
		}
		both = both || (inScoped && inAll)
	}
	if !both {
		t.Fatal("no unit is in both holdouts: the test shows less than it says")
	}
}

// TestHoldoutDoesNotTouchStickyOrOverrides: an assignment made before the
// holdout existed stays (sticky wins), an override wins, and enroll=false
// records nothing.
func TestHoldoutDoesNotTouchStickyOrOverrides(t *testing.T) {
	ctx := context.Background()
	rule := enrolment.Holdout{Key: "late", Percent: 50}
	var early, late, overridden string
	for i := 0; late == "" || early == "" || overridden == ""; i++ {
		u := fmt.Sprintf("u%d", i)
		switch {
		case !enrolment.InHoldout(rule, u):
		case early == "":
			early = u
		case late == "":
			late = u
		default:
			overridden = u
		}
	}
	e := exp("x", experiment.Active, 1, 1)
	e.Overrides = map[string]string{overridden: "treatment"}
	f, _ := holdoutSetup(t, 0, nil, e)
	if _, r := call(t, f, "x", early); !r.InExperiment {
		t.Fatalf("before the holdout: %+v", r)
	}
	if err := f.store.CreateHoldout(ctx, &holdout.Holdout{Key: "late", Name: "L", Percent: 50, Status: holdout.Live, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, r := call(t, f, "x", early); r.Reason != "sticky" {
		t.Fatalf("assigned before the holdout: %+v", r)
	}
	if _, r := call(t, f, "x", overridden); r.Reason != "override" || r.Variant != "treatment" {
		t.Fatalf("overridden: %+v", r)
	}
	if _, r := callWith(t, f, "x", late, map[string]string{"enroll": "false"}); r.Reason != "not_assigned" {
		t.Fatalf("enroll=false: %+v", r)
	}
	for _, u := range []string{early, overridden, late} {
		if m := membership(t, f, u, "late"); m != nil {
			t.Fatalf("%s: membership %+v without being held out", u, m)
		}
	}
	if _, r := call(t, f, "x", late); r.Reason != "holdout" || membership(t, f, late, "late") == nil {
		t.Fatalf("new unit after the holdout: %+v", r)
	}
}
