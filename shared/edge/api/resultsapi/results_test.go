package resultsapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var generatedAt = time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)

// refZTest is the pooled two-proportion z-test written out plainly, as an
// independent reference for the handler's statistics.
func refZTest(x1, n1, x2, n2 int64) (z, p float64) {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	z = (p2 - p1) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

func close12(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12*math.Max(1, math.Abs(want))
}

func exp(status experiment.Status, variants ...string) *experiment.Experiment {
	e := &experiment.Experiment{Key: "exp", Name: "E", Events: []string{"purchase"}, Status: status, Coverage: 1, Version: 1}
	for i, v := range variants {
		e.Variants = append(e.Variants, experiment.Variant{Key: v, Weight: float64(i + 1)})
	}
	return e
}

// counts is one variant's counters: assigned, exposed, converted on "purchase".
type counts struct{ a, x, c int64 }

func aggOf(byVariant map[string]counts) experiment.Aggregates {
	g := experiment.Aggregates{Assigned: map[string]int64{}, Exposed: map[string]int64{}, Converted: map[string]map[string]int64{}}
	for v, c := range byVariant {
		g.Assigned[v], g.Exposed[v] = c.a, c.x
		g.Converted[v] = map[string]int64{"purchase": c.c}
	}
	return g
}

func TestCompute(t *testing.T) {
	type want struct {
		rate, z, lift bool // whether each is defined
	}
	cases := []struct {
		name     string
		variants []string
		agg      experiment.Aggregates
		want     []want
	}{
		{"treatment better", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {1200, 1000, 100}, "treatment": {1190, 1000, 130}}),
			[]want{{rate: true}, {rate: true, z: true, lift: true}}},
		{"treatment worse", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {60, 50, 20}, "treatment": {61, 40, 4}}),
			[]want{{rate: true}, {rate: true, z: true, lift: true}}},
		{"equal rates", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {10, 10, 3}, "treatment": {20, 20, 6}}),
			[]want{{rate: true}, {rate: true, z: true, lift: true}}},
		{"control never exposed", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {5, 0, 0}, "treatment": {5, 4, 2}}),
			[]want{{}, {rate: true}}},
		{"treatment never exposed", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {5, 4, 2}, "treatment": {5, 0, 0}}),
			[]want{{rate: true}, {}}},
		{"nothing at all", []string{"control", "treatment"},
			experiment.Aggregates{}, []want{{}, {}}},
		{"pooled rate 0", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {9, 7, 0}, "treatment": {9, 8, 0}}),
			[]want{{rate: true}, {rate: true}}},
		{"pooled rate 1", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {9, 7, 7}, "treatment": {9, 8, 8}}),
			[]want{{rate: true}, {rate: true, lift: true}}},
		{"control rate 0", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {9, 7, 0}, "treatment": {9, 8, 3}}),
			[]want{{rate: true}, {rate: true, z: true}}},
		{"three variants", []string{"control", "b", "c"},
			aggOf(map[string]counts{"control": {300, 250, 25}, "b": {310, 260, 39}, "c": {290, 240, 12}}),
			[]want{{rate: true}, {rate: true, z: true, lift: true}, {rate: true, z: true, lift: true}}},
		{"large counts", []string{"control", "treatment"},
			aggOf(map[string]counts{"control": {3e9, 2e9, 1e8}, "treatment": {3e9, 2e9, 1e8 + 5e4}}),
			[]want{{rate: true}, {rate: true, z: true, lift: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := exp(experiment.Active, tc.variants...)
			r := results.Compute(e, tc.agg, "purchase", generatedAt.In(time.FixedZone("X", 3600)))
			if r.Experiment != "exp" || r.Status != experiment.Active || r.Event != "purchase" || r.GeneratedAt != "2026-02-03T04:05:06.000000789Z" {
				t.Fatalf("header %+v", r)
			}
			if len(r.Variants) != len(tc.variants) {
				t.Fatalf("%d rows", len(r.Variants))
			}
			get := func(v string) counts {
				return counts{tc.agg.Assigned[v], tc.agg.Exposed[v], tc.agg.Converted[v]["purchase"]}
			}
			ctl := get(tc.variants[0])
			for i, row := range r.Variants {
				w := tc.want[i]
				c := get(tc.variants[i])
				if row.Variant != tc.variants[i] || row.IsControl != (i == 0) || row.Weight != float64(i+1) {
					t.Errorf("row %d identity %+v", i, row)
				}
				if row.AssignedCount != c.a || row.ExposedCount != c.x || row.ConvertedCount != c.c {
					t.Errorf("row %d counts %d/%d/%d, want %+v", i, row.AssignedCount, row.ExposedCount, row.ConvertedCount, c)
				}
				if (row.ConversionRate != nil) != w.rate {
					t.Errorf("row %d rate %v, want defined=%v", i, row.ConversionRate, w.rate)
				} else if w.rate && *row.ConversionRate != float64(c.c)/float64(c.x) {
					t.Errorf("row %d rate %v, want %v", i, *row.ConversionRate, float64(c.c)/float64(c.x))
				}
				if (row.ZScore != nil) != w.z || (row.PValue != nil) != w.z {
					t.Errorf("row %d z %v p %v, want defined=%v", i, row.ZScore, row.PValue, w.z)
				} else if w.z {
					z, p := refZTest(ctl.c, ctl.x, c.c, c.x)
					if !close12(*row.ZScore, z) || !close12(*row.PValue, p) {
						t.Errorf("row %d z=%v p=%v, want z=%v p=%v", i, *row.ZScore, *row.PValue, z, p)
					}
					if *row.PValue < 0 || *row.PValue > 1 {
						t.Errorf("row %d p %v outside [0,1]", i, *row.PValue)
					}
				}
				if (row.Lift != nil) != w.lift {
					t.Errorf("row %d lift %v, want defined=%v", i, row.Lift, w.lift)
				} else if w.lift {
					cr, tr := float64(ctl.c)/float64(ctl.x), float64(c.c)/float64(c.x)
					if want := (tr - cr) / cr; !close12(*row.Lift, want) {
						t.Errorf("row %d lift %v, want %v", i, *row.Lift, want)
					}
				}
			}
		})
	}

	t.Run("signs", func(t *testing.T) {
		r := results.Compute(exp(experiment.Active, "control", "up", "down", "same"), aggOf(map[string]counts{
			"control": {100, 100, 20}, "up": {100, 100, 40}, "down": {100, 100, 10}, "same": {100, 100, 20},
		}), "purchase", generatedAt)
		up, down, same := r.Variants[1], r.Variants[2], r.Variants[3]
		if *up.ZScore <= 0 || *up.Lift != 1 || *down.ZScore >= 0 || *down.Lift != -0.5 || *same.ZScore != 0 || *same.PValue != 1 || *same.Lift != 0 {
			t.Fatalf("up z=%v lift=%v; down z=%v lift=%v; same z=%v p=%v lift=%v",
				*up.ZScore, *up.Lift, *down.ZScore, *down.Lift, *same.ZScore, *same.PValue, *same.Lift)
		}
	})
	t.Run("counts by assigned variant only", func(t *testing.T) {
		// Counters of a removed variant and of other events are ignored; a
		// variant with no counters shows zeros.
		agg := experiment.Aggregates{
			Assigned:  map[string]int64{"control": 4, "treatment": 6, "removed": 9},
			Exposed:   map[string]int64{"control": 3, "treatment": 5, "removed": 9},
			Converted: map[string]map[string]int64{"control": {"purchase": 1, "signup": 3}, "treatment": {"signup": 2}, "removed": {"purchase": 9}},
		}
		r := results.Compute(exp(experiment.Paused, "control", "treatment", "fresh"), agg, "purchase", generatedAt)
		type row struct {
			v       string
			a, x, c int64
		}
		var got []row
		for _, v := range r.Variants {
			got = append(got, row{v.Variant, v.AssignedCount, v.ExposedCount, v.ConvertedCount})
		}
		if want := []row{{"control", 4, 3, 1}, {"treatment", 6, 5, 0}, {"fresh", 0, 0, 0}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
		if r.Status != experiment.Paused {
			t.Fatalf("status %s", r.Status)
		}
		if r.Variants[1].Lift == nil || *r.Variants[1].Lift != -1 {
			t.Fatalf("lift of a variant that never converts: %v", r.Variants[1].Lift)
		}
	})
}

