package eventsapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
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
	"github.com/abtest/abtest/shared/edge/api/eventsapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/events"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// serverNow is the fixed clock of the handler under test.
var serverNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return serverNow }

func ts(d time.Duration) string { return serverNow.Add(d).Format(time.RFC3339Nano) }

func batch(evs ...string) string { return `{"events":[` + strings.Join(evs, ",") + `]}` }

func post(t *testing.T, h httpapi.Handler, user, body string) httpapi.Response {
	t.Helper()
	req := httpapitest.Request("", user, body)
	// The function serves two routes: name this one, so the response is
	// checked against its operation.
	req.RouteKey, req.RequestContext.RouteKey = routes.ClientEvents.Key(), routes.ClientEvents.Key()
	resp, err := apispectest.Handler(t, routes.Events, h)(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	return resp
}

func accepted(t *testing.T, resp httpapi.Response) events.Batch {
	t.Helper()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", resp.StatusCode, resp.Body)
	}
	var r events.Batch
	httpapitest.Decode(t, resp, &r)
	return r
}

// storedEvents returns the event items of a user, read with the raw client.
func storedEvents(t *testing.T, db *dynamodb.Client, table, user string) map[string]map[string]types.AttributeValue {
	t.Helper()
	out, err := db.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :e)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "USER#" + user}, ":e": &types.AttributeValueMemberS{Value: "EVT#"}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]map[string]types.AttributeValue{}
	for _, it := range out.Items {
		items[attrS(it, "id")] = it
	}
	if len(items) != len(out.Items) {
		t.Fatalf("%d items with %d distinct ids", len(out.Items), len(items))
	}
	return items
}

