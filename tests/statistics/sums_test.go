// Package statistics_test checks the write path of the metrics'
// sufficient statistics end to end: units sent through the real use cases
// on DynamoDB Local, the stream drained into the counters, and every figure
// recomputed by brute force from the raw items. Its own package, so its
// minutes do not count against the use cases' tests.
package statistics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/events"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/exposure"
	"github.com/abtest/abtest/shared/usecase/metrics"
	"github.com/abtest/abtest/shared/usecase/results"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

func variants() []experiment.Variant {
	return []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}
}

// statsMetrics are the metrics of TestMetricSumsAgainstBruteForce: every
// type, capped and not, windowed and not, and ratios over one or two events.
func statsMetrics() []metric.Metric {
	count := func(e string) *metric.Component { return &metric.Component{Type: metric.Count, Event: e} }
	sum := func(e, p string) *metric.Component { return &metric.Component{Type: metric.Sum, Event: e, Property: p} }
	return []metric.Metric{
		{Key: "clicks", Type: metric.Count, Event: "click"},
		{Key: "clicks-capped", Type: metric.Count, Event: "click", Cap: 3},
		{Key: "clicks-24h", Type: metric.Count, Event: "click", WindowHours: 24},
		{Key: "revenue", Type: metric.Sum, Event: "purchase", Property: "amount"},
		{Key: "revenue-capped", Type: metric.Sum, Event: "purchase", Property: "amount", Cap: 50},
		{Key: "revenue-12h", Type: metric.Sum, Event: "purchase", Property: "amount", WindowHours: 12},
		{Key: "bought", Type: metric.Binomial, Event: "purchase"},
		{Key: "bought-6h", Type: metric.Binomial, Event: "purchase", WindowHours: 6},
		{Key: "order-value", Type: metric.Ratio, Numerator: sum("purchase", "amount"), Denominator: count("purchase")},
		{Key: "revenue-per-click", Type: metric.Ratio, Numerator: sum("purchase", "amount"), Denominator: count("click"), Cap: 40},
		{Key: "items-per-order-24h", Type: metric.Ratio, Numerator: sum("purchase", "items"), Denominator: count("purchase"), WindowHours: 24},
	}
}

// lookbackB is exp-b's CUPED window (exp-a has the default, 14 days).
const lookbackB = 5

// lookbackOf is an experiment's CUPED window in the test.
func lookbackOf(key string) int {
	if key == "exp-b" {
		return lookbackB
	}
	return experiment.DefaultLookbackDays
}

// lateMetric is created half way through: its live sums hold only what
// arrived after, and the recount backfills the rest.
var lateMetric = metric.Metric{Key: "late-clicks", Name: "Late clicks", Type: metric.Count, Event: "click"}

// simClock is one worker's simulated time.
type simClock struct{ t time.Time }

func (c *simClock) now() time.Time     { return c.t }
func (c *simClock) at(d time.Duration) { c.t = c.t.Add(d) }
func (c *simClock) stamp(ago time.Duration) *string {
	s := c.t.Add(-ago).Format(time.RFC3339Nano)
	return &s
}

