package assignmentapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
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
	return fixture{table: table, store: st, counter: counter, handler: assignmentapi.New(quiet, assignment.New(snapshot.New(st, ttl), st))}
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
	resp, err := f.handler(context.Background(), httpapitest.Request(key, user, ""))
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	var body assignmentapi.Response
	if resp.StatusCode == http.StatusOK {
		httpapitest.Decode(t, resp, &body)
	}
	return resp, body
}

func TestStickyAssignment(t *testing.T) {
	f := setup(t, time.Minute, exp("sticky", experiment.Active, 1, 1))
	resp, first := call(t, f, "sticky", "alice")
	if resp.StatusCode != http.StatusOK || first.Experiment != "sticky" || first.Variant == "" {
		t.Fatalf("first call: %d %s", resp.StatusCode, resp.Body)
	}
	if _, err := time.Parse(time.RFC3339, first.AssignedAt); err != nil {
		t.Fatalf("assigned_at %q: %v", first.AssignedAt, err)
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
		if again.Variant != first.Variant || again.AssignedAt != first.AssignedAt || string(again.Payload) != string(first.Payload) {
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
			variants <- r.Variant + "@" + r.AssignedAt
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
