package evaluateapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/evaluateapi"
	"github.com/abtest/abtest/shared/edge/api/eventsapi"
	"github.com/abtest/abtest/shared/edge/api/exposureapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	table    string
	db       *dynamodb.Client
	store    *store.Store
	counter  *storetest.Counting
	evaluate httpapi.Handler
	exposure httpapi.Handler
	events   httpapi.Handler
}

func exp(key string, status experiment.Status, mod func(*experiment.Experiment)) *experiment.Experiment {
	now := time.Now().UTC()
	e := &experiment.Experiment{Key: key, Name: key, Status: status, Coverage: 1, Version: 1, CreatedAt: now, UpdatedAt: now, Events: []string{"purchase"},
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1, Payload: json.RawMessage(`{"color":"green"}`)}}}
	if mod != nil {
		mod(e)
	}
	return e
}

func flagOf(t *testing.T, key string, typ flag.Type, def, rules string) *flag.Flag {
	t.Helper()
	p := experiment.Problems{}
	rs := flag.ParseRules(p, "rules", json.RawMessage(rules))
	if len(p) > 0 {
		t.Fatalf("rules of %s: %v", key, p)
	}
	now := time.Now().UTC()
	return &flag.Flag{Key: key, Type: typ, DefaultValue: json.RawMessage(def), Enabled: true, Rules: rs, Version: 1, CreatedAt: now, UpdatedAt: now}
}

// setup stores the experiments and flags, then wires the three functions
// on one counting client, with definitions, groups, holdouts and flags in
// memory as deployed.
func setup(t *testing.T, exps []*experiment.Experiment, flags []*flag.Flag) fixture {
	t.Helper()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	counter := storetest.NewCounting(db)
	st := store.New(counter, table)
	ctx := context.Background()
	for _, e := range exps {
		if err := st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range flags {
		if err := st.CreateFlag(ctx, f, store.Change{Version: 1, By: "test", At: time.Now().UTC(), Action: "create"}); err != nil {
			t.Fatal(err)
		}
	}
	d := lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, time.Minute), Groups: snapshot.NewGroups(st, time.Minute),
		Holdouts: snapshot.NewHoldouts(st, time.Minute), Flags: snapshot.NewFlags(st, time.Minute), Now: time.Now}
	return fixture{table: table, db: db, store: st, counter: counter,
		evaluate: evaluateapi.Wire(d), exposure: exposureapi.Wire(d), events: eventsapi.Wire(d)}
}

func (f fixture) call(t *testing.T, h httpapi.Handler, req httpapi.Request, want int, dst any) httpapi.Response {
	t.Helper()
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s: %d %s, want %d", req.RouteKey, resp.StatusCode, resp.Body, want)
	}
	if dst != nil {
		httpapitest.Decode(t, resp, dst)
	}
	return resp
}

func client(route routes.Route, user, device, body string) httpapi.Request {
	req := httpapitest.RouteRequest(route, apikey.RoleClient, user, body)
	if device != "" {
		req.Headers[httpapi.HeaderDeviceID] = device
	}
	return req
}

func experimentsOf(t *testing.T) []*experiment.Experiment {
	t.Helper()
	return []*experiment.Experiment{
		exp("hero", experiment.Active, nil),
		exp("pricing", experiment.Active, func(e *experiment.Experiment) { e.Unit = experiment.UnitDevice }),
		exp("us-only", experiment.Active, func(e *experiment.Experiment) {
			p := experiment.Problems{}
			e.Condition = experiment.CompileCondition(p, []byte(`{"country":"US"}`))
			if len(p) > 0 {
				t.Fatal(p)
			}
		}),
		exp("later", experiment.Draft, nil),
	}
}

