package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

// throttler is a fake DynamoDB endpoint that throttles the first `throttle`
// requests (all of them when negative) the way DynamoDB does, and passes the
// rest to next. It records what it saw.
type throttler struct {
	throttle int64
	next     http.Handler

	mu      sync.Mutex
	targets []string // X-Amz-Target of each request
	tries   []string // amz-sdk-request of each request ("attempt=n; max=m")
	seen    atomic.Int64
}

func (f *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.seen.Add(1)
	f.mu.Lock()
	f.targets = append(f.targets, r.Header.Get("X-Amz-Target"))
	f.tries = append(f.tries, r.Header.Get("Amz-Sdk-Request"))
	f.mu.Unlock()
	if f.throttle >= 0 && n > f.throttle {
		f.next.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-errortype", "ProvisionedThroughputExceededException")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"throttled"}`))
}

func (f *throttler) seenRequests() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.targets...), append([]string(nil), f.tries...)
}

// throttledDeps builds the service's handlers on a client whose endpoint is
// the fake, with attempts attempts per call.
func throttledDeps(t *testing.T, f *throttler, table string, attempts int) lambdafn.Deps {
	t.Helper()
	fake := httptest.NewServer(f)
	t.Cleanup(fake.Close)
	cfg := config.Config{Table: table, DefinitionsMaxAge: snapshot.DefaultMaxAge, Endpoint: fake.URL, DynamoTimeout: 2 * time.Second, DynamoAttempts: attempts}
	db, err := cfg.DynamoDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return lambdafn.New(quiet, db, cfg)
}

// TestThrottlingRetriedThenRouteCode: against a DynamoDB that throttles
// every request (a hot partition), each client route retries its first
// DynamoDB call with backoff up to the configured 3 attempts — the fake sees
// exactly 3 requests of that one operation, numbered attempt 1, 2, 3 — and
// then answers 500 with the route's own code, never a wrong answer and never
// the cause.
func TestThrottlingRetriedThenRouteCode(t *testing.T) {
	const attempts = 3
	cases := []struct {
		route  routes.Route
		body   string
		op     string // the route's first DynamoDB call
		code   string
		status int
	}{
		// The client routes' first call reads the definitions snapshot.
		{routes.ClientAssignment, "", "DynamoDB_20120810.Query", "ASSIGNMENT_FAILED", http.StatusInternalServerError},
		{routes.ClientExposure, "", "DynamoDB_20120810.Query", "EXPOSURE_FAILED", http.StatusInternalServerError},
		{routes.ClientEvents, `{"events":[{"name":"purchase","id":"order-1"}]}`, "DynamoDB_20120810.Query", "EVENTS_FAILED", http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.route.Function, func(t *testing.T) {
			t.Parallel() // the SDK's backoff is seconds; the routes wait together
			f := &throttler{throttle: -1}
			h, err := allroutes.Handler(throttledDeps(t, f, "throttled", attempts), tc.route.Function)
			if err != nil {
				t.Fatal(err)
			}
			req := httpapitest.Request("checkout", "alice", tc.body)
			req.RouteKey = tc.route.Key()
			// Liveness only: attempts x backoff stays far below this.
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			resp, err := h(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatalf("the handler ran into the 45 s liveness bound")
			}
			body := httpapitest.ExpectError(t, resp, tc.status, tc.code)
			if strings.Contains(resp.Body, "throttled") || strings.Contains(resp.Body, "Provisioned") {
				t.Errorf("the 500 shows its cause: %s", resp.Body)
			}
			targets, tries := f.seenRequests()
			if len(targets) != attempts {
				t.Fatalf("the fake saw %d requests %v, want %d (one call, retried to the configured attempts)", len(targets), targets, attempts)
			}
			for i, target := range targets {
				if target != tc.op {
					t.Errorf("request %d is %s, want %s: a throttled call must be retried, not followed by another", i+1, target, tc.op)
				}
				if !strings.HasPrefix(tries[i], fmt.Sprintf("attempt=%d;", i+1)) {
					t.Errorf("request %d carries amz-sdk-request %q, want attempt=%d", i+1, tries[i], i+1)
				}
			}
			if tc.code == "EVENTS_FAILED" {
				// The README documents details.stored_indexes on every
				// EVENTS_FAILED: here nothing was stored.
				if got, ok := body.Error.Details["stored_indexes"].([]any); !ok || len(got) != 0 {
					t.Errorf("EVENTS_FAILED details %v, want stored_indexes []", body.Error.Details)
				}
			}
		})
	}
}