type flow struct {
	st    *store.Store
	db    *dynamodb.Client
	table string
	h     httpapi.Handler
}

// newFlow stores an active experiment with six assigned users, four of them
// exposed, and their events.
func newFlow(t *testing.T) flow {
	t.Helper()
	ctx := context.Background()
	st, db, table := storetest.New(t)
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	at := st.WithClock(func() time.Time { return t0 })
	e := &experiment.Experiment{Key: "checkout", Name: "Checkout", Events: []string{"purchase", "signup", "never-sent"}, Status: experiment.Active, Coverage: 1, Version: 1,
		CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour),
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 3}}}
	if err := st.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	users := []struct {
		id, variant, shown string // shown "" = never exposed
		events             []string
	}{
		{"u1", "control", "control", []string{"purchase"}},
		{"u2", "control", "control", nil},
		{"u3", "control", "", []string{"purchase"}},
		{"u4", "treatment", "treatment", []string{"purchase", "purchase"}},
		{"u5", "treatment", "control", []string{"purchase", "signup"}}, // the app showed control: counted as treatment
		{"u6", "treatment", "", []string{"purchase", "signup"}},
	}
	n := 0
	for _, u := range users {
		a, _, err := at.CreateAssignment(ctx, "checkout", experiment.UserUnit(u.id), u.variant)
		if err != nil {
			t.Fatal(err)
		}
		if u.shown != "" {
			if _, _, err := at.RecordExposure(ctx, a, u.shown, ""); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range u.events {
			n++
			asg, err := st.UnitAssignments(ctx, experiment.UserUnit(u.id))
			if err != nil {
				t.Fatal(err)
			}
			when := t0.Add(time.Duration(n) * time.Minute)
			if _, err := st.RecordEvent(ctx, &experiment.Event{ID: fmt.Sprintf("ev%d", n), Unit: experiment.UserUnit(u.id), Name: name, Timestamp: when, ReceivedAt: when}, asg, storetest.CountAll); err != nil {
				t.Fatal(err)
			}
		}
	}
	storetest.Drain(t, table)
	return flow{st: st, db: db, table: table, h: apispectest.Handler(t, routes.Results, resultsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: func() time.Time { return generatedAt }}))}
}

