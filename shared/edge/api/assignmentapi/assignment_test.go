package assignmentapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"
	"github.com/abtest/abtest/shared/edge/routes"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/usecase/assignment"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	table   string
	store   *store.Store
	counter *storetest.Counting
	handler httpapi.Handler
}

func setup(t *testing.T, ttl time.Duration, exps ...*experiment.Experiment) fixture {
	t.Helper()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	counter := storetest.NewCounting(db)
	st := store.New(counter, table)
	for _, e := range exps {
		if err := st.CreateExperiment(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	counter.Reset()
	return fixture{table: table, store: st, counter: counter, handler: apispectest.Handler(t, routes.Assignment, assignmentapi.New(quiet, assignment.New(snapshot.New(st, ttl), st)))}
}

func exp(key string, status experiment.Status, weights ...float64) *experiment.Experiment {
	now := time.Now().UTC()
	e := &experiment.Experiment{Key: key, Name: key, Status: status, Coverage: 1, Version: 1, CreatedAt: now, UpdatedAt: now}
	for i, w := range weights {
		v := experiment.Variant{Key: []string{"control", "treatment", "third"}[i], Weight: w}
		if i == 1 {
			v.Payload = json.RawMessage(`{"color":"green"}`)
		}
		e.Variants = append(e.Variants, v)
	}
	return e
}

func call(t *testing.T, f fixture, key, user string) (httpapi.Response, assignmentapi.Response) {
	t.Helper()
	return callWith(t, f, key, user, nil)
}

func TestStickyAssignment(t *testing.T) {
	f := setup(t, time.Minute, exp("sticky", experiment.Active, 1, 1))
	resp, first := call(t, f, "sticky", "alice")
	if resp.StatusCode != http.StatusOK || first.Experiment != "sticky" || first.Variant == "" {
		t.Fatalf("first call: %d %s", resp.StatusCode, resp.Body)
	}
	if first.AssignedAt == nil || !first.InExperiment || first.Reason != "assigned" {
		t.Fatalf("first call: %+v", first)
	}
	if _, err := time.Parse(time.RFC3339, *first.AssignedAt); err != nil {
		t.Fatalf("assigned_at %q: %v", *first.AssignedAt, err)
	}
	wantPayload := "null"
	if first.Variant == "treatment" {
		wantPayload = `{"color":"green"}`
	}
	if string(first.Payload) != wantPayload {
		t.Fatalf("payload %s, want %s", first.Payload, wantPayload)
	}
	for i := 0; i < 5; i++ {
		_, again := call(t, f, "sticky", "alice")
		if again.Variant != first.Variant || *again.AssignedAt != *first.AssignedAt || string(again.Payload) != string(first.Payload) || again.Reason != "sticky" {
			t.Fatalf("call %d: %+v, want %+v", i, again, first)
		}
	}
}

// TestRepeatAssignmentCost pins the DynamoDB round trips of each path.
func TestRepeatAssignmentCost(t *testing.T) {
	f := setup(t, time.Minute, exp("cost", experiment.Active, 1, 1))
	call(t, f, "cost", "bob")
	if got := f.counter.Calls(); got["Query"] != 1 || got["GetItem"] != 1 || got["PutItem"] != 1 || f.counter.Total() != 3 {
		t.Fatalf("first assignment calls %v, want 1 Query (the definitions snapshot), 1 GetItem (assignment) + 1 conditional PutItem", got)
	}
	f.counter.Reset()
	call(t, f, "cost", "bob")
	if got := f.counter.Calls(); got["GetItem"] != 1 || f.counter.Total() != 1 {
		t.Fatalf("repeat assignment with the definition in memory: %v, want 1 GetItem", got)
	}
	// Without a snapshot: at most two reads.
	nocache := setup(t, 0, exp("cost", experiment.Active, 1, 1))
	call(t, nocache, "cost", "bob")
	nocache.counter.Reset()
	call(t, nocache, "cost", "bob")
	if got := nocache.counter.Calls(); got["GetItem"] != 2 || nocache.counter.Total() != 2 {
		t.Fatalf("repeat assignment without a snapshot: %v, want 2 GetItem", got)
	}
}

func TestStickyAfterReweightAndPause(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 0, exp("rw", experiment.Active, 1, 1))
	users := make([]string, 40)
	before := map[string]string{}
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
		_, r := call(t, f, "rw", users[i])
		before[users[i]] = r.Variant
	}
	// Re-weight everything to treatment, then pause: existing users keep
	// their variant, new users are refused.
	e, _ := f.store.GetExperiment(ctx, "rw")
	e.Variants[0].Weight, e.Variants[1].Weight = 0, 1
	e.Status = experiment.Paused
	replaceExperiment(t, f, e)
	for _, u := range users {
		resp, r := call(t, f, "rw", u)
		if resp.StatusCode != http.StatusOK || r.Variant != before[u] {
			t.Fatalf("%s: %d %s, want variant %s", u, resp.StatusCode, resp.Body, before[u])
		}
	}
	resp, _ := call(t, f, "rw", "newcomer")
	body := httpapitest.ExpectError(t, resp, http.StatusConflict, experiment.CodeInactive)
	if body.Error.Details["status"] != "paused" {
		t.Fatalf("details %v", body.Error.Details)
	}
}

