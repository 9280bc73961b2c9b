package resultsapi_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

// service is every function on one table, as deployed, with the holdouts
// and metrics in memory (read on every call, so the test needs no waiting).
type service struct {
	t     *testing.T
	table string
	fn    map[string]httpapi.Handler
}

func newService(t *testing.T) *service {
	t.Helper()
	st, _, table := storetest.New(t)
	d := lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Holdouts: snapshot.NewHoldouts(st, 0),
		Metrics: snapshot.NewMetrics(st, 0), Now: time.Now}
	s := &service{t: t, table: table, fn: map[string]httpapi.Handler{}}
	for _, name := range routes.Functions() {
		h, err := allroutes.Handler(d, name)
		if err != nil {
			t.Fatal(err)
		}
		s.fn[name] = apispectest.Handler(t, name, h)
	}
	return s
}

func (s *service) serve(route routes.Route, req httpapi.Request) httpapi.Response {
	s.t.Helper()
	req.RouteKey, req.RequestContext.RouteKey = route.Key(), route.Key()
	resp, err := s.fn[route.Function](context.Background(), req)
	if err != nil {
		s.t.Fatalf("%s: %v", route.Key(), err)
	}
	return resp
}

func (s *service) admin(route routes.Route, key, body string, want int) httpapi.Response {
	s.t.Helper()
	resp := s.serve(route, httpapitest.AdminRequest(route, key, body))
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", route.Key(), key, resp.StatusCode, resp.Body, want)
	}
	return resp
}

func (s *service) client(route routes.Route, key, user, body string, want int) httpapi.Response {
	s.t.Helper()
	resp := s.serve(route, httpapitest.Request(key, user, body))
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s as %s: %d %s, want %d", route.Key(), key, user, resp.StatusCode, resp.Body, want)
	}
	return resp
}

func (s *service) holdoutResults(key, event string) results.HoldoutReport {
	s.t.Helper()
	req := httpapitest.AdminRequest(routes.AdminHoldoutResults, key, "")
	req.QueryStringParameters = map[string]string{"event": event}
	resp := s.serve(routes.AdminHoldoutResults, req)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("results of %s on %s: %d %s", key, event, resp.StatusCode, resp.Body)
	}
	var r results.HoldoutReport
	httpapitest.Decode(s.t, resp, &r)
	return r
}

// tally is what a holdout's results must say, counted by the test from
// what it sent.
type tally struct {
	units     map[string]int64            // group -> units
	converted map[string]map[string]int64 // group -> event -> units
	members   map[string]string           // unit -> group
}

func newTally() *tally {
	return &tally{units: map[string]int64{}, converted: map[string]map[string]int64{}, members: map[string]string{}}
}

func (t *tally) join(unit, group string) {
	if _, ok := t.members[unit]; ok {
		return
	}
	t.members[unit] = group
	t.units[group]++
}

func (t *tally) convert(unit, event string, seen map[string]bool) {
	group, ok := t.members[unit]
	if !ok || seen[unit+"/"+event] {
		return
	}
	seen[unit+"/"+event] = true
	if t.converted[group] == nil {
		t.converted[group] = map[string]int64{}
	}
	t.converted[group][event]++
}