// TestEvaluate: one call answers every active experiment and every flag;
// a repeat costs one Query; GET never writes and may be cached; named
// unknown keys are listed as missing; the device id reaches device-unit
// experiments; flags' experiment rules follow the unit's variant.
func TestEvaluate(t *testing.T) {
	f := setup(t, experimentsOf(t), []*flag.Flag{
		flagOf(t, "new-nav", flag.Boolean, `false`, `[{"experiment":"hero","values":{"control":false,"treatment":true}}]`),
		flagOf(t, "banner", flag.String, `"none"`, `[{"condition":{"plan":"pro"},"value":"gold"}]`),
	})
	var first evaluateapi.Response
	f.call(t, f.evaluate, client(routes.ClientEvaluate, "alice", "dev-1", `{"attributes":{"country":"US","plan":"pro"}}`), http.StatusOK, &first)
	if first.Unit.UserID == nil || *first.Unit.UserID != "alice" || first.Unit.DeviceID == nil || *first.Unit.DeviceID != "dev-1" {
		t.Fatalf("unit %+v", first.Unit)
	}
	if len(first.Experiments) != 3 {
		t.Fatalf("experiments %v, want the three active ones", first.Experiments)
	}
	for _, k := range []string{"hero", "pricing", "us-only"} {
		if e := first.Experiments[k]; !e.InExperiment || e.Reason != "assigned" {
			t.Fatalf("%s: %+v", k, e)
		}
	}
	if _, err := f.store.GetAssignment(context.Background(), "pricing", experiment.DeviceUnit("dev-1"), true); err != nil {
		t.Fatalf("the device's assignment: %v", err)
	}
	hero := first.Experiments["hero"].Variant
	nav := first.Flags["new-nav"]
	if nav.Source != "experiment" || nav.Experiment == nil || *nav.Experiment != "hero" || nav.Variant == nil || *nav.Variant != hero ||
		string(nav.Value) != map[string]string{"control": "false", "treatment": "true"}[hero] {
		t.Fatalf("new-nav %+v with hero %s", nav, hero)
	}
	if b := first.Flags["banner"]; b.Source != "force" || string(b.Value) != `"gold"` {
		t.Fatalf("banner %+v", b)
	}

	// A repeat of a unit assigned to everything asked: one Query.
	f.counter.Reset()
	var again evaluateapi.Response
	f.call(t, f.evaluate, client(routes.ClientEvaluate, "alice", "", `{"experiments":["hero","us-only"],"flags":["new-nav","banner"]}`), http.StatusOK, &again)
	if calls := f.counter.Calls(); calls["Query"] != 1 || f.counter.Total() != 1 {
		t.Fatalf("repeat evaluation cost %v, want one Query", calls)
	}
	for _, k := range []string{"hero", "us-only"} {
		if e := again.Experiments[k]; e.Reason != "sticky" || e.Variant != first.Experiments[k].Variant {
			t.Fatalf("repeat %s: %+v", k, e)
		}
	}
	if again.Flags["banner"].Source != "default" {
		t.Fatalf("banner without attributes: %+v", again.Flags["banner"])
	}

	// Without a device id a device experiment names no unit; unknown keys
	// are missing, not errors; a draft is inactive.
	var named evaluateapi.Response
	f.call(t, f.evaluate, client(routes.ClientEvaluate, "alice", "", `{"experiments":["pricing","nope","later"],"flags":["gone"]}`), http.StatusOK, &named)
	if e := named.Experiments["pricing"]; e.InExperiment || e.Reason != "no_unit_id" || e.Variant != "control" {
		t.Fatalf("pricing without a device: %+v", e)
	}
	if e := named.Experiments["later"]; e.InExperiment || e.Reason != "inactive" {
		t.Fatalf("a draft: %+v", e)
	}
	if len(named.Missing) != 2 || named.Missing[0] != "gone" || named.Missing[1] != "nope" {
		t.Fatalf("missing %v", named.Missing)
	}

	// GET never writes: bob gets would-be answers, nothing is stored.
	f.counter.Reset()
	get := client(routes.ClientEvaluateRead, "bob", "", "")
	get.QueryStringParameters = map[string]string{"attributes": `{"country":"FR"}`, "experiments": "hero,us-only"}
	var read evaluateapi.Response
	resp := f.call(t, f.evaluate, get, http.StatusOK, &read)
	if cc := resp.Headers["cache-control"]; cc != "private, max-age=30" {
		t.Fatalf("cache-control %q", cc)
	}
	if e := read.Experiments["hero"]; e.InExperiment || e.Reason != "not_assigned" {
		t.Fatalf("GET hero: %+v", e)
	}
	if e := read.Experiments["us-only"]; e.InExperiment || e.Reason != "not_targeted" {
		t.Fatalf("GET us-only: %+v", e)
	}
	for op := range f.counter.Calls() {
		if op != "Query" && op != "GetItem" {
			t.Fatalf("GET made a %s", op)
		}
	}
	get.QueryStringParameters["track"] = "true"
	httpapitest.ExpectError(t, f.call(t, f.evaluate, get, http.StatusBadRequest, nil), http.StatusBadRequest, fault.CodeValidationFailed)

	// Bad input is refused before anything is read.
	for _, body := range []string{`{"experiments":["Bad Key"]}`, `{"attributes":[1]}`, `{"unknown":1}`, `[]`} {
		resp, _ := f.evaluate(context.Background(), client(routes.ClientEvaluate, "alice", "", body))
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, resp.Body)
		}
	}
}