func (f flow) call(t *testing.T, route routes.Route, key string, query map[string]string) httpapi.Response {
	t.Helper()
	req := httpapitest.AdminRequest(route, key, "")
	req.QueryStringParameters = query
	resp, err := f.h(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	return resp
}

func TestResultsHandler(t *testing.T) {
	f := newFlow(t)
	type row struct {
		v       string
		a, x, c int64
	}
	for _, tc := range []struct {
		event string
		rows  []row
		z     bool
		lift  bool
	}{
		{"purchase", []row{{"control", 3, 2, 1}, {"treatment", 3, 2, 2}}, true, true},
		{"signup", []row{{"control", 3, 2, 0}, {"treatment", 3, 2, 1}}, true, false},
		{"never-sent", []row{{"control", 3, 2, 0}, {"treatment", 3, 2, 0}}, false, false},
	} {
		t.Run(tc.event, func(t *testing.T) {
			resp := f.call(t, routes.AdminResults, "checkout", map[string]string{"event": tc.event})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			var r results.Report
			httpapitest.Decode(t, resp, &r)
			if r.Experiment != "checkout" || r.Status != experiment.Active || r.Event != tc.event || r.GeneratedAt != generatedAt.Format(time.RFC3339Nano) {
				t.Fatalf("header %+v", r)
			}
			var got []row
			for _, v := range r.Variants {
				got = append(got, row{v.Variant, v.AssignedCount, v.ExposedCount, v.ConvertedCount})
			}
			if !reflect.DeepEqual(got, tc.rows) {
				t.Fatalf("rows %v, want %v", got, tc.rows)
			}
			ctl, tr := r.Variants[0], r.Variants[1]
			if !ctl.IsControl || tr.IsControl || ctl.Weight != 1 || tr.Weight != 3 {
				t.Fatalf("identity %+v %+v", ctl, tr)
			}
			if ctl.ZScore != nil || ctl.PValue != nil || ctl.Lift != nil {
				t.Fatalf("control row has statistics: %s", resp.Body)
			}
			if *ctl.ConversionRate != float64(tc.rows[0].c)/2 || *tr.ConversionRate != float64(tc.rows[1].c)/2 {
				t.Fatalf("rates %v %v", *ctl.ConversionRate, *tr.ConversionRate)
			}
			if (tr.ZScore != nil) != tc.z || (tr.Lift != nil) != tc.lift {
				t.Fatalf("treatment z %v lift %v, want z defined=%v lift defined=%v", tr.ZScore, tr.Lift, tc.z, tc.lift)
			}
			if tc.z {
				z, p := refZTest(tc.rows[0].c, tc.rows[0].x, tc.rows[1].c, tc.rows[1].x)
				if !close12(*tr.ZScore, z) || !close12(*tr.PValue, p) {
					t.Fatalf("z=%v p=%v, want %v %v", *tr.ZScore, *tr.PValue, z, p)
				}
			}
			if tc.lift && *tr.Lift != 1 {
				t.Fatalf("lift %v, want 1", *tr.Lift)
			}
			if !strings.Contains(resp.Body, `"z_score":null`) {
				t.Fatalf("undefined statistics are not null: %s", resp.Body)
			}
		})
	}

	ctx := context.Background()
	gone := &experiment.Experiment{Key: "gone", Name: "G", Status: experiment.Archived, Coverage: 1, Version: 1,
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
	if err := f.st.CreateExperiment(ctx, gone); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		route  routes.Route
		key    string
		query  map[string]string
		status int
		code   string
	}{
		{"no event", routes.AdminResults, "checkout", nil, http.StatusBadRequest, results.CodeEventRequired},
		{"empty event", routes.AdminResults, "checkout", map[string]string{"event": ""}, http.StatusBadRequest, results.CodeEventRequired},
		{"event with colon", routes.AdminResults, "checkout", map[string]string{"event": "a:b"}, http.StatusBadRequest, fault.CodeValidationFailed},
		{"event with space", routes.AdminResults, "checkout", map[string]string{"event": "a b"}, http.StatusBadRequest, fault.CodeValidationFailed},
		{"event too long", routes.AdminResults, "checkout", map[string]string{"event": strings.Repeat("e", 101)}, http.StatusBadRequest, fault.CodeValidationFailed},
		{"unknown experiment", routes.AdminResults, "nope", map[string]string{"event": "purchase"}, http.StatusNotFound, experiment.CodeNotFound},
		{"archived experiment", routes.AdminResults, "gone", map[string]string{"event": "purchase"}, http.StatusNotFound, experiment.CodeNotFound},
		{"invalid key", routes.AdminResults, "Bad Key", map[string]string{"event": "purchase"}, http.StatusBadRequest, fault.CodeInvalidKey},
		{"recount unknown", routes.AdminRecount, "nope", nil, http.StatusNotFound, experiment.CodeNotFound},
		{"recount archived", routes.AdminRecount, "gone", nil, http.StatusNotFound, experiment.CodeNotFound},
		{"recount invalid key", routes.AdminRecount, "-x", nil, http.StatusBadRequest, fault.CodeInvalidKey},
		{"other route", routes.AdminGet, "checkout", nil, http.StatusNotFound, fault.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, f.call(t, tc.route, tc.key, tc.query), tc.status, tc.code)
			if tc.code == fault.CodeValidationFailed {
				if fields, _ := eb.Error.Details["fields"].(map[string]any); fields["event"] == nil {
					t.Fatalf("details %v lack fields.event", eb.Error.Details)
				}
			}
		})
	}
	t.Run("client key", func(t *testing.T) {
		req := httpapitest.Request("checkout", "alice", "")
		req.RouteKey = routes.AdminResults.Key()
		req.QueryStringParameters = map[string]string{"event": "purchase"}
		resp, err := f.h(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		httpapitest.ExpectError(t, resp, http.StatusForbidden, fault.CodeForbidden)
	})
}

