package resilience

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/assignment"
	"github.com/abtest/abtest/shared/catalog"
	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/store"
)

// TestThrottlingRetriesThenFails: a DynamoDB that throttles every request
// (as a hot partition does) is retried with backoff up to the configured
// attempts, then the route answers its 500 code, never a wrong answer.
func TestThrottlingRetriesThenFails(t *testing.T) {
	var requests atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("x-amzn-errortype", "ProvisionedThroughputExceededException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"throttled"}`))
	}))
	defer fake.Close()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	const attempts = 3
	cfg := config.Config{Table: "throttled", Endpoint: fake.URL, DynamoTimeout: time.Second, DynamoAttempts: attempts}
	db, err := cfg.DynamoDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, cfg.Table)
	h := assignment.NewHandler(slog.New(slog.NewTextHandler(io.Discard, nil)), catalog.New(st, 0), st)
	resp, err := h(context.Background(), httpapitest.Request("checkout", "alice", ""))
	if err != nil {
		t.Fatal(err)
	}
	body := httpapitest.ExpectError(t, resp, http.StatusInternalServerError, assignment.CodeAssignmentFailed)
	if strings.Contains(resp.Body, "throttled") || strings.Contains(resp.Body, "Provisioned") {
		t.Fatalf("500 body leaks the cause: %v", body)
	}
	if got := requests.Load(); got != attempts {
		t.Fatalf("DynamoDB saw %d requests, want %d (one call, retried up to the configured attempts)", got, attempts)
	}
}