// TestThrottlingThenServed: a DynamoDB that throttles twice and then serves
// (the fake passes later requests to a real DynamoDB Local) costs retries,
// not correctness: the assignment route answers 200 with the user's stored
// assignment, exactly as without throttling, and writes nothing.
func TestThrottlingThenServed(t *testing.T) {
	ctx := context.Background()
	endpoint := sharedEndpoint(t)
	e := newEnv(t, envOptions{endpoint: endpoint})
	e.createActive("checkout")
	first := e.do("GET", "/v1/client/experiments/checkout/assignment", e.asUser("alice"), "")
	if first.status != http.StatusOK {
		t.Fatalf("assignment: %v", first)
	}
	// bob's stored variant is the one bucketing would not pick, so a read
	// path that bucketed again instead of reading would show.
	st := store.New(e.check, e.table)
	bobVariant := "treatment"
	if idx, _ := bucketing.Choose("checkout", "bob", []float64{50, 50}, 1, nil); idx == 1 {
		bobVariant = "control"
	}
	bob, _, err := st.CreateAssignment(ctx, "checkout", experiment.UserUnit("bob"), bobVariant)
	if err != nil {
		t.Fatal(err)
	}

	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ user, variant, assignedAt string }{
		{"alice", first.str("variant"), first.str("assigned_at")},
		{"bob", bob.Variant, bob.AssignedAt.UTC().Format(time.RFC3339Nano)},
	} {
		t.Run(tc.user, func(t *testing.T) {
			t.Parallel() // the SDK's backoff is seconds; the users wait together
			throttledThenServed(t, e, target, tc.user, tc.variant, tc.assignedAt)
		})
	}
}

// throttledThenServed asks for user's assignment through a fake that
// throttles twice, and checks the answer is the stored one.
func throttledThenServed(t *testing.T, e *env, target *url.URL, user, variant, assignedAt string) {
	f := &throttler{throttle: 2, next: httputil.NewSingleHostReverseProxy(target)}
	h, err := allroutes.Handler(throttledDeps(t, f, e.table, 3), routes.Assignment)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h(context.Background(), httpapitest.Request("checkout", user, ""))
	if err != nil {
		t.Fatal(err)
	}
	var got assignmentapi.Response
	httpapitest.Decode(t, resp, &got)
	if resp.StatusCode != http.StatusOK || got.Variant != variant || got.AssignedAt == nil || *got.AssignedAt != assignedAt {
		t.Errorf("%s after 2 throttles: %d %s, want 200 %s at %s", user, resp.StatusCode, resp.Body, variant, assignedAt)
	}
	targets, tries := f.seenRequests()
	// The definitions snapshot read 3 times (2 throttled), then the assignment read.
	if len(targets) != 4 || targets[0] != "DynamoDB_20120810.Query" || targets[3] != "DynamoDB_20120810.GetItem" ||
		!strings.HasPrefix(tries[2], "attempt=3;") || !strings.HasPrefix(tries[3], "attempt=1;") {
		t.Errorf("%s: the fake saw %v %v, want the definition read 3 times then the assignment read once", user, targets, tries)
	}
	if n := len(queryPrefix(t, e.check, e.table, "USER#"+user, "ASG#")); n != 1 {
		t.Errorf("%s has %d assignment items, want 1", user, n)
	}
}
