// Package resilience holds the service's reliability tests: the whole
// service in-process (the same handlers, authorizer and gateway as make run)
// on a real DynamoDB Local, under concurrency, a DynamoDB outage and
// throttling. They prove that sticky assignment holds under races, that a
// failed dependency answers the documented 5xx without hanging, and that
// every write the service acknowledged survives, exactly once.
//
// make test runs the short forms; make soak sets SOAK=1 for longer ones.
package resilience

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/auth"
	"github.com/abtest/abtest/shared/catalog"
	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/gateway"
	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/service"
	"github.com/abtest/abtest/shared/store"
)

const secret = "resilience-secret-of-32-bytes-or-more"

// soak scales a workload up when SOAK=1 (make soak).
func soak(short, long int) int {
	if os.Getenv("SOAK") == "1" {
		return long
	}
	return short
}

// svc is the service running in-process behind an HTTP server.
type svc struct {
	t        *testing.T
	url      string
	st       *store.Store
	admin    string
	client   string
	http     *http.Client
	gwTimout time.Duration
	endpoint string // the DynamoDB it runs on
}

// newSvc builds the service on the DynamoDB at endpoint with the production
// client; attemptTimeout and attempts override its settings when non-zero.
// gwTimeout bounds each request, like the function timeout.
func newSvc(t *testing.T, endpoint, table string, attemptTimeout time.Duration, attempts int, gwTimeout time.Duration) *svc {
	t.Helper()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	ctx := context.Background()
	cfg := config.Config{Table: table, CacheTTL: catalog.DefaultTTL, Endpoint: endpoint, DynamoTimeout: attemptTimeout, DynamoAttempts: attempts}
	db, err := cfg.DynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	deps := service.New(slog.New(slog.NewTextHandler(io.Discard, nil)), db, cfg)
	gw, err := deps.Gateway(auth.SessionConfig{HS256Secret: secret}, gateway.Options{Timeout: gwTimeout})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	s := &svc{t: t, url: srv.URL, st: deps.Store, http: &http.Client{Timeout: 30 * time.Second}, gwTimout: gwTimeout, endpoint: endpoint}
	if s.admin, _, err = auth.IssueKey(ctx, deps.Store, "admin", httpapi.RoleAdmin, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if s.client, _, err = auth.IssueKey(ctx, deps.Store, "client", httpapi.RoleClient, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// do sends a request and decodes the JSON answer (nil for an empty body).
func (s *svc) do(method, path string, headers map[string]string, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %d %q is not JSON", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out, nil
}

func (s *svc) asAdmin() map[string]string { return map[string]string{"X-Api-Key": s.admin} }

func (s *svc) asUser(user string) map[string]string {
	tok, err := auth.MintHS256(secret, user, time.Hour, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	return map[string]string{"X-Api-Key": s.client, "Authorization": "Bearer " + tok}
}

// createActive defines and starts an experiment through the admin API.
func (s *svc) createActive(key string) {
	s.t.Helper()
	body := fmt.Sprintf(`{"key":%q,"name":%q,"status":"active","variants":[{"key":"control","weight":1},{"key":"treatment","weight":1}]}`, key, key)
	if st, out, err := s.do("POST", "/v1/admin/experiments", s.asAdmin(), body); err != nil || st != 201 {
		s.t.Fatalf("create %s: %d %v %v", key, st, out, err)
	}
}

// errorCode returns error.code of an error body, or API Gateway's message.
func errorCode(body map[string]any) string {
	if e, ok := body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	m, _ := body["message"].(string)
	return m
}