// TestTrackDeduplicatesPerDay: "track": true records one exposure per
// enrolled experiment, and evaluating again the same day stores no more.
func TestTrackDeduplicatesPerDay(t *testing.T) {
	f := setup(t, experimentsOf(t), nil)
	for range 3 {
		f.call(t, f.evaluate, client(routes.ClientEvaluate, "carol", "dev-9", `{"attributes":{"country":"US"},"track":true}`), http.StatusOK, nil)
	}
	out, err := f.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(f.table),
		FilterExpression:          aws.String("begins_with(sk, :x)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: "EXPO#"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 3 {
		t.Fatalf("%d exposure items after three tracked evaluations, want 3 (hero, us-only for carol; pricing for dev-9)", len(out.Items))
	}
	for _, k := range []string{"hero", "us-only"} {
		a, err := f.store.GetAssignment(context.Background(), k, experiment.UserUnit("carol"), true)
		if err != nil || !a.Exposed() {
			t.Fatalf("%s: %+v %v", k, a, err)
		}
	}
}

// TestServerRoutes: a server key acts for any unit named in the body; the
// other roles are refused; exposures and events take a unit per item.
func TestServerRoutes(t *testing.T) {
	f := setup(t, experimentsOf(t), nil)
	server := func(route routes.Route, body string) httpapi.Request {
		return httpapitest.RouteRequest(route, apikey.RoleServer, "", body)
	}
	var ans evaluateapi.Response
	f.call(t, f.evaluate, server(routes.ServerEvaluate, `{"user_id":"dave","device_id":"dev-4","attributes":{"country":"US"}}`), http.StatusOK, &ans)
	if len(ans.Experiments) != 3 || !ans.Experiments["pricing"].InExperiment || !ans.Experiments["hero"].InExperiment {
		t.Fatalf("server evaluate: %+v", ans.Experiments)
	}
	var deviceOnly evaluateapi.Response
	f.call(t, f.evaluate, server(routes.ServerEvaluate, `{"device_id":"dev-5","experiments":["hero","pricing"]}`), http.StatusOK, &deviceOnly)
	if e := deviceOnly.Experiments["hero"]; e.Reason != "no_unit_id" || !deviceOnly.Experiments["pricing"].InExperiment {
		t.Fatalf("device only: %+v", deviceOnly.Experiments)
	}
	httpapitest.ExpectError(t, f.call(t, f.evaluate, server(routes.ServerEvaluate, `{"attributes":{}}`), http.StatusBadRequest, nil), http.StatusBadRequest, fault.CodeValidationFailed)

	// Roles: a client key on a server route and a server key on a client
	// route are refused.
	wrong := httpapitest.RouteRequest(routes.ServerEvaluate, apikey.RoleClient, "eve", `{"user_id":"dave"}`)
	httpapitest.ExpectError(t, f.call(t, f.evaluate, wrong, http.StatusForbidden, nil), http.StatusForbidden, fault.CodeForbidden)
	httpapitest.ExpectError(t, f.call(t, f.evaluate, server(routes.ClientEvaluate, `{}`), http.StatusForbidden, nil), http.StatusForbidden, fault.CodeForbidden)
	httpapitest.ExpectError(t, f.call(t, f.exposure, server(routes.ClientExposure, ``), http.StatusForbidden, nil), http.StatusForbidden, fault.CodeForbidden)

	var xb struct {
		Accepted, Duplicates, Rejected int
		Results                        []struct {
			Status string
			Error  *struct{ Code string }
		}
	}
	f.call(t, f.exposure, server(routes.ServerExposures, `{"exposures":[
		{"user_id":"dave","experiment":"hero","id":"v1"},
		{"user_id":"dave","experiment":"hero","id":"v1"},
		{"device_id":"dev-4","experiment":"pricing"},
		{"user_id":"nobody","experiment":"hero"},
		{"experiment":"hero"},
		{"user_id":"dave","experiment":"hero","extra":1}]}`), http.StatusAccepted, &xb)
	if xb.Accepted != 2 || xb.Duplicates != 1 || xb.Rejected != 3 ||
		xb.Results[3].Error.Code != "ASSIGNMENT_REQUIRED" || xb.Results[4].Error.Code != "INVALID_EXPOSURE" || xb.Results[5].Error.Code != "INVALID_EXPOSURE" {
		t.Fatalf("server exposures: %+v", xb)
	}
	var eb struct{ Accepted, Duplicates, Rejected int }
	f.call(t, f.events, server(routes.ServerEvents, `{"events":[
		{"user_id":"dave","device_id":"dev-4","name":"purchase","id":"o1"},
		{"device_id":"dev-5","name":"purchase","id":"o2"},
		{"user_id":"dave","name":"purchase","id":"o1"},
		{"name":"purchase"}]}`), http.StatusAccepted, &eb)
	if eb.Accepted != 2 || eb.Duplicates != 1 || eb.Rejected != 1 {
		t.Fatalf("server events: %+v", eb)
	}
	for unit, key := range map[experiment.UnitRef]string{experiment.UserUnit("dave"): "hero", experiment.DeviceUnit("dev-4"): "pricing"} {
		a, err := f.store.GetAssignment(context.Background(), key, unit, true)
		if err != nil || !a.Converted("purchase") {
			t.Fatalf("%s in %s: %+v %v", unit, key, a, err)
		}
	}
	// A client's event naming a unit is refused: the session names it.
	var cb struct{ Rejected int }
	f.call(t, f.events, client(routes.ClientEvents, "eve", "", `{"events":[{"user_id":"dave","name":"purchase"}]}`), http.StatusAccepted, &cb)
	if cb.Rejected != 1 {
		t.Fatalf("client event naming a user: %+v", cb)
	}
}