// replaceExperiment saves a changed definition as the admin API does.
func replaceExperiment(t *testing.T, f fixture, e *experiment.Experiment) {
	t.Helper()
	prev, err := f.store.GetExperiment(context.Background(), e.Key)
	if err != nil {
		t.Fatal(err)
	}
	e.Version = prev.Version + 1
	if err := f.store.SaveExperiment(context.Background(), e, prev, store.Change{Version: e.Version, Action: "update", By: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	f := setup(t, time.Minute,
		exp("draft-exp", experiment.Draft, 1, 1),
		exp("ended-exp", experiment.Ended, 1, 1),
		exp("zero", experiment.Active, 0, 0),
	)
	resp, _ := call(t, f, "missing", "u")
	httpapitest.ExpectError(t, resp, http.StatusNotFound, experiment.CodeNotFound)
	resp, _ = call(t, f, "Bad Key", "u")
	httpapitest.ExpectError(t, resp, http.StatusBadRequest, fault.CodeInvalidKey)
	resp, _ = call(t, f, "draft-exp", "")
	httpapitest.ExpectError(t, resp, http.StatusUnauthorized, fault.CodeUnauthenticated)
	resp, _ = call(t, f, "draft-exp", "u")
	e := httpapitest.ExpectError(t, resp, http.StatusConflict, experiment.CodeInactive)
	if e.Error.Details["status"] != "draft" {
		t.Fatalf("details %v", e.Error.Details)
	}
	resp, _ = call(t, f, "ended-exp", "u")
	httpapitest.ExpectError(t, resp, http.StatusConflict, experiment.CodeInactive)
	resp, _ = call(t, f, "zero", "u")
	httpapitest.ExpectError(t, resp, http.StatusUnprocessableEntity, experiment.CodeNoValidVariants)
	if n := f.counter.Calls()["TransactWriteItems"]; n != 0 {
		t.Fatalf("%d writes for refused requests, want 0", n)
	}
}

// TestZeroWeightVariantGetsNoNewUsers: a variant at weight 0 is never chosen.
func TestZeroWeightVariantGetsNoNewUsers(t *testing.T) {
	f := setup(t, time.Minute, exp("zw", experiment.Active, 1, 0, 1))
	for i := 0; i < 60; i++ {
		_, r := call(t, f, "zw", "u"+strings.Repeat("-", i))
		if r.Variant == "treatment" {
			t.Fatalf("zero-weight variant assigned")
		}
	}
}

// TestConcurrentFirstCalls: 50 parallel first calls for one user through
// the handler give one item and one variant.
func TestConcurrentFirstCalls(t *testing.T) {
	f := setup(t, time.Minute, exp("conc", experiment.Active, 1, 1))
	var wg sync.WaitGroup
	variants := make(chan string, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.handler(context.Background(), httpapitest.Request("conc", "carol", ""))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("%v %d %s", err, resp.StatusCode, resp.Body)
				return
			}
			var r assignmentapi.Response
			_ = json.Unmarshal([]byte(resp.Body), &r)
			variants <- r.Variant + "@" + *r.AssignedAt
		}()
	}
	wg.Wait()
	close(variants)
	seen := map[string]bool{}
	for v := range variants {
		seen[v] = true
	}
	if len(seen) != 1 {
		t.Fatalf("callers saw %v, want one variant and one assigned_at", seen)
	}
	storetest.Drain(t, f.table)
	agg, err := f.store.ReadAggregates(context.Background(), "conc")
	if err != nil {
		t.Fatal(err)
	}
	if agg.Assigned["control"]+agg.Assigned["treatment"] != 1 {
		t.Fatalf("assigned %v, want 1 in total", agg.Assigned)
	}
}