func TestRecount(t *testing.T) {
	f := newFlow(t)
	want := results.Counts{
		Assigned:  map[string]int64{"control": 3, "treatment": 3},
		Exposed:   map[string]int64{"control": 2, "treatment": 2},
		Converted: map[string]map[string]int64{"control": {"purchase": 1}, "treatment": {"purchase": 2, "signup": 1}},
	}
	recount := func(t *testing.T, query map[string]string) results.Recounted {
		t.Helper()
		resp := f.call(t, routes.AdminRecount, "checkout", query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		var r results.Recounted
		httpapitest.Decode(t, resp, &r)
		if r.Experiment != "checkout" {
			t.Fatalf("experiment %q", r.Experiment)
		}
		return r
	}

	t.Run("dry run matches", func(t *testing.T) {
		r := recount(t, map[string]string{"dry_run": "true"})
		if !r.Matched || r.Written || !reflect.DeepEqual(r.Before, want) || !reflect.DeepEqual(r.After, want) {
			t.Fatalf("%+v, want matched, not written, counts %+v", r, want)
		}
	})
	for _, bad := range []string{"maybe", "", "yes", "2"} {
		t.Run("dry_run="+bad, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, f.call(t, routes.AdminRecount, "checkout", map[string]string{"dry_run": bad}), http.StatusBadRequest, fault.CodeValidationFailed)
			if fields, _ := eb.Error.Details["fields"].(map[string]any); fields["dry_run"] == nil {
				t.Fatalf("details %v", eb.Error.Details)
			}
		})
	}

	t.Run("tampered counters are repaired", func(t *testing.T) {
		tamper := func(shard int, attr string, n int) {
			t.Helper()
			_, err := f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
				TableName: aws.String(f.table),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: fmt.Sprintf("EXP#checkout#AGG#%02d", shard)},
					"sk": &types.AttributeValueMemberS{Value: "AGG"},
				},
				UpdateExpression:          aws.String("ADD #a :n"),
				ExpressionAttributeNames:  map[string]string{"#a": attr},
				ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: fmt.Sprint(n)}},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		tamper(0, "a:control", 5)
		tamper(7, "c:treatment:purchase", 2)
		tamper(9, "x:ghost", 4)

		r := recount(t, nil)
		if r.Matched || !r.Written {
			t.Fatalf("matched %v written %v, want a mismatch that was written", r.Matched, r.Written)
		}
		if r.Before.Assigned["control"] != 8 || r.Before.Converted["treatment"]["purchase"] != 4 || r.Before.Exposed["ghost"] != 4 {
			t.Fatalf("before %+v does not show the tampering", r.Before)
		}
		if !reflect.DeepEqual(r.After, want) {
			t.Fatalf("after %+v, want %+v", r.After, want)
		}
		again := recount(t, map[string]string{"dry_run": "true"})
		if !again.Matched || again.Written || !reflect.DeepEqual(again.Before, want) {
			t.Fatalf("dry run after repair %+v", again)
		}
		// Results read the repaired counters.
		var res results.Report
		httpapitest.Decode(t, f.call(t, routes.AdminResults, "checkout", map[string]string{"event": "purchase"}), &res)
		if res.Variants[0].AssignedCount != 3 || res.Variants[1].ConvertedCount != 2 {
			t.Fatalf("results after repair %+v", res.Variants)
		}
	})
	t.Run("write when already right", func(t *testing.T) {
		r := recount(t, map[string]string{"dry_run": "false"})
		if !r.Matched || !r.Written || !reflect.DeepEqual(r.After, want) {
			t.Fatalf("%+v", r)
		}
	})
}
