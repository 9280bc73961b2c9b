package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
)

// covariateFixture is a store whose clock the test moves, with a sum and a
// binomial metric live.
type covariateFixture struct {
	t       *testing.T
	st      *store.Store
	table   string
	now     time.Time
	metrics []*metric.Metric
}

func newCovariateFixture(t *testing.T) *covariateFixture {
	st, _, table := storetest.New(t)
	f := &covariateFixture{t: t, table: table, now: time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)}
	f.st = st.WithClock(func() time.Time { return f.now })
	for _, m := range []*metric.Metric{
		{Key: "spend", Name: "Spend", Type: metric.Sum, Event: "buy", Property: "amount"},
		{Key: "bought", Name: "Bought", Type: metric.Binomial, Event: "buy"},
	} {
		m.Status, m.Version = metric.Live, 1
		if err := st.CreateMetric(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		f.metrics = append(f.metrics, m)
	}
	return f
}

// buy records unit's purchase of amount stamped at ts, received now, fed
// to the live metrics (as the events use case does).
func (f *covariateFixture) buy(unit experiment.UnitRef, id string, ts time.Time, amount float64) bool {
	f.t.Helper()
	ctx := context.Background()
	asg, err := f.st.UnitAssignments(ctx, unit)
	if err != nil {
		f.t.Fatal(err)
	}
	ev := &experiment.Event{ID: id, Unit: unit, Name: "buy", Timestamp: ts, ReceivedAt: f.now,
		Properties: json.RawMessage(fmt.Sprintf(`{"amount":%g}`, amount))}
	stored, err := f.st.RecordEventFor(ctx, ev, store.Convertible{Assignments: asg, Counted: func(string) bool { return false },
		Metrics: f.metrics, Measured: func(string) bool { return true }})
	if err != nil {
		f.t.Fatal(err)
	}
	return stored
}