// callWith runs the route with query parameters.
func callWith(t *testing.T, f fixture, key, user string, query map[string]string) (httpapi.Response, assignmentapi.Response) {
	t.Helper()
	req := httpapitest.Request(key, user, "")
	req.QueryStringParameters = query
	resp, err := f.handler(context.Background(), req)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	var body assignmentapi.Response
	if resp.StatusCode == http.StatusOK {
		httpapitest.Decode(t, resp, &body)
	}
	return resp, body
}

func attrs(s string) map[string]string { return map[string]string{"attributes": s} }

// stored reports whether the unit has an assignment item.
func stored(t *testing.T, f fixture, key, user string) bool {
	t.Helper()
	_, err := f.store.GetAssignment(context.Background(), key, experiment.UserUnit(user), true)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func targeted(key, condition string, mutate func(*experiment.Experiment)) *experiment.Experiment {
	e := exp(key, experiment.Active, 1, 1)
	if condition != "" {
		c, err := conditions.Compile([]byte(condition))
		if err != nil {
			panic(err)
		}
		e.Condition = c
	}
	if mutate != nil {
		mutate(e)
	}
	return e
}

// The condition decides on the attributes; a unit that fails it gets the
// control, is told why, and nothing is stored; the service's own id
// attributes cannot be overridden.
func TestTargetingCondition(t *testing.T) {
	f := setup(t, 0, targeted("geo", `{"country":{"$in":["US","CA"]},"app.version":{"$vgte":"2.1.0"}}`, nil),
		targeted("only-alice", `{"id":"alice"}`, nil))
	_, in := callWith(t, f, "geo", "u-us", attrs(`{"country":"US","app":{"version":"2.10.0"}}`))
	if !in.InExperiment || in.Reason != "assigned" || !stored(t, f, "geo", "u-us") {
		t.Fatalf("targeted unit: %+v", in)
	}
	for _, a := range []string{`{"country":"FR","app":{"version":"3.0.0"}}`, `{"country":"US","app":{"version":"2.0.9"}}`, ""} {
		_, out := callWith(t, f, "geo", "u-"+a, attrs(a))
		if out.InExperiment || out.Reason != "not_targeted" || out.Variant != "control" || out.AssignedAt != nil || string(out.Payload) != "null" {
			t.Fatalf("untargeted unit (%s): %+v", a, out)
		}
		if stored(t, f, "geo", "u-"+a) {
			t.Fatalf("an untargeted unit was stored (%s)", a)
		}
	}
	// Sticky beats targeting: the enrolled unit keeps its variant whatever
	// it now sends.
	_, again := callWith(t, f, "geo", "u-us", attrs(`{"country":"FR"}`))
	if !again.InExperiment || again.Reason != "sticky" || again.Variant != in.Variant {
		t.Fatalf("sticky unit: %+v", again)
	}
	// id is the caller's, whatever the attributes say.
	_, bob := callWith(t, f, "only-alice", "bob", attrs(`{"id":"alice","user_id":"alice"}`))
	if bob.InExperiment || bob.Reason != "not_targeted" {
		t.Fatalf("bob posing as alice: %+v", bob)
	}
	_, alice := callWith(t, f, "only-alice", "alice", nil)
	if !alice.InExperiment {
		t.Fatalf("alice: %+v", alice)
	}
	// Bad attributes: 400, nothing stored.
	for _, bad := range []string{`[1,2]`, `{"a":`, `"US"`, `{"a":"` + strings.Repeat("x", 8<<10) + `"}`} {
		resp, _ := callWith(t, f, "geo", "u-bad", attrs(bad))
		httpapitest.ExpectError(t, resp, http.StatusBadRequest, httpapi.CodeInvalidAttributes)
	}
	resp, _ := callWith(t, f, "geo", "u-bad", map[string]string{"enroll": "maybe"})
	httpapitest.ExpectError(t, resp, http.StatusBadRequest, fault.CodeValidationFailed)
	if stored(t, f, "geo", "u-bad") {
		t.Fatal("a refused request stored an assignment")
	}
}

// Ramping coverage up enrols more units without moving anyone; units
// outside it are told so and not stored; ramping down stops new
// enrolments and keeps enrolled units.
func TestCoverageRamp(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 0, targeted("ramp", "", func(e *experiment.Experiment) { e.Coverage = 0.3 }))
	enrolled := map[string]string{}
	const units = 200
	for i := 0; i < units; i++ {
		u := fmt.Sprintf("ramp-%03d", i)
		_, r := call(t, f, "ramp", u)
		switch {
		case r.InExperiment:
			enrolled[u] = r.Variant
		case r.Reason != "not_in_coverage" || stored(t, f, "ramp", u):
			t.Fatalf("%s: %+v", u, r)
		}
	}
	if n := len(enrolled); n < units*15/100 || n > units*45/100 {
		t.Fatalf("%d of %d enrolled at coverage 0.3", n, units)
	}
	setCoverage := func(c float64) {
		t.Helper()
		prev, _ := f.store.GetExperiment(ctx, "ramp")
		next := *prev
		next.Coverage, next.Version = c, prev.Version+1
		if err := f.store.SaveExperiment(ctx, &next, prev, store.Change{Version: next.Version, Action: "update"}); err != nil {
			t.Fatal(err)
		}
	}
	setCoverage(1)
	for i := 0; i < units; i++ {
		u := fmt.Sprintf("ramp-%03d", i)
		_, r := call(t, f, "ramp", u)
		if !r.InExperiment || (enrolled[u] != "" && r.Variant != enrolled[u]) {
			t.Fatalf("%s after the ramp to 1: %+v (was %q)", u, r, enrolled[u])
		}
	}
	setCoverage(0.01)
	for u, v := range enrolled {
		if _, r := call(t, f, "ramp", u); r.Variant != v || r.Reason != "sticky" {
			t.Fatalf("%s after the ramp down: %+v", u, r)
		}
	}
}

