package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/dynamolocal"
)

// outageLedger is what the service acknowledged during the workload, and
// every answer it gave.
type outageLedger struct {
	mu        sync.Mutex
	assigned  map[string]answered // "user/exp" -> the 200 answer
	exposures map[string]exposure // id -> the 201 answer
	events    map[string]sentEvent
	// storedOnFailure are events an EVENTS_FAILED named in
	// details.stored_indexes: stored although the batch failed.
	storedOnFailure map[string]bool
	failed          []eventBatch // batches answered 500, retried at the end
	replies         []reply
	failures        map[string]int // documented failure code -> count
	firstDuplicates int            // fresh ids answered "duplicate"
	// replayedExposures answered 200: an SDK retry of a write that had
	// landed returns the stored exposure, whose id the server had made.
	replayedExposures int
}

type answered struct{ variant, assignedAt string }

type exposure struct {
	user, exp, shown, assigned, exposedAt string
}

type sentEvent struct {
	user, id, name, props string
}

func (e sentEvent) key() string { return e.user + "/" + e.id }

type eventBatch struct {
	user   string
	events []sentEvent
}

func (b eventBatch) body() string {
	var parts []string
	for _, ev := range b.events {
		parts = append(parts, fmt.Sprintf(`{"name":%q,"id":%q,"properties":%s}`, ev.name, ev.id, ev.props))
	}
	return `{"events":[` + strings.Join(parts, ",") + `]}`
}

// authorizerFailure is API Gateway's own answer when the authorizer fails
// (the local gateway ends JSON bodies with a newline).
const authorizerFailure = `{"message":"Internal Server Error"}`

// accept checks one answer: an expected success (ok), or a documented 500
// (the route's code, or the authorizer's failure), within the liveness
// bound. It reports whether the request succeeded.
func (l *outageLedger) accept(t *testing.T, r reply, failCode string, ok ...int) bool {
	t.Helper()
	l.mu.Lock()
	l.replies = append(l.replies, r)
	l.mu.Unlock()
	if took := r.end.Sub(r.start); took > gatewayTimeout+livenessSlack {
		t.Errorf("%s %s took %s, past the gateway timeout %s + %s", r.method, r.path, took, gatewayTimeout, livenessSlack)
	}
	switch {
	case r.err != nil:
		t.Errorf("transport failure: %v", r)
		return false
	case slices.Contains(ok, r.status):
		return true
	case r.status == http.StatusInternalServerError && (r.code() == failCode || strings.TrimSuffix(r.raw, "\n") == authorizerFailure):
		l.mu.Lock()
		l.failures[r.code()]++
		l.mu.Unlock()
		return false
	}
	t.Errorf("undocumented answer (want %v, or 500 %s or the authorizer's 500): %v", ok, failCode, r)
	return false
}

// TestDynamoDBOutage stops DynamoDB Local in the middle of a mixed workload
// (8 workers sending assignments, exposures and event batches with ids),
// and restarts it 2.5 s later on the same port and data; see
// runOutageWorkload for what is checked.
//
// It stops DynamoDB Local with SIGTERM, not SIGKILL: DynamoDB Local
// acknowledges a TransactWriteItems before its commit reaches disk, and a
// SIGKILL right after the answer lost 8 or 9 of 10 acknowledged transactions
// in a probe (a plain PutItem was never lost). That is the emulator's
// durability, not the service's: real DynamoDB answers a write once it is
// durable. Requests still meet a DynamoDB that is gone (connections refused)
// mid-workload. TestDynamoDBFrozen is the hard fault.
func TestDynamoDBOutage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{DBPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	var srvMu sync.Mutex
	t.Cleanup(func() {
		srvMu.Lock()
		defer srvMu.Unlock()
		srv.Kill()
	})
	port := srv.Port()
	e := newEnv(t, envOptions{endpoint: srv.Endpoint(), timeout: 500 * time.Millisecond, attempts: 2})
	runOutageWorkload(t, e, func() (down, up time.Time, err error) {
		srvMu.Lock()
		if err := srv.Stop(); err != nil {
			t.Logf("stop DynamoDB Local: %v", err)
		}
		srvMu.Unlock()
		down = time.Now()
		time.Sleep(2500 * time.Millisecond)
		up = time.Now()
		next, err := dynamolocal.Start(ctx, dynamolocal.Options{Port: port, DBPath: dir})
		if err != nil {
			return down, up, fmt.Errorf("restart DynamoDB Local on port %d: %w", port, err)
		}
		srvMu.Lock()
		srv = next
		srvMu.Unlock()
		return down, up, nil
	})
}