// TestServerEventThatCannotBeReadNamesNoUnit: an unreadable event that
// names no unit is rejected alone; the batch is not failed.
func TestServerEventThatCannotBeReadNamesNoUnit(t *testing.T) {
	f := setup(t, experimentsOf(t), nil)
	var eb struct {
		Accepted, Rejected int
		Results            []struct{ Error *struct{ Code string } }
	}
	f.call(t, f.events, httpapitest.RouteRequest(routes.ServerEvents, apikey.RoleServer, "", `{"events":[{"name":5},{"user_id":"zoe","name":"purchase"}]}`), http.StatusAccepted, &eb)
	if eb.Accepted != 1 || eb.Rejected != 1 || eb.Results[0].Error == nil || eb.Results[0].Error.Code != "INVALID_EVENT" {
		t.Fatalf("batch %+v", eb)
	}
}

// TestEvaluationWritesOnlyTheUnit: an evaluation that enrols and tracks, and
// events sent with a device id, write nothing but the user's and the
// device's own items (no definition, no counter, no other unit). DynamoDB
// Local never reports the conflicts shared items cause on DynamoDB, so this
// is checked on every item each write names.
func TestEvaluationWritesOnlyTheUnit(t *testing.T) {
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	seen := storetest.NewPartitions(db)
	st := store.New(seen, table)
	ctx := context.Background()
	for _, e := range experimentsOf(t) {
		if err := st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	d := lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, time.Minute), Groups: snapshot.NewGroups(st, time.Minute),
		Holdouts: snapshot.NewHoldouts(st, time.Minute), Flags: snapshot.NewFlags(st, time.Minute), Now: time.Now}
	f := fixture{table: table, db: db, store: st, evaluate: evaluateapi.Wire(d), exposure: exposureapi.Wire(d), events: eventsapi.Wire(d)}
	seen.Reset()
	var ans evaluateapi.Response
	f.call(t, f.evaluate, client(routes.ClientEvaluate, "alice", "dev-1", `{"attributes":{"country":"US"},"track":true}`), http.StatusOK, &ans)
	if len(ans.Experiments) != 3 {
		t.Fatalf("evaluation: %+v", ans.Experiments)
	}
	f.call(t, f.events, client(routes.ClientEvents, "alice", "dev-1", `{"events":[{"name":"purchase","id":"o1"}]}`), http.StatusAccepted, nil)
	f.call(t, f.events, httpapitest.RouteRequest(routes.ServerEvents, apikey.RoleServer, "", `{"events":[{"user_id":"alice","device_id":"dev-1","name":"purchase","id":"o2"}]}`), http.StatusAccepted, nil)
	if other := seen.OtherThan("USER#alice", "DEVICE#dev-1"); len(other) > 0 {
		t.Fatalf("writes touched items of other partitions: %v", other)
	}
	a, err := st.GetAssignment(ctx, "pricing", experiment.DeviceUnit("dev-1"), true)
	if err != nil || !a.Exposed() || !a.Converted("purchase") {
		t.Fatalf("the device's assignment: %+v %v", a, err)
	}
}