// Experiments with disjoint slices of one layer never both enrol a unit.
func TestLayerSlicesAreExclusive(t *testing.T) {
	left := targeted("left", "", func(e *experiment.Experiment) { e.Layer = &experiment.LayerSlice{Key: "surface", Start: 0, End: 0.5} })
	right := targeted("right", "", func(e *experiment.Experiment) { e.Layer = &experiment.LayerSlice{Key: "surface", Start: 0.5, End: 1} })
	f := setup(t, 0, left, right)
	inLeft, inRight := 0, 0
	for i := 0; i < 200; i++ {
		u := fmt.Sprintf("layer-%03d", i)
		_, l := call(t, f, "left", u)
		_, r := call(t, f, "right", u)
		if l.InExperiment == r.InExperiment {
			t.Fatalf("%s: left %+v, right %+v: a unit must be in exactly one", u, l, r)
		}
		for _, x := range []assignmentapi.Response{l, r} {
			if !x.InExperiment && x.Reason != "not_in_layer" {
				t.Fatalf("%s: %+v", u, x)
			}
		}
		if l.InExperiment {
			inLeft++
		} else {
			inRight++
		}
	}
	if inLeft < 60 || inRight < 60 {
		t.Fatalf("split %d/%d", inLeft, inRight)
	}
}

// An override forces a variant whatever the status or targeting, is never
// stored, and never counted.
func TestOverrides(t *testing.T) {
	e := targeted("qa", `{"country":"US"}`, func(e *experiment.Experiment) {
		e.Overrides = map[string]string{"tester": "treatment"}
		e.Status = experiment.Paused
	})
	f := setup(t, 0, e)
	_, r := call(t, f, "qa", "tester")
	if r.Variant != "treatment" || r.InExperiment || r.Reason != "override" || string(r.Payload) != `{"color":"green"}` || stored(t, f, "qa", "tester") {
		t.Fatalf("override: %+v", r)
	}
	resp, _ := call(t, f, "qa", "someone")
	httpapitest.ExpectError(t, resp, http.StatusConflict, experiment.CodeInactive)
}

