package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
)

// conflicting cancels every nth transaction the way DynamoDB cancels one
// that touched an item another transaction was writing at that moment:
// TransactionCanceledException with TransactionConflict for its items, and
// nothing written. DynamoDB Local runs transactions one at a time and never
// does this itself.
type conflicting struct {
	store.DynamoDB
	every    int64
	seen     atomic.Int64
	injected atomic.Int64
}

func (c *conflicting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.seen.Add(1)%c.every != 0 {
		return c.DynamoDB.TransactWriteItems(ctx, in, o...)
	}
	c.injected.Add(1)
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	for i := range reasons {
		reasons[i] = types.CancellationReason{Code: aws.String("None")}
	}
	reasons[0] = types.CancellationReason{Code: aws.String("TransactionConflict"), Message: aws.String("Transaction is ongoing for the item")}
	return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: reasons}
}

// throttlingProxy answers every nth request with DynamoDB's throttling error
// and passes the rest to DynamoDB Local.
type throttlingProxy struct {
	every    int64
	next     http.Handler
	seen     atomic.Int64
	injected atomic.Int64
}

func (p *throttlingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.seen.Add(1)%p.every != 0 {
		p.next.ServeHTTP(w, r)
		return
	}
	p.injected.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-errortype", "ThrottlingException")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`))
}

// TestInjectedConflictsAndThrottling: with one transaction in 7 cancelled by
// a conflict and one DynamoDB request in 17 throttled, every request of a
// mixed workload is still answered correctly (the SDK retries throttling,
// the store re-sends conflicting transactions of the unit's own items),
// every acknowledged write is stored once, no assignment flips, and the
// counters the stream keeps equal a recount.
func TestInjectedConflictsAndThrottling(t *testing.T) {
	real := sharedEndpoint(t)
	target, err := url.Parse(real)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &throttlingProxy{every: 17, next: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	conflicts := &conflicting{every: 7}
	e := newEnv(t, envOptions{endpoint: srv.URL, attempts: 4, wrap: func(db store.DynamoDB) store.DynamoDB { conflicts.DynamoDB = db; return conflicts }})
	// Setup and verification read DynamoDB Local directly.
	e.endpoint, e.check = real, checkClient(t, real)

	exps := []string{"hot-a", "hot-b"}
	for _, x := range exps {
		e.createActive(x)
	}
	var (
		mu        sync.Mutex
		assigned  = map[string]string{} // user/exp -> variant answered
		exposures = map[string]bool{}   // user/id acknowledged
		events    = map[string]bool{}   // user/id acknowledged
	)
	// do sends a request until it succeeds, as a client retries; only the
	// documented codes may answer in between.
	do := func(method, path, user, body string, ok int, failCode string) reply {
		for try := 0; ; try++ {
			r := e.do(method, path, e.asUser(user), body)
			if r.err == nil && (r.status == ok || (ok == http.StatusCreated && r.status == http.StatusOK)) {
				return r
			}
			if r.err != nil || r.status != http.StatusInternalServerError || r.code() != failCode || try == 3 {
				t.Fatalf("%s %s as %s: %v", method, path, user, r)
			}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				user := fmt.Sprintf("u%d-%d", w, i)
				for _, x := range exps {
					r := do("GET", "/v1/client/experiments/"+x+"/assignment", user, "", http.StatusOK, "ASSIGNMENT_FAILED")
					id := "view-" + x
					do("POST", "/v1/client/experiments/"+x+"/exposure", user, `{"id":"`+id+`"}`, http.StatusCreated, "EXPOSURE_FAILED")
					mu.Lock()
					assigned[user+"/"+x] = r.str("variant")
					exposures[user+"/"+x+"/"+id] = true
					mu.Unlock()
				}
				body := `{"events":[{"name":"purchase","id":"order-1"},{"name":"signup","id":"signup-1"},{"name":"browse","id":"b-1"}]}`
				do("POST", "/v1/client/events", user, body, http.StatusAccepted, "EVENTS_FAILED")
				mu.Lock()
				for _, id := range []string{"order-1", "signup-1", "b-1"} {
					events[user+"/"+id] = true
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if conflicts.injected.Load() == 0 || proxy.injected.Load() == 0 {
		t.Fatalf("injected %d conflicts and %d throttles: the workload met no fault", conflicts.injected.Load(), proxy.injected.Load())
	}
	t.Logf("injected %d transaction conflicts and %d throttles", conflicts.injected.Load(), proxy.injected.Load())

	// The table holds exactly what was acknowledged.
	storedAssignments, storedExposures, storedEvents := map[string]string{}, map[string]int{}, map[string]int{}
	for _, it := range scanAll(t, e.check, e.table) {
		sk := attrS(it, "sk")
		switch {
		case len(sk) > 4 && sk[:4] == "ASG#":
			storedAssignments[attrS(it, "user_id")+"/"+attrS(it, "experiment")] = attrS(it, "variant")
		case len(sk) > 5 && sk[:5] == "EXPO#":
			storedExposures[attrS(it, "user_id")+"/"+attrS(it, "experiment")+"/"+attrS(it, "id")]++
		case len(sk) > 4 && sk[:4] == "EVT#":
			storedEvents[attrS(it, "user_id")+"/"+attrS(it, "id")]++
		}
	}
	for k, v := range assigned {
		if storedAssignments[k] != v {
			t.Errorf("assignment %s answered %s, stored %q", k, v, storedAssignments[k])
		}
	}
	for k := range exposures {
		if storedExposures[k] != 1 {
			t.Errorf("exposure %s stored %d times", k, storedExposures[k])
		}
	}
	for k := range events {
		if storedEvents[k] != 1 {
			t.Errorf("event %s stored %d times", k, storedEvents[k])
		}
	}
	if len(storedEvents) != len(events) || len(storedExposures) != len(exposures) {
		t.Errorf("stored %d events and %d exposures, acknowledged %d and %d", len(storedEvents), len(storedExposures), len(events), len(exposures))
	}
	for _, x := range exps {
		if ok, r := e.recountMatches(x); !ok {
			body, _ := json.Marshal(r.body)
			t.Errorf("%s: counters differ from a recount: %s", x, body)
		}
	}
}
