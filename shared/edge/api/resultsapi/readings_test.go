package resultsapi_test

import (
	"context"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

// threeArms: a control and two treatments at weights 1:2:3, one clearly
// better, one about equal; large enough that t and normal agree to 1e-4.
func threeArms() (*experiment.Experiment, experiment.Aggregates) {
	e := exp(experiment.Active, "control", "better", "same")
	g := aggOf(map[string]counts{"control": {10000, 10000, 1000}, "better": {20100, 20100, 2400}, "same": {29800, 29800, 3010}})
	g.Marked = map[string]int64{"purchase": 6410}
	return e, g
}

// normalCDF is Φ, written out plainly as an independent reference.
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestReadingsFrequentist(t *testing.T) {
	e, g := threeArms()
	r, err := results.ComputeQuery(e, g, results.Query{Event: "purchase"}, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "frequentist" || r.Correction != "holm" || r.Alpha != 0.05 || r.Warning != "" {
		t.Fatalf("header %+v", r)
	}
	// SRM: χ² against 1:2:3 by hand, 2 df, whose survival is exp(-χ²/2).
	n := []float64{10000, 20100, 29800}
	total := n[0] + n[1] + n[2]
	chi := 0.0
	for i, w := range []float64{1, 2, 3} {
		e := w / 6 * total
		chi += (n[i] - e) * (n[i] - e) / e
	}
	if !near(r.SRM.PValue, math.Exp(-chi/2), 1e-9) || r.SRM.Warning != (math.Exp(-chi/2) < 0.001) {
		t.Fatalf("srm %+v, want p %v", r.SRM, math.Exp(-chi/2))
	}
	ctl := r.Variants[0]
	if ctl.N != 10000 || *ctl.Mean != 0.1 || !near(*ctl.StdDev, math.Sqrt(0.09), 1e-12) || ctl.Absolute != nil || ctl.AdjustedPValue != nil || ctl.Significant != nil {
		t.Fatalf("control %+v", ctl)
	}
	var raw []float64
	for i, row := range r.Variants[1:] {
		p1, p2 := 0.1, float64(row.ConvertedCount)/float64(row.ExposedCount)
		se := math.Sqrt(p1*(1-p1)/n[0] + p2*(1-p2)/n[i+1])
		if !near(row.Absolute.Estimate, p2-p1, 1e-12) || !near(row.Absolute.CI[1]-row.Absolute.Estimate, 1.959964*se, 1e-4) ||
			!near(row.Absolute.Estimate-row.Absolute.CI[0], 1.959964*se, 1e-4) {
			t.Errorf("%s absolute %+v, want %v ± %v", row.Variant, row.Absolute, p2-p1, 1.959964*se)
		}
		// Delta-method lift: se_L² = v_b/(n_b·p1²) + v_a·p2²/(n_a·p1⁴).
		seL := math.Sqrt(p2*(1-p2)/(n[i+1]*p1*p1) + p1*(1-p1)*p2*p2/(n[0]*p1*p1*p1*p1))
		if !near(row.Relative.Estimate, (p2-p1)/p1, 1e-12) || !near(row.Relative.CI[1]-row.Relative.Estimate, 1.959964*seL, 1e-4) {
			t.Errorf("%s relative %+v, want %v ± %v", row.Variant, row.Relative, (p2-p1)/p1, 1.959964*seL)
		}
		_, p := refZTest(1000, 10000, row.ConvertedCount, row.ExposedCount)
		if !close12(*row.PValue, p) {
			t.Errorf("%s p %v, want the pooled z-test's %v", row.Variant, *row.PValue, p)
		}
		raw = append(raw, p)
		if row.ChanceToBeatControl != nil || row.Risk != nil {
			t.Errorf("%s has Bayesian fields", row.Variant)
		}
	}
	// Holm over two p-values by hand.
	lo, hi := min(raw[0], raw[1]), max(raw[0], raw[1])
	adjLo := math.Min(1, 2*lo)
	adjHi := math.Max(adjLo, hi)
	want := map[float64]float64{lo: adjLo, hi: adjHi}
	for i, row := range r.Variants[1:] {
		if !close12(*row.AdjustedPValue, want[raw[i]]) || *row.Significant != (want[raw[i]] < 0.05) {
			t.Errorf("%s adjusted %v significant %v, want %v", row.Variant, *row.AdjustedPValue, *row.Significant, want[raw[i]])
		}
	}
	if !*r.Variants[1].Significant || *r.Variants[2].Significant {
		t.Fatalf("better significant %v, same significant %v", *r.Variants[1].Significant, *r.Variants[2].Significant)
	}

	t.Run("bh and none", func(t *testing.T) {
		bh, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase", Correction: "bh"}, generatedAt)
		none, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase", Correction: "none", Alpha: 0.01}, generatedAt)
		wantBH := map[float64]float64{hi: hi, lo: math.Min(hi, 2*lo)}
		for i := 1; i < 3; i++ {
			if !close12(*bh.Variants[i].AdjustedPValue, wantBH[raw[i-1]]) {
				t.Errorf("bh %v, want %v", *bh.Variants[i].AdjustedPValue, wantBH[raw[i-1]])
			}
			if !close12(*none.Variants[i].AdjustedPValue, raw[i-1]) || *none.Variants[i].Significant != (raw[i-1] < 0.01) {
				t.Errorf("none %v, want %v", *none.Variants[i].AdjustedPValue, raw[i-1])
			}
		}
		if none.Alpha != 0.01 || none.Correction != "none" || bh.Correction != "bh" {
			t.Fatalf("headers %+v %+v", none, bh)
		}
	})
}

func TestReadingsSequentialAndBayesian(t *testing.T) {
	e, g := threeArms()
	fixed, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase"}, generatedAt)
	seq, err := results.ComputeQuery(e, g, results.Query{Event: "purchase", Method: "sequential"}, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		f, s := fixed.Variants[i], seq.Variants[i]
		// Always-valid intervals are wider than fixed-horizon ones, and the
		// sequential p-value is below alpha exactly when 0 is excluded.
		if !(s.Absolute.CI[0] < f.Absolute.CI[0] && s.Absolute.CI[1] > f.Absolute.CI[1]) || s.Absolute.Estimate != f.Absolute.Estimate {
			t.Errorf("%s sequential %+v not wider than %+v", s.Variant, s.Absolute, f.Absolute)
		}
		excludes := s.Absolute.CI[0] > 0 || s.Absolute.CI[1] < 0
		if (*s.PValue < 0.05) != excludes || *s.ZScore != *f.ZScore {
			t.Errorf("%s sequential p %v, interval %v", s.Variant, *s.PValue, s.Absolute.CI)
		}
	}
	bay, err := results.ComputeQuery(e, g, results.Query{Event: "purchase", Method: "bayesian"}, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		row := bay.Variants[i]
		p1, p2 := 0.1, float64(row.ConvertedCount)/float64(row.ExposedCount)
		nb := float64(row.ExposedCount)
		seL := math.Sqrt(p2*(1-p2)/(nb*p1*p1) + p1*(1-p1)*p2*p2/(10000*p1*p1*p1*p1))
		lift := (p2 - p1) / p1
		// Flat prior: the posterior of the lift is N(lift, seL²).
		chance := normalCDF(lift / seL)
		risk := seL*math.Exp(-lift*lift/(2*seL*seL))/math.Sqrt(2*math.Pi) - lift*normalCDF(-lift/seL)
		if row.PValue != nil || row.AdjustedPValue != nil || !near(*row.ChanceToBeatControl, chance, 1e-9) || !near(*row.Risk, risk, 1e-9) {
			t.Errorf("%s bayesian %+v, want chance %v risk %v", row.Variant, row, chance, risk)
		}
		if *row.Significant != (chance >= 0.95 || chance <= 0.05) {
			t.Errorf("%s significant %v at chance %v", row.Variant, *row.Significant, chance)
		}
	}
}

func TestReadingsUndefined(t *testing.T) {
	// The control never converted: the pooled z-test is defined, the
	// comparison of means is not (the control has no variance).
	e := exp(experiment.Active, "control", "treatment")
	g := aggOf(map[string]counts{"control": {9, 7, 0}, "treatment": {9, 8, 3}})
	r, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase"}, generatedAt)
	tr := r.Variants[1]
	if tr.PValue == nil || tr.AdjustedPValue == nil || tr.Absolute != nil || tr.Undefined != "zero_variance" {
		t.Fatalf("frequentist %+v", tr)
	}
	s, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase", Method: "sequential"}, generatedAt)
	if tr := s.Variants[1]; tr.PValue != nil || tr.AdjustedPValue != nil || tr.Significant != nil || tr.Undefined != "zero_variance" {
		t.Fatalf("sequential %+v", tr)
	}
}

func TestReadingsOptions(t *testing.T) {
	f := newFlow(t)
	for _, tc := range []struct {
		query map[string]string
		code  string
	}{
		{map[string]string{"event": "purchase", "method": "bayes"}, results.CodeInvalidMethod},
		{map[string]string{"event": "purchase", "correction": "bonferroni"}, results.CodeInvalidCorrection},
		{map[string]string{"event": "purchase", "alpha": "x"}, results.CodeInvalidAlpha},
		{map[string]string{"event": "purchase", "alpha": "0"}, results.CodeInvalidAlpha},
		{map[string]string{"event": "purchase", "alpha": "0.5"}, results.CodeInvalidAlpha},
		{map[string]string{"event": "purchase", "alpha": "-0.1"}, results.CodeInvalidAlpha},
		{map[string]string{"event": "purchase", "alpha": "NaN"}, results.CodeInvalidAlpha},
	} {
		httpapitest.ExpectError(t, f.call(t, routes.AdminResults, "checkout", tc.query), http.StatusBadRequest, tc.code)
	}
	for _, tc := range []struct {
		event, warning string
	}{
		{"purchase", ""},
		{"signup", ""},
		{"never-sent", "no events named never-sent were ever received"},
	} {
		var r results.Report
		resp := f.call(t, routes.AdminResults, "checkout", map[string]string{"event": tc.event, "method": "bayesian", "alpha": "0.1"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.event, resp.StatusCode, resp.Body)
		}
		httpapitest.Decode(t, resp, &r)
		if (tc.warning == "") != (r.Warning == "") || !strings.Contains(r.Warning, tc.warning) {
			t.Errorf("%s: warning %q, want %q", tc.event, r.Warning, tc.warning)
		}
		// 2 exposed in each arm against weights 1:3.
		chi := (2-1.0)*(2-1.0)/1 + (2-3.0)*(2-3.0)/3
		if r.Method != "bayesian" || r.Alpha != 0.1 || !near(r.SRM.PValue, math.Erfc(math.Sqrt(chi/2)), 1e-12) || r.SRM.Warning {
			t.Errorf("%s: %+v", tc.event, r)
		}
	}
}

// TestResultsCost: a results call reads the definition and the counters,
// the same number of DynamoDB calls at 6 units as at 206.
func TestResultsCost(t *testing.T) {
	f := newFlow(t)
	counting := storetest.NewCounting(f.db)
	st := store.New(counting, f.table)
	h := resultsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: func() time.Time { return generatedAt }})
	cost := func() map[string]int {
		counting.Reset()
		req := httpapitest.AdminRequest(routes.AdminResults, "checkout", "")
		req.QueryStringParameters = map[string]string{"event": "purchase", "method": "sequential"}
		resp, err := h(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
		}
		return counting.Calls()
	}
	small := cost()
	ctx := context.Background()
	for i := range 200 {
		a, _, err := f.st.CreateAssignment(ctx, "checkout", experiment.UserUnit("more"+string(rune('a'+i%26))+strings.Repeat("x", i/26)), []string{"control", "treatment"}[i%2])
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.st.RecordExposure(ctx, a, a.Variant, ""); err != nil {
			t.Fatal(err)
		}
	}
	storetest.Drain(t, f.table)
	large := cost()
	total := 0
	for _, n := range small {
		total += n
	}
	if total == 0 || total > 2 || len(small) != len(large) {
		t.Fatalf("calls at 6 units %v, at 206 %v", small, large)
	}
	for op, n := range small {
		if large[op] != n {
			t.Fatalf("calls at 6 units %v, at 206 %v", small, large)
		}
	}
}