// runOutageWorkload runs 8 workers sending assignments, exposures and event
// batches with ids, calls fault once every worker is well into the workload,
// and lets each worker take 8 more steps after it returns. fault injects a
// fault into DynamoDB and ends it, and says when DynamoDB was certainly
// unusable: from down to up.
//
// Every answer must be the expected success or a documented 500 (the
// route's code or the authorizer's failure), within the gateway's timeout;
// every request between down and up must fail, and some must. Afterwards
// every exposure answered 201 and every event answered accepted/duplicate is
// stored exactly once and unchanged, no assignment changed variant, retrying
// failed event batches with their ids stores nothing twice, and the live
// counters equal a recount.
func runOutageWorkload(t *testing.T, e *env, fault func() (down, up time.Time, err error)) {
	exps := []string{"outage-a", "outage-b", "outage-c"}
	for _, x := range exps {
		e.createActive(x)
	}

	led := &outageLedger{
		assigned: map[string]answered{}, exposures: map[string]exposure{}, events: map[string]sentEvent{},
		storedOnFailure: map[string]bool{}, failures: map[string]int{},
	}
	const workers = 8
	var (
		steps     atomic.Int64
		recovered atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := 0 // steps since the fault ended
			for i := 0; after < 8 && !stop.Load(); i++ {
				if recovered.Load() {
					after++
				}
				// Each worker has its own users: 4 users x 3 experiments,
				// so every pair comes back every 12 steps, across the fault.
				outageStep(t, e, led, fmt.Sprintf("w%d-u%d", w, i%4), exps[i%3], fmt.Sprintf("w%d-s%d", w, i))
				// An events-only user: batches keep flowing in every phase.
				solo := eventBatch{user: fmt.Sprintf("w%d-solo", w)}
				for k := 0; k < 3; k++ {
					solo.events = append(solo.events, sentEvent{user: solo.user, id: fmt.Sprintf("w%d-s%d-solo%d", w, i, k), name: "view", props: fmt.Sprintf(`{"k":%d}`, k)})
				}
				sendEvents(t, e, led, solo)
				steps.Add(1)
			}
		}()
	}

	// The fault: once every worker is well into the workload.
	for steps.Load() < workers*4 {
		time.Sleep(10 * time.Millisecond)
	}
	down, up, err := fault()
	if err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatal(err)
	}
	recovered.Store(true)
	wg.Wait()

	// Retrying the failed batches with their ids is safe: what a failure
	// said was stored comes back as a duplicate, nothing is stored twice.
	for _, b := range led.failed {
		var r reply
		for attempt := 0; attempt < 10; attempt++ {
			if r = e.do("POST", "/v1/client/events", e.asUser(b.user), b.body()); r.err == nil && r.status == http.StatusAccepted {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if r.err != nil || r.status != http.StatusAccepted {
			t.Fatalf("retry of a failed batch after the fault: %v", r)
		}
		for i, res := range r.body["results"].([]any) {
			ev, status := b.events[i], res.(map[string]any)["status"]
			switch {
			case led.storedOnFailure[ev.key()] && status != "duplicate":
				t.Errorf("event %s was reported stored by a failed batch, its retry answered %v", ev.key(), status)
			case status != "accepted" && status != "duplicate":
				t.Errorf("event %s retried: %v", ev.key(), res)
			default:
				led.events[ev.key()] = ev
			}
		}
	}

	// While DynamoDB was certainly unusable, nothing succeeded.
	var during int
	for _, r := range led.replies {
		if !r.start.Before(down) && !r.end.After(up) {
			during++
			if r.status != http.StatusInternalServerError {
				t.Errorf("answered while DynamoDB was unusable: %v", r)
			}
		}
	}
	t.Logf("%d requests, %d while DynamoDB was unusable; failures %v; acknowledged %d assignments, %d exposures (%d answered 200), %d events (%d fresh ids answered duplicate); %d batches retried",
		len(led.replies), during, led.failures, len(led.assigned), len(led.exposures), led.replayedExposures, len(led.events), led.firstDuplicates, len(led.failed))
	if during == 0 || len(led.failures) == 0 {
		t.Fatal("no request met the outage: the test proved nothing")
	}

	verifyAfterOutage(t, e, led, exps)
}

// outageStep is one visit of user: assignment, then (if it answered) an
// exposure and an event batch. Events are sent only once the user's
// assignment answered, so no event races an assignment still being written.
func outageStep(t *testing.T, e *env, led *outageLedger, user, exp, step string) {
	pair := user + "/" + exp
	as := e.asUser(user)
	r := e.do("GET", "/v1/client/experiments/"+exp+"/assignment", as, "")
	if !led.accept(t, r, "ASSIGNMENT_FAILED", http.StatusOK) {
		return
	}
	got := answered{r.str("variant"), r.str("assigned_at")}
	led.mu.Lock()
	if prev, ok := led.assigned[pair]; ok && prev != got {
		t.Errorf("%s: assignment changed from %+v to %+v", pair, prev, got)
	}
	led.assigned[pair] = got
	led.mu.Unlock()

	shown, body := got.variant, ""
	if strings.HasSuffix(step, "3") {
		shown = otherVariant(got.variant)
		body = fmt.Sprintf(`{"variant":%q}`, shown)
	}
	r = e.do("POST", "/v1/client/experiments/"+exp+"/exposure", as, body)
	// 200: the stored exposure, when the SDK retried a write that had landed.
	if led.accept(t, r, "EXPOSURE_FAILED", http.StatusCreated, http.StatusOK) {
		if r.str("variant") != shown || r.str("experiment") != exp || r.str("id") == "" {
			t.Errorf("%s: exposure answered %v, showed %s", pair, r, shown)
		}
		led.mu.Lock()
		if _, dup := led.exposures[r.str("id")]; dup {
			t.Errorf("exposure id %s answered twice", r.str("id"))
		}
		if r.status == http.StatusOK {
			led.replayedExposures++
		}
		led.exposures[r.str("id")] = exposure{user: user, exp: exp, shown: shown, assigned: got.variant, exposedAt: r.str("exposed_at")}
		led.mu.Unlock()
	}

	sendEvents(t, e, led, eventBatch{user: user, events: []sentEvent{
		{user: user, id: step + "-buy", name: "purchase", props: fmt.Sprintf(`{"exp":%q}`, exp)},
		{user: user, id: step + "-view", name: "view", props: `{}`},
	}})
}

func sendEvents(t *testing.T, e *env, led *outageLedger, b eventBatch) {
	r := e.do("POST", "/v1/client/events", e.asUser(b.user), b.body())
	if !led.accept(t, r, "EVENTS_FAILED", http.StatusAccepted) {
		if r.status == http.StatusInternalServerError && r.code() == "EVENTS_FAILED" {
			led.mu.Lock()
			defer led.mu.Unlock()
			// The README documents details.stored_indexes on every
			// EVENTS_FAILED. A failure reading the user's assignments
			// (before any event is written) answers details {} instead: a
			// known discrepancy, read here as "none stored".
			details, _ := r.body["error"].(map[string]any)["details"].(map[string]any)
			idx, _ := details["stored_indexes"].([]any)
			for _, i := range idx {
				led.storedOnFailure[b.events[int(i.(float64))].key()] = true
			}
			led.failed = append(led.failed, b)
		}
		return
	}
	results, _ := r.body["results"].([]any)
	if len(results) != len(b.events) {
		t.Errorf("%d results for %d events: %v", len(results), len(b.events), r)
		return
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	for i, res := range results {
		m := res.(map[string]any)
		ev := b.events[i]
		switch m["status"] {
		case "duplicate":
			// A fresh id: only an SDK retry of a write that had landed.
			led.firstDuplicates++
			fallthrough
		case "accepted":
			if m["id"] != ev.id {
				t.Errorf("result %d names id %v, sent %s", i, m["id"], ev.id)
			}
			led.events[ev.key()] = ev
		default:
			t.Errorf("event %s: %v", ev.key(), m)
		}
	}
}

// verifyAfterOutage checks the table and the service against the ledger.
func verifyAfterOutage(t *testing.T, e *env, led *outageLedger, exps []string) {
	items := scanAll(t, checkClient(t, e.endpoint), e.table)
	exposuresByID := map[string][]item{}
	eventsByKey := map[string][]item{}
	assignments := map[string]item{}
	for _, it := range items {
		pk, sk := attrS(it, "pk"), attrS(it, "sk")
		if !documentedKey(pk, sk) {
			t.Errorf("undocumented item %s / %s", pk, sk)
		}
		switch {
		case strings.HasPrefix(sk, "EXPO#"):
			exposuresByID[attrS(it, "id")] = append(exposuresByID[attrS(it, "id")], it)
		case strings.HasPrefix(sk, "EVT#"):
			k := attrS(it, "user_id") + "/" + attrS(it, "id")
			eventsByKey[k] = append(eventsByKey[k], it)
		case strings.HasPrefix(sk, "ASG#"):
			assignments[attrS(it, "user_id")+"/"+attrS(it, "experiment")] = it
		}
	}

	for id, x := range led.exposures {
		found := exposuresByID[id]
		if len(found) != 1 {
			t.Errorf("acknowledged exposure %s (%s/%s) is stored %d times", id, x.user, x.exp, len(found))
			continue
		}
		it := found[0]
		if attrS(it, "pk") != "USER#"+x.user || attrS(it, "sk") != "EXPO#"+x.exp+"#"+id ||
			attrS(it, "variant") != x.shown || attrS(it, "assigned_variant") != x.assigned || !sameInstant(attrS(it, "exposed_at"), x.exposedAt) {
			t.Errorf("acknowledged exposure %s %+v is stored as %v", id, x, it)
		}
	}
	for k, ev := range led.events {
		found := eventsByKey[k]
		if len(found) != 1 {
			t.Errorf("acknowledged event %s is stored %d times", k, len(found))
			continue
		}
		it := found[0]
		var sent, stored any
		_ = json.Unmarshal([]byte(ev.props), &sent)
		_ = json.Unmarshal([]byte(attrS(it, "properties")), &stored)
		if attrS(it, "name") != ev.name || attrS(it, "sk") != "EVT#"+ev.id || fmt.Sprint(sent) != fmt.Sprint(stored) {
			t.Errorf("acknowledged event %s %+v is stored as %v", k, ev, it)
		}
	}
	for k := range led.storedOnFailure {
		if len(eventsByKey[k]) != 1 {
			t.Errorf("event %s, reported stored by a failed batch, is stored %d times", k, len(eventsByKey[k]))
		}
	}
	extra := 0
	for id := range exposuresByID {
		if _, ok := led.exposures[id]; !ok {
			extra++
		}
	}
	t.Logf("table: %d exposure items (%d not acknowledged), %d event items, %d assignment items", len(exposuresByID), extra, len(eventsByKey), len(assignments))

	// Assignments are sticky across the outage: stored as answered, and
	// answered the same again now.
	for pair, a := range led.assigned {
		it, ok := assignments[pair]
		if !ok || attrS(it, "variant") != a.variant || !sameInstant(attrS(it, "assigned_at"), a.assignedAt) {
			t.Errorf("%s: answered %+v, stored %v", pair, a, it)
		}
		user, exp, _ := strings.Cut(pair, "/")
		var r reply
		for attempt := 0; attempt < 5; attempt++ {
			if r = e.do("GET", "/v1/client/experiments/"+exp+"/assignment", e.asUser(user), ""); r.status == http.StatusOK {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if r.status != http.StatusOK || r.str("variant") != a.variant || r.str("assigned_at") != a.assignedAt {
			t.Errorf("%s: answered %+v before, now %v", pair, a, r)
		}
	}

	for _, x := range exps {
		if ok, r := e.recountMatches(x); !ok {
			t.Errorf("%s: live counters differ from a recount after the outage: %s", x, r.raw)
		}
	}
}
