package resilience

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/dynamolocal"
	"github.com/abtest/abtest/shared/store"
	"github.com/abtest/abtest/shared/store/storetest"
)

// ledger is what the service acknowledged during a workload.
type ledger struct {
	mu        sync.Mutex
	variants  map[string]string // "user/exp" -> variant answered with 200
	exposures map[string]string // exposure id -> "user/exp"
	events    map[string]string // event id -> user
	failures  map[string]int    // 5xx code -> count
}

func newLedger() *ledger {
	return &ledger{variants: map[string]string{}, exposures: map[string]string{}, events: map[string]string{}, failures: map[string]int{}}
}

// allowedFailures are the documented answers of a failed dependency.
var allowedFailures = []string{"ASSIGNMENT_FAILED", "EXPOSURE_FAILED", "EVENTS_FAILED", "ADMIN_FAILED", "Internal Server Error"}

// TestDynamoDBOutage kills DynamoDB Local in the middle of a mixed workload
// and starts it again on the same data. While it is down, requests answer
// the documented 5xx codes without hanging; afterwards every acknowledged
// exposure and event is stored exactly once, no assignment changed variant,
// and the live counters equal a recount from the items.
func TestDynamoDBOutage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{DBPath: dir})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Port()
	t.Cleanup(func() { _ = srv.Stop() })
	s := newSvc(t, srv.Endpoint(), "faults", 500*time.Millisecond, 2, 3*time.Second)
	experiments := []string{"fault-a", "fault-b"}
	for _, e := range experiments {
		s.createActive(e)
	}

	const workers = 8
	opsPerWorker := soak(45, 400)
	led := newLedger()
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < opsPerWorker; i++ {
				s.step(t, led, fmt.Sprintf("w%d-u%d", w, i%7), experiments[i%2], fmt.Sprintf("w%d-i%d", w, i))
				done.Add(1)
			}
		}(w)
	}
	// The outage: a third of the way in, for long enough that every
	// request kind meets it.
	total := int64(workers * opsPerWorker)
	for done.Load() < total/3 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Kill()
	time.Sleep(1500 * time.Millisecond)
	if srv, err = dynamolocal.Start(ctx, dynamolocal.Options{Port: port, DBPath: dir}); err != nil {
		t.Fatalf("restart DynamoDB Local: %v", err)
	}
	wg.Wait()
	t.Logf("acknowledged: %d assignments, %d exposures, %d events; failures %v",
		len(led.variants), len(led.exposures), len(led.events), led.failures)
	if len(led.failures) == 0 {
		t.Fatal("the outage produced no failure: the workload did not meet it")
	}
	s.verify(t, led, experiments)
}

// step is one user's visit: assignment, exposure, an event batch with ids.
func (s *svc) step(t *testing.T, led *ledger, user, exp, eventID string) {
	as := s.asUser(user)
	pair := user + "/" + exp
	st, body := s.timed(t, led, "GET", "/v1/client/experiments/"+exp+"/assignment", as, "")
	if st != 200 {
		return
	}
	led.mu.Lock()
	if prev, ok := led.variants[pair]; ok && prev != body["variant"] {
		t.Errorf("%s: variant changed from %s to %v", pair, prev, body["variant"])
	}
	led.variants[pair] = body["variant"].(string)
	led.mu.Unlock()
	if st, body = s.timed(t, led, "POST", "/v1/client/experiments/"+exp+"/exposure", as, ""); st == 201 {
		led.mu.Lock()
		led.exposures[body["id"].(string)] = pair
		led.mu.Unlock()
	}
	batch := fmt.Sprintf(`{"events":[{"name":"purchase","id":%q},{"name":"signup","id":%q}]}`, eventID+"-p", eventID+"-s")
	if st, body = s.timed(t, led, "POST", "/v1/client/events", as, batch); st == 202 {
		led.mu.Lock()
		for _, r := range body["results"].([]any) {
			r := r.(map[string]any)
			if r["status"] == "accepted" || r["status"] == "duplicate" {
				led.events[r["id"].(string)] = user
			}
		}
		led.mu.Unlock()
	}
}