// TestHoldoutResultsCountWhatWasSent runs a workload through the routes
// (assignments, exposures, events with retries and events sent before
// joining) for two holdouts, one of every experiment and one of a layer,
// drains the stream, and checks every group's units and conversions equal
// what was sent, with the z-test of experiment results. An erasure then
// takes its unit out of the counts.
func TestHoldoutResultsCountWhatWasSent(t *testing.T) {
	s := newService(t)
	s.admin(routes.AdminCreateHoldout, "", `{"key":"global","name":"Global","percent":25,"events":["purchase"]}`, http.StatusCreated)
	s.admin(routes.AdminCreateHoldout, "", `{"key":"co-hold","name":"Checkout","percent":40,"layers":["checkout"],"events":["purchase","signup"]}`, http.StatusCreated)
	s.admin(routes.AdminCreate, "", `{"key":"a","name":"A","events":["purchase"],"status":"active","variants":[{"key":"control","weight":1},{"key":"t","weight":1}]}`, http.StatusCreated)
	s.admin(routes.AdminCreateLayer, "", `{"key":"checkout","name":"Checkout"}`, http.StatusCreated)
	s.admin(routes.AdminCreate, "", `{"key":"b","name":"B","events":["purchase","signup"],"status":"active","layer":{"key":"checkout","start":0,"end":1},
		"variants":[{"key":"control","weight":1},{"key":"t","weight":1}]}`, http.StatusCreated)
	rules := map[string]enrolment.Holdout{
		"global":  {Key: "global", Percent: 25},
		"co-hold": {Key: "co-hold", Percent: 40, Layers: []string{"checkout"}},
	}
	covers := map[string][]string{"global": {"a", "b"}, "co-hold": {"b"}}
	counts := map[string]*tally{"global": newTally(), "co-hold": newTally()}
	seen := map[string]map[string]bool{"global": {}, "co-hold": {}}
	sendEvent := func(unit, name, id string) {
		s.client(routes.ClientEvents, "", unit, fmt.Sprintf(`{"events":[{"name":%q,"id":%q}]}`, name, id), http.StatusAccepted)
	}

	const units = 90
	for i := 0; i < units; i++ {
		unit := fmt.Sprintf("user-%d", i)
		if i%7 == 0 {
			sendEvent(unit, "purchase", "early") // before joining: counts nowhere
		}
		reached := map[string]bool{}
		for _, exp := range []string{"a", "b"} {
			var r assignmentapi.Response
			httpapitest.Decode(t, s.client(routes.ClientAssignment, exp, unit, "", http.StatusOK), &r)
			reached[exp] = r.InExperiment
			if r.Reason == "holdout" {
				for key, rule := range rules {
					if enrolment.InHoldout(rule, unit) && contains(covers[key], exp) {
						counts[key].join(unit, holdout.GroupHeldOut)
					}
				}
			}
		}
		for _, exp := range []string{"a", "b"} {
			if !reached[exp] || i%3 == 0 { // some enrolled units are never exposed
				continue
			}
			for n := 0; n < 1+i%2; n++ { // some are exposed twice
				s.client(routes.ClientExposure, exp, unit, "", http.StatusCreated)
			}
			for key, rule := range rules {
				if !enrolment.InHoldout(rule, unit) && contains(covers[key], exp) {
					counts[key].join(unit, holdout.GroupExposed)
				}
			}
		}
		for _, ev := range []struct {
			name string
			when bool
		}{{"purchase", i%2 == 0}, {"signup", i%5 == 0}, {"purchase", i%4 == 0}} {
			if !ev.when {
				continue
			}
			id := fmt.Sprintf("%s-%d", ev.name, i%4)
			for retry := 0; retry < 2; retry++ { // a retried id counts once
				sendEvent(unit, ev.name, id)
			}
			for key, c := range counts {
				if key == "global" && ev.name == "signup" {
					continue // not one of its events
				}
				c.convert(unit, ev.name, seen[key])
			}
		}
	}
	for key, c := range counts {
		if c.units[holdout.GroupHeldOut] == 0 || c.units[holdout.GroupExposed] == 0 {
			t.Fatalf("%s: %v: the workload shows nothing", key, c.units)
		}
	}

	for key, c := range counts {
		t.Logf("%s: units %v converted %v", key, c.units, c.converted)
	}
	check := func() {
		t.Helper()
		storetest.Drain(t, s.table)
		for key, c := range counts {
			events := []string{"purchase"}
			if key == "co-hold" {
				events = append(events, "signup")
			}
			for _, ev := range events {
				r := s.holdoutResults(key, ev)
				if r.Holdout != key || r.Event != ev || r.AsOf == nil || len(r.Groups) != 2 ||
					r.Groups[0].Group != holdout.GroupHeldOut || r.Groups[1].Group != holdout.GroupExposed {
					t.Fatalf("%s on %s: %+v", key, ev, r)
				}
				for _, g := range r.Groups {
					if g.Units != c.units[g.Group] || g.ConvertedCount != c.converted[g.Group][ev] {
						t.Errorf("%s on %s, %s: %d units, %d converted; sent %d, %d", key, ev, g.Group, g.Units, g.ConvertedCount, c.units[g.Group], c.converted[g.Group][ev])
					}
				}
				held, exposed := r.Groups[0], r.Groups[1]
				if held.ZScore != nil || held.Lift != nil {
					t.Errorf("%s: the held-out row carries a test: %+v", key, held)
				}
				if held.ConvertedCount > 0 || exposed.ConvertedCount > 0 {
					z, p := refZTest(held.ConvertedCount, held.Units, exposed.ConvertedCount, exposed.Units)
					if exposed.ZScore == nil || !close12(*exposed.ZScore, z) || !close12(*exposed.PValue, p) {
						t.Errorf("%s on %s: z %v p %v, want %v %v", key, ev, exposed.ZScore, exposed.PValue, z, p)
					}
				}
			}
		}
	}
	check()

	// Erasing a held-out unit and an exposed one takes their contributions
	// away once the stream is drained.
	for _, group := range []string{holdout.GroupHeldOut, holdout.GroupExposed} {
		c := counts["co-hold"]
		var unit string
		for u, g := range c.members {
			if g == group && seen["co-hold"][u+"/purchase"] {
				unit = u
				break
			}
		}
		if unit == "" {
			t.Fatalf("no converted %s unit to erase", group)
		}
		req := httpapitest.AdminRequest(routes.AdminEraseUnit, "", "")
		req.PathParameters["id"] = unit
		resp := s.serve(routes.AdminEraseUnit, req)
		var erased struct {
			Erased struct{ Holdouts int } `json:"erased"`
		}
		httpapitest.Decode(t, resp, &erased)
		if resp.StatusCode != http.StatusOK || erased.Erased.Holdouts == 0 {
			t.Fatalf("erase %s: %d %s", unit, resp.StatusCode, resp.Body)
		}
		for key, c := range counts {
			g, ok := c.members[unit]
			if !ok {
				continue
			}
			c.units[g]--
			for _, ev := range []string{"purchase", "signup"} {
				if seen[key][unit+"/"+ev] {
					c.converted[g][ev]--
				}
			}
			delete(c.members, unit)
		}
	}
	check()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestHoldoutResultsRefusals: the route's 4xx, as experiment results'.
func TestHoldoutResultsRefusals(t *testing.T) {
	s := newService(t)
	s.admin(routes.AdminCreateHoldout, "", `{"key":"h","name":"H","percent":5,"events":["purchase"]}`, http.StatusCreated)
	s.admin(routes.AdminCreateHoldout, "", `{"key":"gone","name":"G","percent":5,"events":["purchase"]}`, http.StatusCreated)
	s.admin(routes.AdminArchiveHoldout, "gone", "", http.StatusNoContent)
	for _, tc := range []struct {
		key, event string
		status     int
		code       string
	}{
		{"h", "", http.StatusBadRequest, results.CodeEventRequired},
		{"h", "signup", http.StatusBadRequest, results.CodeEventNotDeclared},
		{"h", "bad:name", http.StatusBadRequest, fault.CodeValidationFailed},
		{"Bad Key", "purchase", http.StatusBadRequest, fault.CodeInvalidKey},
		{"missing", "purchase", http.StatusNotFound, holdout.CodeNotFound},
		{"gone", "purchase", http.StatusNotFound, holdout.CodeNotFound},
	} {
		req := httpapitest.AdminRequest(routes.AdminHoldoutResults, tc.key, "")
		if tc.event != "" {
			req.QueryStringParameters = map[string]string{"event": tc.event}
		}
		eb := httpapitest.ExpectError(t, s.serve(routes.AdminHoldoutResults, req), tc.status, tc.code)
		if tc.code == results.CodeEventNotDeclared && !reflect.DeepEqual(eb.Error.Details["events"], []any{"purchase"}) {
			t.Errorf("details %v", eb.Error.Details)
		}
	}
	// No data yet: zero units, no rates, no test, no as_of.
	r := s.holdoutResults("h", "purchase")
	if r.AsOf != nil || r.Groups[0].Units != 0 || r.Groups[1].ConversionRate != nil || r.Groups[1].ZScore != nil {
		t.Fatalf("empty results %+v", r)
	}
	// A client key may not read them.
	req := httpapitest.AdminRequest(routes.AdminHoldoutResults, "h", "")
	req.QueryStringParameters = map[string]string{"event": "purchase"}
	req.RequestContext.Authorizer.Lambda[httpapi.CtxRole] = "client"
	httpapitest.ExpectError(t, s.serve(routes.AdminHoldoutResults, req), http.StatusForbidden, fault.CodeForbidden)
}