func attrS(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func TestBatchOutcomes(t *testing.T) {
	st, db, table := storetest.New(t)
	h := eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: fixedNow})
	const day = 24 * time.Hour
	long := strings.Repeat("n", experiment.MaxEventNameLen)
	cases := []struct {
		name  string
		event string
		code  string // "" = accepted
		id    string // the client id an accepted event must keep
	}{
		{"client id", `{"name":"purchase","id":"order-1","properties":{"amount": 12.5, "sku": "a"}}`, "", "order-1"},
		{"server id", `{"name":"purchase"}`, "", ""},
		{"another server id", `{"name":"signup","properties":null}`, "", ""},
		{"null id", `{"name":"signup","id":null}`, "", ""},
		{"dotted name", `{"name":"Checkout.Done-2_x"}`, "", ""},
		{"longest name", `{"name":"` + long + `"}`, "", ""},
		{"name with space", `{"name":"bad name"}`, events.CodeInvalid, ""},
		{"name with colon", `{"name":"a:b"}`, events.CodeInvalid, ""},
		{"name too long", `{"name":"` + long + `x"}`, events.CodeInvalid, ""},
		{"name leading underscore", `{"name":"_x"}`, events.CodeInvalid, ""},
		{"empty name", `{"name":""}`, events.CodeInvalid, ""},
		{"no name", `{"id":"no-name"}`, events.CodeInvalid, ""},
		{"name not a string", `{"name":5}`, events.CodeInvalid, ""},
		{"timestamp with space", `{"name":"p","timestamp":"2026-01-15 12:00:00"}`, events.CodeInvalid, ""},
		{"timestamp words", `{"name":"p","timestamp":"yesterday"}`, events.CodeInvalid, ""},
		{"timestamp without zone", `{"name":"p","timestamp":"2026-01-15T12:00:00"}`, events.CodeInvalid, ""},
		{"timestamp number", `{"name":"p","timestamp":1768478400}`, events.CodeInvalid, ""},
		{"6 minutes ahead", `{"name":"p","timestamp":"` + ts(6*time.Minute) + `"}`, events.CodeTooOld, ""},
		{"just over 5 minutes ahead", `{"name":"p","timestamp":"` + ts(5*time.Minute+time.Millisecond) + `"}`, events.CodeTooOld, ""},
		{"31 days old", `{"name":"p","timestamp":"` + ts(-31*day) + `"}`, events.CodeTooOld, ""},
		{"just over 30 days old", `{"name":"p","timestamp":"` + ts(-30*day-time.Millisecond) + `"}`, events.CodeTooOld, ""},
		{"4 minutes ahead", `{"name":"p","timestamp":"` + ts(4*time.Minute) + `"}`, "", ""},
		{"5 minutes ahead", `{"name":"p","timestamp":"` + ts(5*time.Minute) + `"}`, "", ""},
		{"29 days old", `{"name":"p","timestamp":"` + ts(-29*day) + `"}`, "", ""},
		{"30 days old", `{"name":"p","timestamp":"` + ts(-30*day) + `"}`, "", ""},
		{"zone offset", `{"name":"p","id":"tz","timestamp":"2026-01-15T13:00:00+01:00"}`, "", "tz"},
		{"properties array", `{"name":"p","properties":[1]}`, events.CodeInvalid, ""},
		{"properties string", `{"name":"p","properties":"x"}`, events.CodeInvalid, ""},
		{"properties number", `{"name":"p","properties":1}`, events.CodeInvalid, ""},
		{"properties bool", `{"name":"p","properties":true}`, events.CodeInvalid, ""},
		{"unknown field", `{"name":"p","colour":"red"}`, events.CodeInvalid, ""},
		{"user_id field", `{"name":"p","user_id":"mallory"}`, events.CodeInvalid, ""},
		{"not an object", `"purchase"`, events.CodeInvalid, ""},
		{"null event", `null`, events.CodeInvalid, ""},
		{"array event", `[{"name":"p"}]`, events.CodeInvalid, ""},
		{"empty id", `{"name":"p","id":""}`, events.CodeInvalid, ""},
		{"id too long", `{"name":"p","id":"` + strings.Repeat("i", events.MaxIDLen+1) + `"}`, events.CodeInvalid, ""},
		{"id with newline", `{"name":"p","id":"a\nb"}`, events.CodeInvalid, ""},
		{"id not a string", `{"name":"p","id":5}`, events.CodeInvalid, ""},
		{"longest id", `{"name":"p","id":"` + strings.Repeat("i", events.MaxIDLen) + `"}`, "", strings.Repeat("i", events.MaxIDLen)},
	}
	var evs []string
	for _, tc := range cases {
		evs = append(evs, tc.event)
	}
	r := accepted(t, post(t, h, "alice", batch(evs...)))
	if len(r.Results) != len(cases) {
		t.Fatalf("%d results for %d events", len(r.Results), len(cases))
	}
	wantAccepted, wantRejected := 0, 0
	serverIDs := map[string]bool{}
	for i, tc := range cases {
		got := r.Results[i]
		if got.Index != i {
			t.Errorf("%s: index %d, want %d", tc.name, got.Index, i)
		}
		if tc.code != "" {
			wantRejected++
			if got.Status != events.StatusReject || got.Error == nil || got.Error.Code != tc.code || got.Error.Message == "" || got.ID != "" {
				t.Errorf("%s: %+v (error %+v), want rejected with %s", tc.name, got, got.Error, tc.code)
			}
			continue
		}
		wantAccepted++
		if got.Status != events.StatusStored || got.Error != nil || got.ID == "" {
			t.Errorf("%s: %+v (error %+v), want accepted", tc.name, got, got.Error)
			continue
		}
		if tc.id != "" && got.ID != tc.id {
			t.Errorf("%s: id %q, want the client's %q", tc.name, got.ID, tc.id)
		}
		if tc.id == "" {
			if serverIDs[got.ID] {
				t.Errorf("%s: server id %s given twice", tc.name, got.ID)
			}
			serverIDs[got.ID] = true
		}
	}
	if r.Accepted != wantAccepted || r.Rejected != wantRejected || r.Duplicates != 0 {
		t.Fatalf("counts %d/%d/%d, want %d accepted %d rejected", r.Accepted, r.Duplicates, r.Rejected, wantAccepted, wantRejected)
	}

	// Exactly the accepted events are stored, with what the client sent.
	items := storedEvents(t, db, table, "alice")
	if len(items) != wantAccepted {
		t.Fatalf("%d event items stored, want %d", len(items), wantAccepted)
	}
	order := items["order-1"]
	if attrS(order, "name") != "purchase" || attrS(order, "properties") != `{"amount":12.5,"sku":"a"}` || attrS(order, "user_id") != "alice" {
		t.Errorf("stored order-1: %v", order)
	}
	// No timestamp: the server's time; an offset: normalized to UTC.
	if got := attrS(order, "timestamp"); !strings.HasPrefix(got, "2026-01-15T12:00:00") {
		t.Errorf("timestamp of an event without one: %s", got)
	}
	if got := attrS(items["tz"], "timestamp"); !strings.HasPrefix(got, "2026-01-15T12:00:00") || !strings.HasSuffix(got, "Z") {
		t.Errorf("timestamp of an offset event: %s", got)
	}

	t.Run("repeated ids", func(t *testing.T) {
		r := accepted(t, post(t, h, "alice", batch(
			`{"name":"purchase","id":"order-1"}`,
			`{"name":"refund","id":"order-1","properties":{"x":1}}`,
			`{"name":"purchase","id":"order-2"}`,
			`{"name":"purchase","id":"order-2"}`,
		)))
		var statuses, ids []string
		for _, o := range r.Results {
			statuses = append(statuses, o.Status)
			ids = append(ids, o.ID)
		}
		if want := []string{"duplicate", "duplicate", "accepted", "duplicate"}; !reflect.DeepEqual(statuses, want) {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
		if want := []string{"order-1", "order-1", "order-2", "order-2"}; !reflect.DeepEqual(ids, want) {
			t.Fatalf("ids %v", ids)
		}
		if r.Accepted != 1 || r.Duplicates != 3 || r.Rejected != 0 {
			t.Fatalf("counts %+v", r)
		}
		items := storedEvents(t, db, table, "alice")
		if len(items) != wantAccepted+1 {
			t.Fatalf("%d items after duplicates, want %d", len(items), wantAccepted+1)
		}
		if o := items["order-1"]; attrS(o, "name") != "purchase" || attrS(o, "properties") != `{"amount":12.5,"sku":"a"}` {
			t.Fatalf("a duplicate overwrote the first event: %v", o)
		}
	})
	t.Run("ids are per user", func(t *testing.T) {
		r := accepted(t, post(t, h, "bob", batch(`{"name":"purchase","id":"order-1"}`)))
		if r.Accepted != 1 || r.Results[0].Status != events.StatusStored {
			t.Fatalf("bob's order-1: %+v", r)
		}
		if n := len(storedEvents(t, db, table, "bob")); n != 1 {
			t.Fatalf("bob has %d events", n)
		}
	})
	t.Run("all rejected", func(t *testing.T) {
		r := accepted(t, post(t, h, "carol", batch(`{"name":"a:b"}`, `{}`)))
		if r.Rejected != 2 || r.Accepted != 0 {
			t.Fatalf("%+v", r)
		}
		if n := len(storedEvents(t, db, table, "carol")); n != 0 {
			t.Fatalf("carol has %d events", n)
		}
	})
}