// refSampleSize is the normal-approximation sample size per variant for a
// binomial metric, written out plainly (statsmodels' NormalIndPower without
// its wrong-tail term), with z quantiles for alpha 0.05 and power 0.8.
func refSampleSize(p, mde float64) int64 {
	const z = 1.959963984540054 + 0.8416212335729143
	p2 := p * (1 + mde)
	d := p2 - p
	return int64(math.Ceil(z * z * (p*(1-p) + p2*(1-p2)) / (d * d)))
}

func TestResultsSampleSizeReached(t *testing.T) {
	e, g := threeArms()
	for _, tc := range []struct {
		mde     float64
		reached bool
	}{{0.5, true}, {0, false}, {0.05, false}} {
		r, err := results.ComputeQuery(e, g, results.Query{Event: "purchase", MDE: tc.mde}, generatedAt)
		if err != nil {
			t.Fatal(err)
		}
		mde := tc.mde
		if mde == 0 {
			mde = results.DefaultMDE
		}
		if r.MDE != mde || r.SampleSizePerVariant == nil || *r.SampleSizePerVariant != refSampleSize(0.1, mde) || r.SampleSizeReached != tc.reached {
			t.Errorf("mde %v: %v %v %v, want size %d reached %v", tc.mde, r.MDE, *r.SampleSizePerVariant, r.SampleSizeReached, refSampleSize(0.1, mde), tc.reached)
		}
	}
	if _, err := results.ComputeQuery(e, g, results.Query{Event: "purchase", MDE: -1}, generatedAt); !strings.Contains(err.Error(), "mde") {
		t.Fatalf("negative mde: %v", err)
	}
}