// enroll=false reads without enrolling.
func TestEnrollFalse(t *testing.T) {
	f := setup(t, 0, exp("peek", experiment.Active, 1, 1))
	_, r := callWith(t, f, "peek", "carol", map[string]string{"enroll": "false"})
	if r.InExperiment || r.Reason != "not_assigned" || r.Variant != "control" || stored(t, f, "peek", "carol") {
		t.Fatalf("peek before enrolment: %+v", r)
	}
	_, first := call(t, f, "peek", "carol")
	_, again := callWith(t, f, "peek", "carol", map[string]string{"enroll": "false"})
	if !again.InExperiment || again.Reason != "sticky" || again.Variant != first.Variant {
		t.Fatalf("peek after enrolment: %+v, enrolled %+v", again, first)
	}
}

// $inGroup tests the unit against a saved group held in memory.
func TestSavedGroupTargeting(t *testing.T) {
	ctx := context.Background()
	f := setup(t, 0, targeted("beta-only", `{"id":{"$inGroup":"beta"}}`, nil))
	if err := f.store.CreateSavedGroup(ctx, &savedgroup.Group{Key: "beta", Name: "Beta", Values: []any{"ann", "bob"}, Version: 1}); err != nil {
		t.Fatal(err)
	}
	h := assignmentapi.New(quiet, assignment.New(snapshot.New(f.store, 0), f.store).WithGroups(snapshot.NewGroups(f.store, 0)))
	ask := func(user string) assignmentapi.Response {
		resp, err := h(ctx, httpapitest.Request("beta-only", user, ""))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s %v", user, resp.StatusCode, resp.Body, err)
		}
		var r assignmentapi.Response
		httpapitest.Decode(t, resp, &r)
		return r
	}
	if r := ask("ann"); !r.InExperiment {
		t.Fatalf("a member: %+v", r)
	}
	if r := ask("cy"); r.InExperiment || r.Reason != "not_targeted" {
		t.Fatalf("not a member: %+v", r)
	}
}

// TestDeviceUnitOverHTTP: a device-unit experiment buckets the device the
// app names in X-Device-Id, and needs one; a malformed one is refused
// before anything is read.
func TestDeviceUnitOverHTTP(t *testing.T) {
	e := exp("landing", experiment.Active, 1, 1)
	e.Unit = experiment.UnitDevice
	f := setup(t, time.Minute, e, exp("account", experiment.Active, 1, 1))
	withDevice := func(key, user, device string) httpapi.Response {
		t.Helper()
		req := httpapitest.Request(key, user, "")
		if device != "" {
			req.Headers[httpapi.HeaderDeviceID] = device
		}
		resp, err := f.handler(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	httpapitest.ExpectError(t, withDevice("landing", "anon-1", ""), http.StatusBadRequest, experiment.CodeDeviceIDRequired)
	f.counter.Reset()
	httpapitest.ExpectError(t, withDevice("landing", "anon-1", "a\nb"), http.StatusBadRequest, httpapi.CodeInvalidDeviceID)
	if n := f.counter.Total(); n != 0 {
		t.Fatalf("a malformed device id cost %d DynamoDB calls", n)
	}
	resp := withDevice("landing", "anon-1", "device-9")
	var body assignmentapi.Response
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("device assignment: %d %s", resp.StatusCode, resp.Body)
	}
	httpapitest.Decode(t, resp, &body)
	if !body.InExperiment || body.Reason != "assigned" {
		t.Fatalf("device assignment: %+v", body)
	}
	if _, err := f.store.GetAssignment(context.Background(), "landing", experiment.DeviceUnit("device-9"), true); err != nil {
		t.Fatalf("the device's item: %v", err)
	}
	if stored(t, f, "landing", "anon-1") {
		t.Fatal("a device-unit experiment stored an assignment for the user")
	}
	// A user-unit experiment ignores the device id.
	if resp := withDevice("account", "anon-1", "device-9"); resp.StatusCode != http.StatusOK || !stored(t, f, "account", "anon-1") {
		t.Fatalf("user experiment with a device id: %d %s", resp.StatusCode, resp.Body)
	}
}