func TestBatchErrors(t *testing.T) {
	st, db, table := storetest.New(t)
	h := eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: fixedNow})
	ev := `{"name":"p"}`
	many := func(n int) string {
		evs := make([]string, n)
		for i := range evs {
			evs[i] = fmt.Sprintf(`{"name":"p","id":"e%d"}`, i)
		}
		return batch(evs...)
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
		field  bool // details.fields.events expected
	}{
		{"not json", "nope", http.StatusBadRequest, fault.CodeInvalidJSON, false},
		{"array body", `[` + ev + `]`, http.StatusBadRequest, fault.CodeInvalidJSON, false},
		{"truncated", `{"events":[` + ev, http.StatusBadRequest, fault.CodeInvalidJSON, false},
		{"trailing data", batch(ev) + ` {}`, http.StatusBadRequest, fault.CodeInvalidJSON, false},
		{"empty body", "", http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"null body", "null", http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"empty object", `{}`, http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"no events", `{"events":[]}`, http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"101 events", many(events.MaxBatch + 1), http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"events an object", `{"events":{"name":"p"}}`, http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"events a string", `{"events":"p"}`, http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"events null", `{"events":null}`, http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"events a number", `{"events":1}`, http.StatusBadRequest, fault.CodeValidationFailed, true},
		{"unknown top-level field", `{"events":[` + ev + `],"user_id":"mallory"}`, http.StatusBadRequest, fault.CodeValidationFailed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, post(t, h, "dave", tc.body), tc.status, tc.code)
			if tc.field {
				f, _ := eb.Error.Details["fields"].(map[string]any)
				if _, ok := f["events"]; !ok {
					t.Fatalf("details %v lack fields.events", eb.Error.Details)
				}
			}
		})
	}
	if n := len(storedEvents(t, db, table, "dave")); n != 0 {
		t.Fatalf("refused batches stored %d events", n)
	}
	t.Run("no caller", func(t *testing.T) {
		httpapitest.ExpectError(t, post(t, h, "", batch(ev)), http.StatusUnauthorized, fault.CodeUnauthenticated)
	})
	t.Run("admin key", func(t *testing.T) {
		resp, err := h(context.Background(), httpapitest.AdminRequest(routes.ClientEvents, "", batch(ev)))
		if err != nil {
			t.Fatal(err)
		}
		httpapitest.ExpectError(t, resp, http.StatusForbidden, fault.CodeForbidden)
	})
	t.Run("100 events", func(t *testing.T) {
		r := accepted(t, post(t, h, "erin", many(events.MaxBatch)))
		if r.Accepted != events.MaxBatch || len(r.Results) != events.MaxBatch {
			t.Fatalf("%d accepted of %d", r.Accepted, len(r.Results))
		}
		if n := len(storedEvents(t, db, table, "erin")); n != events.MaxBatch {
			t.Fatalf("%d stored", n)
		}
	})
}