func TestPlan(t *testing.T) {
	f := newFlow(t)
	// The flow's experiment was created active at t0-1h with no recorded
	// start, so traffic is measured from its creation.
	created := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	days := generatedAt.Sub(created).Hours() / 24
	var p results.Plan
	resp := f.call(t, routes.AdminPlan, "checkout", map[string]string{"event": "purchase", "mde": "0.1"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	httpapitest.Decode(t, resp, &p)
	want := refSampleSize(0.5, 0.1) // the control converted 1 of 2
	if p.Experiment != "checkout" || p.MDE != 0.1 || p.Alpha != 0.05 || p.Power != 0.8 || *p.BaselineMean != 0.5 ||
		*p.SampleSizePerVariant != want || p.SampleSizeReached || *p.StartedAt != created.Format(time.RFC3339Nano) {
		t.Fatalf("plan %s, want size %d", resp.Body, want)
	}
	if len(p.Variants) != 2 {
		t.Fatalf("variants %+v", p.Variants)
	}
	for _, v := range p.Variants {
		rate := 2 / days // two exposed units in each arm
		if v.ExposedCount != 2 || !near(*v.ExposuresPerDay, rate, 1e-12) || !near(*v.ExpectedDaysRemaining, float64(want-2)/rate, 1e-12) {
			t.Errorf("%+v, want rate %v and %v days", v, rate, float64(want-2)/rate)
		}
	}
	if !near(*p.ExpectedDaysRemaining, float64(want-2)/(2/days), 1e-12) {
		t.Fatalf("days %v", *p.ExpectedDaysRemaining)
	}

	// The results of the same event carry the flag against the same size.
	var r results.Report
	httpapitest.Decode(t, f.call(t, routes.AdminResults, "checkout", map[string]string{"event": "purchase", "mde": "0.1"}), &r)
	if *r.SampleSizePerVariant != want || r.SampleSizeReached {
		t.Fatalf("results size %v reached %v", *r.SampleSizePerVariant, r.SampleSizeReached)
	}

	// No control conversions: nothing to plan from, and it says so.
	httpapitest.Decode(t, f.call(t, routes.AdminPlan, "checkout", map[string]string{"event": "never-sent"}), &p)
	if p.SampleSizePerVariant != nil || p.ExpectedDaysRemaining != nil || p.Warning == "" || p.MDE != results.DefaultMDE {
		t.Fatalf("plan of an event never sent %+v", p)
	}
	for _, tc := range []struct {
		query map[string]string
		code  string
	}{
		{map[string]string{"event": "purchase", "mde": "0"}, results.CodeInvalidMDE},
		{map[string]string{"event": "purchase", "mde": "11"}, results.CodeInvalidMDE},
		{map[string]string{"event": "purchase", "mde": "Inf"}, results.CodeInvalidMDE},
		{map[string]string{"event": "purchase", "alpha": "0.7"}, results.CodeInvalidAlpha},
		{map[string]string{"event": "signup-x"}, results.CodeEventNotDeclared},
		{map[string]string{}, results.CodeEventRequired},
		{map[string]string{"event": "purchase", "method": "magic"}, fault.CodeValidationFailed},
		{map[string]string{"event": "purchase", "correction": "bh"}, fault.CodeValidationFailed},
	} {
		httpapitest.ExpectError(t, f.call(t, routes.AdminPlan, "checkout", tc.query), http.StatusBadRequest, tc.code)
	}
	httpapitest.ExpectError(t, f.call(t, routes.AdminPlan, "nope", map[string]string{"event": "purchase"}), http.StatusNotFound, experiment.CodeNotFound)
}

// TestResultsOfMetric: ?metric= reads a binomial metric the experiment
// names from the same counters as ?event=, and guardrails flag variants.
func TestResultsOfMetric(t *testing.T) {
	f := newFlow(t)
	ctx := context.Background()
	for _, m := range []*metric.Metric{
		{Key: "buy", Name: "Buy", Type: metric.Binomial, Event: "purchase"},
		{Key: "signups", Name: "Sign-ups", Type: metric.Binomial, Event: "signup", Direction: metric.Decrease},
		{Key: "rev", Name: "Revenue", Type: metric.Sum, Event: "purchase", Property: "cents"},
		{Key: "late", Name: "Late", Type: metric.Binomial, Event: "purchase", WindowHours: 24},
		{Key: "other", Name: "Other", Type: metric.Binomial, Event: "purchase"},
	} {
		m.Status, m.Version = metric.Live, 1
		if m.Direction == "" {
			m.Direction = metric.Increase
		}
		if err := f.st.CreateMetric(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	prev, err := f.st.GetExperiment(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	next := *prev
	next.Version++
	next.Metrics = experiment.MetricRefs{Primary: "buy", Secondary: []string{"late"}, Guardrails: []string{"signups", "rev"}}
	if err := f.st.SaveExperiment(ctx, &next, prev, store.Change{Version: next.Version, Action: "update", At: generatedAt}); err != nil {
		t.Fatal(err)
	}
	read := func(query map[string]string) results.Report { t.Helper(); return f.report(t, query) }
	byEvent, byMetric := read(map[string]string{"event": "purchase"}), read(map[string]string{"metric": "buy"})
	if byMetric.Metric != "buy" || byMetric.Event != "purchase" || byEvent.Metric != "" {
		t.Fatalf("headers %+v %+v", byMetric, byEvent)
	}
	for i := range byEvent.Variants {
		a, b := byEvent.Variants[i], byMetric.Variants[i]
		if a.ConvertedCount != b.ConvertedCount || a.ExposedCount != b.ExposedCount || (i > 0 && *a.ZScore != *b.ZScore) {
			t.Fatalf("row %d by event %+v, by metric %+v", i, a, b)
		}
	}
	if !reflect.DeepEqual(byMetric.Guardrails, []string{"signups", "rev"}) || len(byMetric.GuardrailsUnchecked) != 0 ||
		byMetric.Variants[0].GuardrailBreached != nil || *byMetric.Variants[1].GuardrailBreached {
		t.Fatalf("guardrails %v unchecked %v rows %+v", byMetric.Guardrails, byMetric.GuardrailsUnchecked, byMetric.Variants)
	}
	for _, tc := range []struct {
		query map[string]string
		code  string
	}{
		{map[string]string{"metric": "other"}, results.CodeMetricNotNamed},
		{map[string]string{"metric": "buy", "event": "purchase"}, results.CodeEventOrMetric},
		{map[string]string{"metric": "Bad"}, fault.CodeInvalidKey},
	} {
		httpapitest.ExpectError(t, f.call(t, routes.AdminResults, "checkout", tc.query), http.StatusBadRequest, tc.code)
	}
	// A windowed metric and a sum are read from their own sums: created
	// after these events arrived, they hold nothing yet, and say so.
	for _, key := range []string{"late", "rev"} {
		r := read(map[string]string{"metric": key})
		if r.Metric != key || r.Event != "purchase" || !strings.Contains(r.Warning, "no value yet") || r.Variants[0].N != byMetric.Variants[0].N {
			t.Fatalf("metric %s read %+v", key, r)
		}
	}
	var p results.Plan
	httpapitest.Decode(t, f.call(t, routes.AdminPlan, "checkout", map[string]string{"metric": "buy", "mde": "0.1"}), &p)
	if p.Metric != "buy" || p.Event != "purchase" || *p.SampleSizePerVariant != refSampleSize(0.5, 0.1) {
		t.Fatalf("plan %+v", p)
	}

	// Many more sign-ups in the treatment: a breach of a decrease-is-good
	// guardrail, by every method.
	f.addCounters(t, map[string]int{"x:control": 10000, "c:control:signup": 1000, "x:treatment": 10000, "c:treatment:signup": 1400})
	for _, method := range []string{"frequentist", "sequential", "bayesian"} {
		r := read(map[string]string{"metric": "buy", "method": method})
		if !*r.Variants[1].GuardrailBreached || r.StoppedByGuardrail || r.Status != experiment.Active {
			t.Errorf("%s: no breach, or stopped without opting in: %+v", method, r)
		}
	}

	// Opted in to the circuit breaker: the next read pauses it, audited.
	prev, err = f.st.GetExperiment(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	next = *prev
	next.Version++
	next.StopOnGuardrail = true
	if err := f.st.SaveExperiment(ctx, &next, prev, store.Change{Version: next.Version, Action: "update", At: generatedAt}); err != nil {
		t.Fatal(err)
	}
	r := read(map[string]string{"event": "purchase", "method": "bayesian", "alpha": "0.001"})
	if !r.StoppedByGuardrail || r.Status != experiment.Paused || !strings.Contains(r.Warning, "treatment") {
		t.Fatalf("breaker did not trip: %+v", r)
	}
	stored, err := f.st.GetExperiment(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.st.History(ctx, "checkout", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != experiment.Paused || h.Items[0].Action != "pause" || h.Items[0].By != "guardrail" ||
		!strings.Contains(string(h.Items[0].Details), `"reason":"guardrail_breached"`) || !strings.Contains(string(h.Items[0].Details), `"variants":["treatment"]`) {
		t.Fatalf("stored %s, audit %+v %s", stored.Status, h.Items[0], h.Items[0].Details)
	}
	if again := read(map[string]string{"event": "purchase"}); again.StoppedByGuardrail || again.Status != experiment.Paused {
		t.Fatalf("a paused experiment was stopped again: %+v", again)
	}
}

// TestReadingsWithAnalysisSettings: an experiment's sequential tuning and
// Bayesian prior reach the readings, checked against the formulas of
// docs/statistics.md written out by hand (gbstats' SequentialTwoSidedTTest
// and EffectBayesianABTest with a proper GaussianPrior).
func TestReadingsWithAnalysisSettings(t *testing.T) {
	// se is read off the fixed-horizon interval (Welch's t, which agrees
	// with the normal to 1e-4 at these sizes).
	e, g := threeArms()
	fixed, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase"}, generatedAt)
	plain, _ := results.ComputeQuery(e, g, results.Query{Event: "purchase", Method: "sequential"}, generatedAt)
	const tau, alpha, z = 20000.0, 0.05, 1.959963984540054
	e.Analysis = experiment.Analysis{SequentialTuning: tau, Prior: &experiment.Prior{Mean: 0, StdDev: 0.05}}
	seq, err := results.ComputeQuery(e, g, results.Query{Event: "purchase", Method: "sequential"}, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	rho2 := (-2*math.Log(alpha) + math.Log(-2*math.Log(alpha)+1)) / tau
	for i := 1; i < 3; i++ {
		f := fixed.Variants[i]
		se := (f.Relative.CI[1] - f.Relative.Estimate) / z
		n := float64(fixed.Variants[0].ExposedCount + f.ExposedCount)
		half := se * math.Sqrt(2*(n*rho2+1)/(n*rho2)*math.Log(math.Sqrt(n*rho2+1)/alpha))
		got := seq.Variants[i].Relative
		if !near(got.CI[1]-got.Estimate, half, 2e-4) || !near(got.Estimate-got.CI[0], half, 2e-4) {
			t.Errorf("%s tuned sequential half-width %v, want %v", f.Variant, got.CI[1]-got.Estimate, half)
		}
		if p := plain.Variants[i].Relative; near(p.CI[1]-p.Estimate, half, 2e-4) {
			t.Errorf("%s: the tuning changed nothing", f.Variant)
		}
	}
	bay, err := results.ComputeQuery(e, g, results.Query{Event: "purchase", Method: "bayesian"}, generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		f := fixed.Variants[i]
		se := (f.Relative.CI[1] - f.Relative.Estimate) / z
		prec := 1/(se*se) + 1/(0.05*0.05)
		mean, sd := (f.Relative.Estimate/(se*se))/prec, 1/math.Sqrt(prec)
		row := bay.Variants[i]
		if !near(row.Relative.Estimate, mean, 2e-4) || !near(*row.ChanceToBeatControl, normalCDF(mean/sd), 2e-4) {
			t.Errorf("%s with prior N(0, 0.05²): lift %v chance %v, want %v %v", row.Variant, row.Relative.Estimate, *row.ChanceToBeatControl, mean, normalCDF(mean/sd))
		}
		if row.Relative.Estimate >= f.Relative.Estimate {
			t.Errorf("%s: a prior at 0 did not shrink the lift %v (flat %v)", row.Variant, row.Relative.Estimate, f.Relative.Estimate)
		}
	}
}