// timed sends a request, checks it answered in time and, when it failed,
// that it failed the documented way.
func (s *svc) timed(t *testing.T, led *ledger, method, path string, headers map[string]string, body string) (int, map[string]any) {
	start := time.Now()
	st, out, err := s.do(method, path, headers, body)
	if elapsed := time.Since(start); elapsed > s.gwTimout+2*time.Second {
		t.Errorf("%s %s took %s: longer than the timeout allows", method, path, elapsed)
	}
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	if st >= 500 {
		code := errorCode(out)
		if !slices.Contains(allowedFailures, code) {
			t.Errorf("%s %s: %d with undocumented code %q", method, path, st, code)
		}
		led.mu.Lock()
		led.failures[code]++
		led.mu.Unlock()
	} else if st >= 300 {
		t.Errorf("%s %s: %d %v (a dependency failure must not look like bad input)", method, path, st, out)
	}
	return st, out
}

// verify checks the table against the ledger once DynamoDB is back.
func (s *svc) verify(t *testing.T, led *ledger, experiments []string) {
	ctx := context.Background()
	db := storetest.ClientAt(s.endpoint)
	get := func(pk, sk string) map[string]types.AttributeValue {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("faults"), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	for pair, variant := range led.variants {
		user, exp, _ := strings.Cut(pair, "/")
		it := get("USER#"+user, "ASG#"+exp)
		if it == nil || it["variant"].(*types.AttributeValueMemberS).Value != variant {
			t.Errorf("%s: stored assignment %v, answered %s", pair, it, variant)
		}
	}
	for id, pair := range led.exposures {
		user, exp, _ := strings.Cut(pair, "/")
		if get("USER#"+user, "EXPO#"+exp+"#"+id) == nil {
			t.Errorf("acknowledged exposure %s of %s is missing", id, pair)
		}
	}
	for id, user := range led.events {
		if get("USER#"+user, "EVT#"+id) == nil {
			t.Errorf("acknowledged event %s of %s is missing", id, user)
		}
	}
	// The whole table: every item has a documented shape. (Each exposure
	// and event is stored at most once by construction: its key is its id,
	// written only if absent; presence of every acknowledged one is checked
	// above.)
	var start map[string]types.AttributeValue
	for {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("faults"), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			pk := it["pk"].(*types.AttributeValueMemberS).Value
			sk := it["sk"].(*types.AttributeValueMemberS).Value
			if !documented(pk, sk) {
				t.Errorf("undocumented item %s / %s", pk, sk)
			}
		}
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	// Live counters equal a recount from the items (read with a client of
	// default patience: this checks data, not latency).
	st := store.New(db, "faults")
	for _, exp := range experiments {
		live, err := st.ReadAggregates(ctx, exp)
		if err != nil {
			t.Fatal(err)
		}
		recounted, err := st.Recount(ctx, exp, false)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(live, recounted) {
			t.Errorf("%s: live counters %+v differ from the recount %+v", exp, live, recounted)
		}
	}
}

// documented reports whether a key has one of the shapes in
// docs/data-model.md.
func documented(pk, sk string) bool {
	switch {
	case strings.HasPrefix(pk, "EXP#") && strings.Contains(pk, "#AGG#"):
		return sk == "AGG"
	case strings.HasPrefix(pk, "EXP#"):
		return sk == "DEF" || strings.HasPrefix(sk, "HIST#")
	case strings.HasPrefix(pk, "USER#"):
		return strings.HasPrefix(sk, "ASG#") || strings.HasPrefix(sk, "EXPO#") || strings.HasPrefix(sk, "EVT#")
	case strings.HasPrefix(pk, "APIKEY#"):
		return sk == "KEY"
	case pk == "DEPLOYMENT":
		return sk == "STATUS_COUNTS"
	}
	return false
}