func TestConversionsReachCounters(t *testing.T) {
	ctx := context.Background()
	st, _, table := storetest.New(t)
	assignedAt := serverNow.Add(-time.Hour)
	// Assignments and exposures happen an hour before the handler's now.
	early := st.WithClock(func() time.Time { return assignedAt })
	e := &experiment.Experiment{Key: "checkout", Name: "Checkout", Events: []string{"purchase", "signup", "refund"}, Status: experiment.Active, Coverage: 1, Version: 1,
		CreatedAt: assignedAt.Add(-time.Hour), UpdatedAt: assignedAt.Add(-time.Hour),
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
	if err := st.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	assign := func(user, variant string, exposed bool) {
		t.Helper()
		a, _, err := early.CreateAssignment(ctx, "checkout", experiment.UserUnit(user), variant)
		if err != nil {
			t.Fatal(err)
		}
		if exposed {
			if _, _, err := early.RecordExposure(ctx, a, variant, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	assign("buyer", "treatment", true)
	assign("lurker", "control", false)
	assign("backdated", "control", true)
	h := eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: fixedNow})
	converted := func() map[string]int64 {
		t.Helper()
		storetest.Drain(t, table)
		storetest.Drain(t, table)
		agg, err := st.ReadAggregates(ctx, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		return map[string]int64{"control": agg.Converted["control"]["purchase"], "treatment": agg.Converted["treatment"]["purchase"]}
	}
	steps := []struct {
		name string
		user string
		body string
		want map[string]int64
	}{
		{"exposed user converts", "buyer", batch(`{"name":"purchase","id":"p1"}`), map[string]int64{"control": 0, "treatment": 1}},
		{"second purchase counts once", "buyer", batch(`{"name":"purchase","id":"p2"}`), map[string]int64{"control": 0, "treatment": 1}},
		{"retried id", "buyer", batch(`{"name":"purchase","id":"p1"}`), map[string]int64{"control": 0, "treatment": 1}},
		{"unexposed user is not counted", "lurker", batch(`{"name":"purchase","id":"l1"}`), map[string]int64{"control": 0, "treatment": 1}},
		{"event before assignment", "backdated", batch(`{"name":"purchase","id":"b1","timestamp":"` + ts(-2*time.Hour) + `"}`), map[string]int64{"control": 0, "treatment": 1}},
		{"unassigned user", "stranger", batch(`{"name":"purchase","id":"s1"}`), map[string]int64{"control": 0, "treatment": 1}},
		{"other event", "buyer", batch(`{"name":"signup","id":"p3"}`), map[string]int64{"control": 0, "treatment": 1}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			accepted(t, post(t, h, s.user, s.body))
			if got := converted(); !reflect.DeepEqual(got, s.want) {
				t.Fatalf("converted %v, want %v", got, s.want)
			}
		})
	}
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if agg.Converted["treatment"]["signup"] != 1 {
		t.Fatalf("signup conversions %v", agg.Converted)
	}
	// The lurker's purchase is remembered and counted at the first exposure.
	a, err := st.GetAssignment(ctx, "checkout", experiment.UserUnit("lurker"), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := early.RecordExposure(ctx, a, "control", ""); err != nil {
		t.Fatal(err)
	}
	if got := converted(); got["control"] != 1 {
		t.Fatalf("after the lurker's exposure: %v", got)
	}
}

// failing lets the first `allow` writes through and then fails every write,
// as a DynamoDB outage would; reads keep working.
type failing struct {
	store.DynamoDB
	allow  int64
	writes atomic.Int64
}

const internalText = "dial tcp 10.1.2.3:443: connection refused (secret-internal-detail)"

func (f *failing) fail() error {
	if f.writes.Add(1) > f.allow {
		return errors.New(internalText)
	}
	return nil
}

func (f *failing) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.DynamoDB.PutItem(ctx, in, o...)
}

func (f *failing) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := f.fail(); err != nil {
		return nil, err
	}
	return f.DynamoDB.TransactWriteItems(ctx, in, o...)
}

func TestDependencyFailure(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	e := &experiment.Experiment{Key: "exp", Name: "E", Events: []string{"purchase", "signup"}, Status: experiment.Active, Coverage: 1, Version: 1, CreatedAt: serverNow.Add(-48 * time.Hour), UpdatedAt: serverNow.Add(-48 * time.Hour),
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
	if err := st.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	early := st.WithClock(func() time.Time { return serverNow.Add(-time.Hour) })
	a, _, err := early.CreateAssignment(ctx, "exp", experiment.UserUnit("exposed-user"), "treatment")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := early.RecordExposure(ctx, a, "treatment", ""); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		user   string // plain puts for a user without assignments, transactions otherwise
		allow  int64
		body   string
		stored []any
	}{
		{"plain put fails", "nobody", 0, batch(`{"name":"p","id":"x1"}`), []any{}},
		{"transaction fails", "exposed-user", 0, batch(`{"name":"purchase","id":"x1"}`), []any{}},
		{"fails midway", "midway", 1, batch(`{"name":"a:b"}`, `{"name":"p","id":"m1"}`, `{"name":"p","id":"m2"}`, `{"name":"p","id":"m3"}`), []any{float64(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &failing{DynamoDB: db, allow: tc.allow}
			h := eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: store.New(f, table), Definitions: snapshot.New(st, 0), Now: fixedNow})
			resp := post(t, h, tc.user, tc.body)
			eb := httpapitest.ExpectError(t, resp, http.StatusInternalServerError, events.CodeFailed)
			for _, leak := range []string{"connection refused", "secret-internal-detail", "10.1.2.3"} {
				if strings.Contains(resp.Body, leak) {
					t.Fatalf("500 body leaks %q: %s", leak, resp.Body)
				}
			}
			if got := eb.Error.Details["stored_indexes"]; !reflect.DeepEqual(got, tc.stored) {
				t.Fatalf("stored_indexes %#v, want %#v", got, tc.stored)
			}
			// Once DynamoDB is back, the same batch stores the rest and
			// nothing twice.
			r := accepted(t, post(t, eventsapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: fixedNow}), tc.user, tc.body))
			if r.Duplicates != len(tc.stored) {
				t.Fatalf("retry: %+v", r)
			}
			if n := len(storedEvents(t, db, table, tc.user)); n != r.Accepted+r.Duplicates {
				t.Fatalf("%d stored, want %d", n, r.Accepted+r.Duplicates)
			}
		})
	}
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	if agg.Converted["treatment"]["purchase"] != 1 {
		t.Fatalf("conversions after a failed and a retried batch: %v", agg.Converted)
	}
}