// TestMetricSumsAgainstBruteForce sends a few thousand units through the
// real use cases (assignments, exposures, events with duplicates,
// out-of-order timestamps, events before assignment and before exposure,
// values past caps and windows), drains the stream into the counters, and
// checks every unit's values and every sufficient statistic against a
// brute-force recomputation from the raw stored items; then the recount
// rebuilds the same figures (and backfills a metric created half way).
func TestMetricSumsAgainstBruteForce(t *testing.T) {
	units := 2000
	if testing.Short() {
		units = 300
	}
	ctx := context.Background()
	st, db, table := storetest.New(t)
	defs := snapshot.New(st, 0)
	exps := experiments.New(defs, st, time.Now)
	mets := metrics.New(st, time.Now)
	for _, m := range statsMetrics() {
		m.Name = m.Key
		if _, err := mets.Create(ctx, "admin", m); err != nil {
			t.Fatalf("create metric %s: %v", m.Key, err)
		}
	}
	// Both experiments name every metric but the late one: they take the
	// covariates of those.
	named := experiment.MetricRefs{}
	for _, m := range statsMetrics() {
		named.Secondary = append(named.Secondary, m.Key)
	}
	for _, e := range []experiments.NewInput{
		{Key: "exp-a", Name: "A", Variants: variants(), Events: []string{"purchase"}, Metrics: named},
		{Key: "exp-b", Name: "B", Variants: append(variants(), experiment.Variant{Key: "third", Weight: 1}), Metrics: named,
			Analysis: experiment.Analysis{LookbackDays: lookbackB}},
	} {
		if _, err := exps.Create(ctx, "admin", e); err != nil {
			t.Fatal(err)
		}
		if _, err := exps.Transition(ctx, "admin", e.Key, experiment.Start); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().UTC().Add(-20 * 24 * time.Hour)
	// exposedWhen is, per event id and experiment, whether the unit had been
	// exposed when the event was sent (the simulation's own knowledge).
	var mu sync.Mutex
	exposedWhen := map[string]bool{}
	run := func(from, to int) {
		live := snapshot.NewMetrics(st, time.Hour) // read again by the second run: the late metric
		held := snapshot.New(st, time.Hour)        // the experiments do not change meanwhile
		var wg sync.WaitGroup
		const workers = 6
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				clk := &simClock{t: base}
				wst := st.WithClock(clk.now)
				asg := assignment.New(held, wst)
				expo := exposure.New(assignment.New(held, wst), wst)
				evs := events.New(held, wst, clk.now).WithMetrics(live, wst)
				for u := from + w; u < to; u += workers {
					if err := simulateUnit(ctx, u, clk, asg, expo, evs, &mu, exposedWhen); err != nil {
						errs <- fmt.Errorf("unit %d: %w", u, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	began := time.Now()
	run(0, units/2)
	if _, err := mets.Create(ctx, "admin", lateMetric); err != nil {
		t.Fatal(err)
	}
	run(units/2, units)
	t.Logf("%d units sent in %v", units, time.Since(began))
	storetest.Drain(t, table)
	t.Logf("drained at %v", time.Since(began))

	raw := scanRaw(t, db, table)
	for k, exposed := range exposedWhen {
		id, exp, _ := strings.Cut(k, "@")
		ev := raw.events[id]
		if ev == nil {
			t.Fatalf("event %s not stored", id)
		}
		if got := slices.Contains(ev.Exposed, exp); got != exposed && slices.Contains(ev.Evaluated, exp) {
			t.Fatalf("event %s records exposed %v for %s, the unit was exposed: %v", id, ev.Exposed, exp, exposed)
		}
	}
	all := append(statsMetrics(), lateMetric)
	// The live values: the late metric counts only the events of the units
	// sent after it was created; every other metric counts everything.
	late := func(m metric.Metric, ev *experiment.Event) bool {
		return m.Key != lateMetric.Key || unitIndex(ev.ID) >= units/2
	}
	for _, key := range []string{"exp-a", "exp-b"} {
		want, _ := bruteForce(t, raw, key, all, late)
		got, err := st.ReadAggregates(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		compareSums(t, "live "+key, got, want, all)
	}

	// The recount rebuilds the same figures, the late metric's included.
	res := results.New(defs, st, time.Now)
	for _, key := range []string{"exp-a", "exp-b"} {
		for {
			rc, err := res.Recount(ctx, key, false)
			if err != nil {
				t.Fatalf("recount %s: %v", key, err)
			}
			if rc.Status == "done" {
				break
			}
		}
	}
	t.Logf("recounted at %v", time.Since(began))
	storetest.Drain(t, table)
	raw = scanRaw(t, db, table)
	for _, key := range []string{"exp-a", "exp-b"} {
		want, _ := bruteForce(t, raw, key, all, func(metric.Metric, *experiment.Event) bool { return true })
		got, err := st.ReadAggregates(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		compareSums(t, "recounted "+key, got, want, all)
		again, err := st.Recount(ctx, key, []string{"purchase"}, false)
		if err != nil {
			t.Fatal(err)
		}
		compareSums(t, "dry recount "+key, again, want, all)
		for {
			rc, err := res.Recount(ctx, key, true)
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status == "done" {
				if !rc.Matched || len(rc.After.Sums) == 0 {
					t.Errorf("a dry recount after the recount of %s: %+v", key, rc)
				}
				break
			}
		}
	}

	// Results read every metric from those sums, at a constant cost: the
	// definition, the metric definitions, the counters.
	counting := storetest.NewCounting(db)
	cst := store.New(counting, table)
	read := results.New(snapshot.New(cst, 0), cst, time.Now)
	prev, err := st.GetExperiment(ctx, "exp-a")
	if err != nil {
		t.Fatal(err)
	}
	next := *prev
	next.Version++
	next.Metrics.Secondary = append(next.Metrics.Secondary, lateMetric.Key)
	if err := st.SaveExperiment(ctx, &next, prev, store.Change{Version: next.Version, Action: "update", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	want, perUnit := bruteForce(t, raw, "exp-a", all, func(metric.Metric, *experiment.Event) bool { return true })
	for _, m := range all {
		counting.Reset()
		rep, err := read.Read(ctx, "exp-a", results.Query{Metric: m.Key})
		if err != nil {
			t.Fatalf("results of %s: %v", m.Key, err)
		}
		calls := 0
		for _, n := range counting.Calls() {
			calls += n
		}
		if calls != 3 {
			t.Errorf("results of %s cost %v", m.Key, counting.Calls())
		}
		for _, row := range rep.Variants {
			x, n := want.Sums[row.Variant][m.Key], want.Exposed[row.Variant]
			mean := x.X / float64(n)
			if m.Type == metric.Ratio {
				mean = x.X / x.Y
			}
			if row.N != n || row.Mean == nil || !near(*row.Mean, mean) {
				t.Errorf("results of %s: row %+v, brute force n %d mean %v", m.Key, row, n, mean)
			}
			if !row.IsControl && row.Absolute == nil {
				t.Errorf("results of %s: no comparison in %+v", m.Key, row)
			}
		}
		if m.Type == metric.Ratio {
			continue
		}
		// CUPED reads the covariate's sums at the same cost.
		counting.Reset()
		rep, err = read.Read(ctx, "exp-a", results.Query{Metric: m.Key, CUPED: true})
		if err != nil {
			t.Fatalf("CUPED results of %s: %v", m.Key, err)
		}
		calls = 0
		for _, n := range counting.Calls() {
			calls += n
		}
		if calls != 3 {
			t.Errorf("CUPED results of %s cost %v", m.Key, counting.Calls())
		}
		theta, adjusted := cupedByHand(perUnit[m.Key])
		if rep.CUPED == nil || !near(rep.CUPED.Theta, theta) || rep.CUPED.LookbackDays != experiment.DefaultLookbackDays {
			t.Fatalf("CUPED results of %s: %+v, theta by hand %v", m.Key, rep.CUPED, theta)
		}
		for _, row := range rep.Variants {
			if row.CUPED == nil || !near(row.CUPED.AdjustedMean, adjusted[row.Variant]) {
				t.Errorf("CUPED results of %s: row %s %+v, adjusted mean by hand %v", m.Key, row.Variant, row.CUPED, adjusted[row.Variant])
			}
		}
	}
}

// simulateUnit sends one unit's life through the use cases: events before
// assignment, assignment to exp-a (and to exp-b for some), events with
// timestamps out of order, exposures, events after exposure inside and
// beyond the windows, and duplicates.
func simulateUnit(ctx context.Context, u int, clk *simClock, asg *assignment.Service, expo *exposure.Service,
	evs *events.Service, mu *sync.Mutex, exposedWhen map[string]bool) error {
	r := rand.New(rand.NewPCG(uint64(u), 17))
	who := experiment.Identity{UserID: fmt.Sprintf("user-%05d", u)}
	clk.t = time.Now().UTC().Add(-20*24*time.Hour + time.Duration(u)*time.Second)
	var sent []events.Input
	exposed := map[string]bool{}
	n := 0
	send := func(name string, ago time.Duration) error {
		n++
		id := fmt.Sprintf("%s-e%d", who.UserID, n)
		in := events.Input{Name: name, ID: &id, Timestamp: clk.stamp(ago)}
		if name == "purchase" {
			amount := math.Round(r.Float64()*8000) / 100 // up to 80.00, past the cap of 50 at times
			in.Properties = json.RawMessage(fmt.Sprintf(`{"amount":%g,"items":%d}`, amount, 1+r.IntN(4)))
			if r.IntN(10) == 0 {
				in.Properties = json.RawMessage(`{"amount":"free"}`) // not a number: adds to no sum
			}
		}
		b, err := evs.Record(ctx, who, []events.Input{in})
		if err != nil {
			return err
		}
		if b.Accepted != 1 {
			return fmt.Errorf("event %s not accepted: %+v", id, b)
		}
		mu.Lock()
		for _, key := range []string{"exp-a", "exp-b"} {
			exposedWhen[id+"@"+key] = exposed[key]
		}
		mu.Unlock()
		sent = append(sent, in)
		return nil
	}
	randomEvent := func(maxAgo time.Duration) error {
		name := "click"
		if r.IntN(3) == 0 {
			name = "purchase"
		}
		return send(name, time.Duration(r.Int64N(int64(maxAgo)+1)))
	}
	for range r.IntN(3) { // before assignment: never counted
		if err := randomEvent(time.Hour); err != nil {
			return err
		}
	}
	for range r.IntN(6) { // the unit's history: the covariate's, inside and beyond the windows
		if err := randomEvent(18 * 24 * time.Hour); err != nil {
			return err
		}
	}
	clk.at(time.Hour)
	keys := []string{"exp-a"}
	if r.IntN(2) == 0 {
		keys = append(keys, "exp-b")
	}
	for _, key := range keys {
		if _, err := asg.Assign(ctx, key, assignment.Request{Identity: who, Enroll: true}); err != nil {
			return err
		}
	}
	for range r.IntN(4) { // after assignment, before exposure; some stamped before assignment
		clk.at(time.Duration(r.Int64N(int64(3 * time.Hour))))
		if err := randomEvent(4 * time.Hour); err != nil {
			return err
		}
	}
	for _, key := range keys {
		if r.IntN(10) < 7 {
			clk.at(time.Duration(r.Int64N(int64(time.Hour))))
			if _, _, err := expo.Expose(ctx, who, key, "", ""); err != nil {
				return err
			}
			exposed[key] = true
		}
	}
	for range r.IntN(6) { // after exposure, inside and beyond the windows, stamped up to 3 h early
		clk.at(time.Duration(r.Int64N(int64(10 * time.Hour))))
		if err := randomEvent(3 * time.Hour); err != nil {
			return err
		}
	}
	if r.IntN(4) == 0 { // history arriving late, after the exposure: not in the covariate
		if err := randomEvent(6 * 24 * time.Hour); err != nil {
			return err
		}
	}
	for range r.IntN(3) { // duplicates: stored once, counted once
		if len(sent) == 0 {
			break
		}
		again := sent[r.IntN(len(sent))]
		if _, err := evs.Record(ctx, who, []events.Input{again}); err != nil {
			return err
		}
	}
	return nil
}

// rawItems are the table's assignments and users' events, read whole.
type rawItems struct {
	assignments map[string][]*experiment.Assignment // by experiment
	events      map[string]*experiment.Event        // by id
	byUnit      map[string][]*experiment.Event      // by user id
}

// unitIndex is the number of the simulated unit an event id belongs to.
func unitIndex(id string) int {
	var u int
	_, _ = fmt.Sscanf(id, "user-%05d-", &u)
	return u
}

// bruteForce recomputes an experiment's sums from the raw items, by the
// documented rules written out again here (not through metric.Metric):
// an event counts for an assignment when its experiment is among the
// event's evaluated ones and it happened and arrived at or after
// assignment; with a window, only when it was recorded with the unit
// exposed and stamped in [first exposure, first exposure + window).
// Values are capped per unit (each side of a ratio); binomial values are
// 1 for a unit with a counted event. Only exposed units count. It also
// checks each assignment's stored values against the same recomputation.
func bruteForce(t *testing.T, raw rawItems, key string, ms []metric.Metric, include func(metric.Metric, *experiment.Event) bool) (experiment.Aggregates, map[string][]unitValue) {
	t.Helper()
	g := experiment.NewAggregates()
	units := map[string][]unitValue{}
	for _, a := range raw.assignments[key] {
		values := map[string]experiment.Value{}
		for _, m := range ms {
			var v experiment.Value
			for _, ev := range raw.byUnit[a.Unit.ID] {
				if !include(m, ev) || !slices.Contains(ev.Evaluated, key) || ev.Timestamp.Before(a.AssignedAt) || ev.ReceivedAt.Before(a.AssignedAt) {
					continue
				}
				if w := time.Duration(m.WindowHours) * time.Hour; w > 0 &&
					(!slices.Contains(ev.Exposed, key) || a.FirstExposedAt.IsZero() || ev.Timestamp.Before(a.FirstExposedAt) || !ev.Timestamp.Before(a.FirstExposedAt.Add(w))) {
					continue
				}
				switch m.Type {
				case metric.Ratio:
					v.X += side(m.Numerator, ev)
					v.Y += side(m.Denominator, ev)
				default:
					v.X += side(&metric.Component{Type: m.Type, Event: m.Event, Property: m.Property}, ev)
				}
			}
			v.Pre = preOf(raw.byUnit[a.Unit.ID], a, m, lookbackOf(key), include)
			if v != (experiment.Value{}) {
				values[m.Key] = v
			}
			stored := a.Values[m.Key]
			if !near(stored.X, v.X) || !near(stored.Y, v.Y) || !near(stored.Pre, v.Pre) {
				t.Errorf("%s: unit %s holds %+v of %s, its events give %+v", key, a.Unit.ID, stored, m.Key, v)
			}
			if a.FirstExposedAt.IsZero() {
				continue
			}
			x, y, pre := v.X, v.Y, v.Pre
			switch {
			case m.Type == metric.Binomial:
				x, pre = 0, 0
				if v.X > 0 {
					x = 1
				}
				if v.Pre > 0 {
					pre = 1
				}
			case m.Cap > 0:
				x, y, pre = math.Min(x, m.Cap), math.Min(y, m.Cap), math.Min(pre, m.Cap)
			}
			g.AddSums(a.Variant, m.Key, experiment.Sums{X: x, XX: x * x, Y: y, YY: y * y, XY: x * y, P: pre, PP: pre * pre, XP: x * pre})
			units[m.Key] = append(units[m.Key], unitValue{variant: a.Variant, x: x, pre: pre})
		}
		if !a.FirstExposedAt.IsZero() {
			g.Exposed[a.Variant]++
		}
		g.Assigned[a.Variant]++
	}
	return g, units
}

// unitValue is one exposed unit's statistic of a metric and its covariate.
type unitValue struct {
	variant string
	x, pre  float64
}

// cupedByHand is the CUPED reading of units computed the long way (two
// passes over the units, no sums): θ = cov(x, pre)/var(pre) pooled over
// every variant, and each variant's adjusted mean x̄ - θ·(p̄re - p̄re_all).
// GrowthBook and PostHog centre the covariate alike; a difference of the
// adjusted means between variants is what the results compare.
func cupedByHand(units []unitValue) (theta float64, adjusted map[string]float64) {
	var mx, mp float64
	for _, u := range units {
		mx += u.x
		mp += u.pre
	}
	n := float64(len(units))
	mx, mp = mx/n, mp/n
	var cov, varPre float64
	for _, u := range units {
		cov += (u.x - mx) * (u.pre - mp)
		varPre += (u.pre - mp) * (u.pre - mp)
	}
	if varPre > 0 {
		theta = cov / varPre
	}
	sumX, sumP, count := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, u := range units {
		sumX[u.variant] += u.x
		sumP[u.variant] += u.pre
		count[u.variant]++
	}
	adjusted = map[string]float64{}
	for v, c := range count {
		adjusted[v] = sumX[v]/c - theta*(sumP[v]/c-mp)
	}
	return theta, adjusted
}

// preOf is a unit's CUPED covariate of metric m, by the documented rule
// written out again: the raw value of its events stored before its first
// exposure and stamped on one of the lookback whole UTC days before the
// day of that exposure, whatever its assignments; none for ratio metrics,
// metrics the experiment does not name or a unit never exposed.
func preOf(evs []*experiment.Event, a *experiment.Assignment, m metric.Metric, lookback int, include func(metric.Metric, *experiment.Event) bool) float64 {
	if m.Type == metric.Ratio || a.FirstExposedAt.IsZero() || m.Key == lateMetric.Key {
		return 0 // the experiments do not name the late metric
	}
	exposedDay := a.FirstExposedAt.UTC().Truncate(24 * time.Hour)
	first := exposedDay.AddDate(0, 0, -lookback)
	var pre float64
	for _, ev := range evs {
		day := ev.Timestamp.UTC().Truncate(24 * time.Hour)
		if !include(m, ev) || !ev.ReceivedAt.Before(a.FirstExposedAt) || day.Before(first) || !day.Before(exposedDay) {
			continue
		}
		pre += side(&metric.Component{Type: m.Type, Event: m.Event, Property: m.Property}, ev)
	}
	return pre
}

// side is what one event adds to a count or a sum (binomial: a count).
func side(c *metric.Component, ev *experiment.Event) float64 {
	if c.Event != ev.Name {
		return 0
	}
	if c.Type != metric.Sum {
		return 1
	}
	var props map[string]any
	_ = json.Unmarshal(ev.Properties, &props)
	f, _ := props[c.Property].(float64)
	return f
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// compareSums fails unless got holds want's exposed counts and every
// metric's sums.
func compareSums(t *testing.T, what string, got, want experiment.Aggregates, ms []metric.Metric) {
	t.Helper()
	checked, covariates := 0, 0
	for v, n := range want.Exposed {
		if got.Exposed[v] != n {
			t.Errorf("%s: variant %s exposed %d, brute force %d", what, v, got.Exposed[v], n)
		}
		for _, m := range ms {
			g, w := got.Sums[v][m.Key], want.Sums[v][m.Key]
			for _, f := range [][2]float64{{g.X, w.X}, {g.XX, w.XX}, {g.Y, w.Y}, {g.YY, w.YY}, {g.XY, w.XY}, {g.P, w.P}, {g.PP, w.PP}, {g.XP, w.XP}} {
				if !near(f[0], f[1]) {
					t.Errorf("%s: variant %s metric %s sums %+v, brute force %+v", what, v, m.Key, g, w)
					break
				}
			}
			if w.X != 0 {
				checked++
			}
			if w.XP != 0 {
				covariates++
			}
		}
	}
	if checked < len(ms) || covariates < len(ms)/2 {
		t.Errorf("%s: only %d variant × metric sums (%d covariates) were non-zero: the test checks too little", what, checked, covariates)
	}
}

func scanRaw(t *testing.T, db *dynamodb.Client, table string) rawItems {
	t.Helper()
	out := rawItems{assignments: map[string][]*experiment.Assignment{}, events: map[string]*experiment.Event{}, byUnit: map[string][]*experiment.Event{}}
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}
	for {
		page, err := db.Scan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if a, ok := store.DecodeAssignment(it); ok {
				out.assignments[a.Experiment] = append(out.assignments[a.Experiment], a)
				continue
			}
			pk, sk := str(it, store.AttrPK), str(it, store.AttrSK)
			if !strings.HasPrefix(sk, "EVT#") || !strings.HasPrefix(pk, "USER#") {
				continue
			}
			ev := &experiment.Event{ID: str(it, "id"), Name: str(it, "name"), Timestamp: tm(it, "timestamp"), ReceivedAt: tm(it, "received_at"),
				Evaluated: ss(it, "evaluated"), Exposed: ss(it, "exposed"), Properties: json.RawMessage(str(it, "properties"))}
			out.events[ev.ID] = ev
			user := strings.TrimPrefix(pk, "USER#")
			out.byUnit[user] = append(out.byUnit[user], ev)
		}
		if page.LastEvaluatedKey == nil {
			return out
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func str(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func ss(it map[string]types.AttributeValue, name string) []string {
	if v, ok := it[name].(*types.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}

func tm(it map[string]types.AttributeValue, name string) time.Time {
	v, _ := time.Parse(time.RFC3339Nano, str(it, name))
	return v
}
