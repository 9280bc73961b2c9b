package resultsapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

// TestCUPEDReading sends units whose spending before the experiment
// predicts their spending in it, through every function as deployed:
// their history (purchases stamped days earlier, before any assignment),
// assignment, exposure and purchases after. It checks that cuped=true
// adjusts by the covariate the test computes itself from what it sent
// (θ and the adjusted difference, by the textbook formulas over the
// units), that the adjustment removes most of the variance, and that
// what has no covariate is refused.
func TestCUPEDReading(t *testing.T) {
	s := newService(t)
	s.admin(routes.AdminCreateMetric, "", `{"key":"spend","name":"Spend","type":"sum","event":"purchase","property":"amount"}`, http.StatusCreated)
	s.admin(routes.AdminCreateMetric, "", `{"key":"aov","name":"AOV","type":"ratio",
		"numerator":{"type":"sum","event":"purchase","property":"amount"},"denominator":{"type":"count","event":"purchase"}}`, http.StatusCreated)
	s.admin(routes.AdminCreate, "", `{"key":"shop","name":"Shop","status":"active","events":["purchase"],
		"primary_metric":"spend","secondary_metrics":["aov"],"cuped_lookback_days":7,
		"variants":[{"key":"control","weight":1},{"key":"treatment","weight":1}]}`, http.StatusCreated)
	var view adminapi.ExperimentView
	httpapitest.Decode(t, s.admin(routes.AdminGet, "shop", "", http.StatusOK), &view)
	if view.CUPEDLookbackDays == nil || *view.CUPEDLookbackDays != 7 {
		t.Fatalf("cuped_lookback_days %v", view.CUPEDLookbackDays)
	}

	r := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UTC()
	stamp := func(ago time.Duration) string { return now.Add(-ago).Format(time.RFC3339Nano) }
	type unit struct {
		variant string
		x, pre  float64
	}
	var sent []unit
	const units = 160
	for i := 0; i < units; i++ {
		user := fmt.Sprintf("shopper-%03d", i)
		habit := 20 + 60*r.Float64() // what this shopper spends per purchase
		var history []string
		var pre float64
		for d := 2; d <= 5; d++ { // in the window (7 days before today)
			amount := math.Round(100*(habit+5*r.NormFloat64())) / 100
			pre += amount
			history = append(history, fmt.Sprintf(`{"name":"purchase","id":"h%d","timestamp":%q,"properties":{"amount":%g}}`, d, stamp(time.Duration(d)*24*time.Hour), amount))
		}
		// Outside the window: too old, and today (the day of exposure).
		history = append(history,
			fmt.Sprintf(`{"name":"purchase","id":"old","timestamp":%q,"properties":{"amount":500}}`, stamp(9*24*time.Hour)),
			`{"name":"purchase","id":"today","properties":{"amount":700}}`)
		s.client(routes.ClientEvents, "", user, `{"events":[`+strings.Join(history, ",")+`]}`, http.StatusAccepted)

		var a assignmentapi.Response
		httpapitest.Decode(t, s.client(routes.ClientAssignment, "shop", user, "", http.StatusOK), &a)
		s.client(routes.ClientExposure, "shop", user, "", http.StatusCreated)
		lift := 0.0
		if a.Variant == "treatment" {
			lift = 3
		}
		var x float64
		var after []string
		for n := 0; n < 4; n++ {
			amount := math.Round(100*(habit+lift+5*r.NormFloat64())) / 100
			x += amount
			after = append(after, fmt.Sprintf(`{"name":"purchase","id":"p%d","properties":{"amount":%g}}`, n, amount))
		}
		// Stamped in the window but sent after the exposure: stamped before
		// the assignment, it counts in neither x nor pre.
		after = append(after, fmt.Sprintf(`{"name":"purchase","id":"late","timestamp":%q,"properties":{"amount":900}}`, stamp(3*24*time.Hour)))
		s.client(routes.ClientEvents, "", user, `{"events":[`+strings.Join(after, ",")+`]}`, http.StatusAccepted)
		sent = append(sent, unit{variant: a.Variant, x: x, pre: pre})
	}
	storetest.Drain(t, s.table)

	// θ and the adjusted difference the long way, from what was sent.
	var mx, mp float64
	for _, u := range sent {
		mx, mp = mx+u.x, mp+u.pre
	}
	mx, mp = mx/units, mp/units
	var cov, varPre float64
	for _, u := range sent {
		cov += (u.x - mx) * (u.pre - mp)
		varPre += (u.pre - mp) * (u.pre - mp)
	}
	theta := cov / varPre
	adjusted := map[string]float64{}
	count := map[string]float64{}
	for _, u := range sent {
		adjusted[u.variant] += u.x - theta*(u.pre-mp)
		count[u.variant]++
	}
	for v := range adjusted {
		adjusted[v] /= count[v]
	}

	read := func(query map[string]string) results.Report {
		t.Helper()
		req := httpapitest.AdminRequest(routes.AdminResults, "shop", "")
		req.QueryStringParameters = query
		resp := s.serve(routes.AdminResults, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%v: %d %s", query, resp.StatusCode, resp.Body)
		}
		var rep results.Report
		httpapitest.Decode(t, resp, &rep)
		return rep
	}
	plain := read(map[string]string{"metric": "spend"})
	cuped := read(map[string]string{"metric": "spend", "cuped": "true"})
	if plain.CUPED != nil || plain.Variants[1].CUPED != nil {
		t.Fatalf("a plain reading carries CUPED figures: %+v", plain)
	}
	if cuped.CUPED == nil || cuped.CUPED.LookbackDays != 7 || !near(cuped.CUPED.Theta, theta, 1e-9) {
		t.Fatalf("cuped %+v, theta by hand %v", cuped.CUPED, theta)
	}
	for _, row := range cuped.Variants {
		if row.CUPED == nil || !near(row.CUPED.AdjustedMean, adjusted[row.Variant], 1e-9) {
			t.Fatalf("%s: %+v, adjusted mean by hand %v", row.Variant, row.CUPED, adjusted[row.Variant])
		}
	}
	tr, tp := cuped.Variants[1], plain.Variants[1]
	if want := adjusted["treatment"] - adjusted["control"]; !near(tr.Absolute.Estimate, want, 1e-9) {
		t.Fatalf("adjusted effect %v, by hand %v", tr.Absolute.Estimate, want)
	}
	// Spending habits explain most of the variance: the adjustment removes
	// most of it, and the interval narrows accordingly.
	width := func(e *results.Effect) float64 { return e.CI[1] - e.CI[0] }
	if tr.CUPED.VarianceReduction == nil || *tr.CUPED.VarianceReduction < 0.8 || width(tr.Absolute) > 0.5*width(tp.Absolute) {
		t.Fatalf("variance reduction %v, interval %v against %v unadjusted", tr.CUPED.VarianceReduction, tr.Absolute.CI, tp.Absolute.CI)
	}
	if tr.PValue == nil || tp.PValue == nil || *tr.PValue >= *tp.PValue {
		t.Fatalf("p-value adjusted %v, plain %v", tr.PValue, tp.PValue)
	}

	// The other methods adjust too, and the daily series reads the same.
	for _, method := range []string{"sequential", "bayesian"} {
		rep := read(map[string]string{"metric": "spend", "cuped": "true", "method": method})
		if !near(rep.Variants[1].Absolute.Estimate, tr.Absolute.Estimate, 1e-9) || rep.CUPED == nil {
			t.Errorf("%s: %+v", method, rep.Variants[1])
		}
	}
	req := httpapitest.AdminRequest(routes.AdminTimeseries, "shop", "")
	req.QueryStringParameters = map[string]string{"metric": "spend", "cuped": "true"}
	var series struct {
		Points []results.Report `json:"points"`
	}
	resp := s.serve(routes.AdminTimeseries, req)
	if err := json.Unmarshal([]byte(resp.Body), &series); err != nil || resp.StatusCode != http.StatusOK || len(series.Points) == 0 {
		t.Fatalf("timeseries: %d %s", resp.StatusCode, resp.Body)
	}
	if last := series.Points[len(series.Points)-1]; last.CUPED == nil || !near(last.CUPED.Theta, theta, 1e-9) {
		t.Fatalf("today's point %+v", last.CUPED)
	}

	for _, tc := range []struct {
		query map[string]string
		code  string
	}{
		{map[string]string{"metric": "spend", "cuped": "yes"}, fault.CodeValidationFailed},
		{map[string]string{"event": "purchase", "cuped": "true"}, results.CodeCUPEDNeedsMetric},
		{map[string]string{"metric": "aov", "cuped": "true"}, results.CodeCUPEDRatio},
	} {
		req := httpapitest.AdminRequest(routes.AdminResults, "shop", "")
		req.QueryStringParameters = tc.query
		httpapitest.ExpectError(t, s.serve(routes.AdminResults, req), http.StatusBadRequest, tc.code)
	}
	s.admin(routes.AdminUpdate, "shop", fmt.Sprintf(`{"version":%d,"cuped_lookback_days":91}`, view.Version), http.StatusBadRequest)
}
