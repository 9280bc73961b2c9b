package resultsapi_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/apispec/apispectest"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

// TestTimeseries: the snapshot job keeps a day's counters; the series
// answers each day's report as the counters stood then, and today's from
// the live counters, in three reads whatever the number of days.
func TestTimeseries(t *testing.T) {
	f := newFlow(t)
	ctx := context.Background()
	counting := storetest.NewCounting(f.db)
	st := store.New(counting, f.table)
	day := func(d int) time.Time { return generatedAt.AddDate(0, 0, d) }
	svc := func(now time.Time) *results.Service {
		return results.New(snapshot.New(st, 0), st, func() time.Time { return now }).WithSnapshots(st)
	}

	// Experiments the job skips: a draft, and one ended long ago.
	for _, e := range []*experiment.Experiment{
		{Key: "drafted", Status: experiment.Draft, UpdatedAt: day(-3)},
		{Key: "long-over", Status: experiment.Ended, UpdatedAt: day(-10)},
		{Key: "just-over", Status: experiment.Ended, UpdatedAt: day(-3)},
	} {
		e.Name, e.Coverage, e.Version, e.Events = e.Key, 1, 1, []string{"purchase"}
		e.Variants = []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}
		if err := f.st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	took, err := svc(day(-2)).TakeSnapshots(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"checkout", "just-over"}; !reflect.DeepEqual(took.Experiments, want) || took.Day != day(-2).Format(time.DateOnly) {
		t.Fatalf("snapshotted %+v, want %v on %s", took, want, day(-2).Format(time.DateOnly))
	}
	// A rewrite of the same day keeps one point.
	if _, err := svc(day(-2).Add(time.Minute)).TakeSnapshots(ctx, st); err != nil {
		t.Fatal(err)
	}

	// After the snapshot, u2 (control, exposed) converts: only today's
	// point has it.
	asg, err := f.st.UnitAssignments(ctx, experiment.UserUnit("u2"))
	if err != nil {
		t.Fatal(err)
	}
	when := day(-1)
	if _, err := f.st.RecordEvent(ctx, &experiment.Event{ID: "late", Unit: experiment.UserUnit("u2"), Name: "purchase", Timestamp: when, ReceivedAt: when}, asg, storetest.CountAll); err != nil {
		t.Fatal(err)
	}
	storetest.Drain(t, f.table)

	h := apispectest.Handler(t, routes.Results, resultsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: func() time.Time { return day(0) }}))
	call := func(query map[string]string) httpapi.Response {
		req := httpapitest.AdminRequest(routes.AdminTimeseries, "checkout", "")
		req.QueryStringParameters = query
		counting.Reset()
		resp, err := h(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	got := call(map[string]string{"event": "purchase", "method": "bayesian"})
	if got.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", got.StatusCode, got.Body)
	}
	if n := counting.Total(); n != 3 {
		t.Fatalf("%d DynamoDB calls (%v), want 3 (definition, snapshots, counters)", n, counting.Calls())
	}
	var s results.Series
	httpapitest.Decode(t, got, &s)
	if s.Experiment != "checkout" || s.Event != "purchase" || s.Method != "bayesian" || len(s.Points) != 2 {
		t.Fatalf("series %+v", s)
	}
	converted := func(p results.Point) []int64 {
		return []int64{p.Variants[0].ConvertedCount, p.Variants[1].ConvertedCount}
	}
	old, today := s.Points[0], s.Points[1]
	if old.Date != day(-2).Format(time.DateOnly) || today.Date != day(0).Format(time.DateOnly) {
		t.Fatalf("dates %s %s", old.Date, today.Date)
	}
	if !reflect.DeepEqual(converted(old), []int64{1, 2}) || !reflect.DeepEqual(converted(today), []int64{2, 2}) {
		t.Fatalf("converted then %v, today %v; want [1 2] then [2 2]", converted(old), converted(today))
	}
	if old.GeneratedAt != day(-2).Add(time.Minute).Format(time.RFC3339Nano) || old.Method != "bayesian" || old.Variants[0].N != 2 {
		t.Fatalf("the old point is not the report of its snapshot: %+v", old.Report)
	}
	// Each point is what results answer from the same counters.
	live, err := svc(day(0)).Read(ctx, "checkout", results.Query{Event: "purchase", Method: "bayesian"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(today.Report, live) {
		t.Fatalf("today's point %+v\nresults %+v", today.Report, live)
	}

	// Bad input is refused as results refuse it.
	httpapitest.ExpectError(t, call(map[string]string{"event": "purchase", "method": "magic"}), http.StatusBadRequest, "INVALID_METHOD")
	httpapitest.ExpectError(t, call(nil), http.StatusBadRequest, results.CodeEventRequired)
}