func (f *covariateFixture) assignment(key string, unit experiment.UnitRef) *experiment.Assignment {
	f.t.Helper()
	a, err := f.st.GetAssignment(context.Background(), key, unit, true)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// TestCovariateOfFirstExposure: a unit's first exposure takes, per metric,
// what its events stamped on the lookback's whole UTC days before the day
// of exposure added (assigned or not, retries once), and nothing stamped
// on that day, before the window, or stored after the exposure.
func TestCovariateOfFirstExposure(t *testing.T) {
	ctx := context.Background()
	f := newCovariateFixture(t)
	unit := experiment.UserUnit("shopper")
	day := func(d int, hour int) time.Time { return time.Date(2026, 11, 20+d, hour, 0, 0, 0, time.UTC) }
	f.buy(unit, "in-window-1", day(-1, 23), 10) // the last day of the window
	f.buy(unit, "in-window-2", day(-7, 0), 2.5) // the first day of a 7-day window
	if f.buy(unit, "in-window-2", day(-7, 0), 2.5) {
		t.Fatal("a retried event was stored again")
	}
	f.buy(unit, "too-old", day(-8, 12), 100)
	f.buy(unit, "exposure-day", day(0, 1), 1000)

	a, _, err := f.st.CreateAssignment(ctx, "exp", unit, "treatment")
	if err != nil {
		t.Fatal(err)
	}
	f.buy(unit, "assigned", day(-2, 5), 0.5) // history arriving after assignment, before exposure
	f.now = day(0, 16)
	named := store.FirstExposure{LookbackDays: 7, Metrics: []string{"spend", "bought", "not-live"}}
	if _, _, err := f.st.RecordExposureFor(ctx, a, "treatment", "", named); err != nil {
		t.Fatal(err)
	}
	f.now = day(0, 17)
	f.buy(unit, "late-history", day(-3, 5), 7) // stored after the exposure: not in the covariate
	got := f.assignment("exp", unit)
	want := map[string]float64{"spend": 13, "bought": 3}
	for k, pre := range want {
		if got.Values[k].Pre != pre {
			t.Errorf("%s: covariate %v, want %v (values %+v)", k, got.Values[k].Pre, pre, got.Values)
		}
	}
	// A second exposure changes nothing; a unit without history has none.
	if _, _, err := f.st.RecordExposureFor(ctx, got, "treatment", "", named); err != nil {
		t.Fatal(err)
	}
	if again := f.assignment("exp", unit); !reflect.DeepEqual(again.Values, got.Values) {
		t.Fatalf("a second exposure moved the values: %+v, was %+v", again.Values, got.Values)
	}
	newcomer := experiment.UserUnit("newcomer")
	b, _, err := f.st.CreateAssignment(ctx, "exp", newcomer, "control")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.RecordExposureFor(ctx, b, "control", "", named); err != nil {
		t.Fatal(err)
	}
	if v := f.assignment("exp", newcomer).Values; len(v) != 0 {
		t.Fatalf("a unit without history holds %+v", v)
	}
	// The default window (14 days) takes the older purchase too; an
	// experiment takes the covariates of the metrics it names only.
	c, _, err := f.st.CreateAssignment(ctx, "exp-14", unit, "control")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.RecordExposureFor(ctx, c, "control", "", store.FirstExposure{Metrics: []string{"spend"}}); err != nil {
		t.Fatal(err)
	}
	if v := f.assignment("exp-14", unit).Values; v["spend"].Pre != 113+7 || v["bought"].Pre != 0 {
		t.Fatalf("14-day covariates %+v, want spend 120 (the older purchase and the late history, stored before this exposure) and no bought", v)
	}
	erased, err := f.st.EraseUnit(ctx, unit)
	if err != nil || erased.DailyTotals != 6 {
		t.Fatalf("erasure %+v %v, want the unit's 6 days of totals", erased, err)
	}
}

// TestRecountRebuildsCovariates: a metric created after a unit's history
// has no covariate for it until a recount, which rebuilds every covariate
// of the metrics the experiment names from the stored events; the recount runs in one-page calls (each stopping after
// writing its page's marks, which the next call finds in the checkpoint
// and writes again), and the counters end equal to the recount.
func TestRecountRebuildsCovariates(t *testing.T) {
	ctx := context.Background()
	defer store.SetRecountPageItems(8)()
	f := newCovariateFixture(t)
	f.metrics = f.metrics[:1] // "bought" is not live for the events yet
	rc := newExperiment("rc", experiment.Active)
	rc.Metrics = experiment.MetricRefs{Primary: "spend", Secondary: []string{"bought"}}
	if err := f.st.CreateExperiment(ctx, rc); err != nil {
		t.Fatal(err)
	}
	const units = 40
	base := f.now
	for i := range units {
		unit := experiment.UserUnit(fmt.Sprintf("u%02d", i))
		f.now = base
		for d := 1; d <= i%4; d++ {
			f.buy(unit, fmt.Sprintf("h%d", d), base.AddDate(0, 0, -d), float64(i+d)/4)
		}
		f.now = base.Add(time.Minute)
		a, _, err := f.st.CreateAssignment(ctx, "rc", unit, []string{"control", "treatment"}[i%2])
		if err != nil {
			t.Fatal(err)
		}
		if i%5 != 0 {
			if _, _, err := f.st.RecordExposureFor(ctx, a, a.Variant, "", store.FirstExposure{Metrics: rc.Metrics.All()}); err != nil {
				t.Fatal(err)
			}
		}
		f.now = base.Add(2 * time.Minute)
		f.buy(unit, "after", f.now, 1)
	}
	storetest.Drain(t, f.table)
	var p store.RecountProgress
	var err error
	for steps := 0; !p.Done; steps++ {
		if p, err = f.st.RecountStep(ctx, "rc", nil, true, time.Now()); err != nil {
			t.Fatalf("step %d: %v", steps, err)
		}
		if steps > 500 {
			t.Fatal("the recount makes no progress")
		}
	}
	storetest.Drain(t, f.table)
	live, err := f.st.ReadAggregates(ctx, "rc")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(live.NonZero().Sums, p.Totals.NonZero().Sums) {
		t.Fatalf("counters after the recount %+v, recounted %+v", live.Sums, p.Totals.Sums)
	}
	var withHistory int
	for i := range units {
		unit := experiment.UserUnit(fmt.Sprintf("u%02d", i))
		a := f.assignment("rc", unit)
		var pre float64
		for d := 1; d <= i%4; d++ {
			pre += float64(i+d) / 4
		}
		if !a.Exposed() {
			pre = 0
		}
		bought := 0.0
		if pre > 0 {
			bought, withHistory = float64(i%4), withHistory+1
		}
		if a.Values["spend"].Pre != pre || a.Values["bought"].Pre != bought {
			t.Errorf("%s: %+v, want spend covariate %v and bought %v", unit, a.Values, pre, bought)
		}
	}
	if withHistory < 10 || p.Totals.Sums["treatment"]["bought"].P == 0 {
		t.Fatalf("the test checks too little: %d units with history, sums %+v", withHistory, p.Totals.Sums)
	}
}
