package healthapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/healthapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/health"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

func request() httpapi.Request {
	var req httpapi.Request
	req.RouteKey = routes.HealthCheck.Key()
	req.RequestContext.RequestID = "req-health"
	return req
}

// Against DynamoDB Local: 200, the version, and DynamoDB "ok", with no
// caller at all (the route is public).
func TestHealthy(t *testing.T) {
	st, _, _ := storetest.New(t)
	var logs bytes.Buffer
	h := healthapi.New(slog.New(slog.NewJSONHandler(&logs, nil)), st, "v1.2.3 (abc)")
	resp, err := h(context.Background(), request())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, resp.Body)
	}
	var got health.Report
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if want := (health.Report{Status: "ok", Version: "v1.2.3 (abc)", DynamoDB: "ok"}); got != want {
		t.Errorf("report %+v, want %+v", got, want)
	}
	if !strings.Contains(logs.String(), `"status":200`) || !strings.Contains(logs.String(), `"request_id":"req-health"`) {
		t.Errorf("access log %s", logs.String())
	}
}

type failing struct{ err error }

func (f failing) Ping(context.Context) error { return f.err }

// A DynamoDB that fails: 503 with a stable code and the version, and the
// dependency's text only in the log.
func TestUnhealthy(t *testing.T) {
	var logs bytes.Buffer
	h := healthapi.New(slog.New(slog.NewJSONHandler(&logs, nil)), failing{errors.New("dial tcp 10.0.0.7:443: connection refused")}, "v9")
	resp, _ := h(context.Background(), request())
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503: %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != health.CodeUnavailable || body.Error.Details["version"] != "v9" {
		t.Errorf("body %s", resp.Body)
	}
	if strings.Contains(resp.Body, "10.0.0.7") {
		t.Errorf("body leaks the cause: %s", resp.Body)
	}
	if !strings.Contains(logs.String(), "10.0.0.7") {
		t.Errorf("log lacks the cause: %s", logs.String())
	}
}

// A DynamoDB that hangs: the check gives up after health.Timeout instead
// of holding the probe.
type hanging struct{}

func (hanging) Ping(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

func TestHangingDynamoDB(t *testing.T) {
	if _, err := health.Check(context.Background(), hanging{}, "v"); err == nil {
		t.Fatal("a hanging DynamoDB passed the check")
	}
}
