package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"

	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/auth"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// syncBuffer lets the test read what run prints while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// local is a running local server.
type local struct {
	table string
	base  string
	out   *syncBuffer
	creds localCreds
	// stop ends the server and waits for run to return (also at cleanup).
	stop func()
}

const testSecret = "test-secret-of-at-least-thirty-two-bytes"

// startLocal runs the local server on a free port against the test binary's
// DynamoDB Local.
func startLocal(t *testing.T) local {
	t.Helper()
	return startWith(t, settings{
		Addr: "127.0.0.1:0", Table: "local-" + strings.ToLower(t.Name()), Endpoint: dltest.Endpoint(),
		Credentials: filepath.Join(t.TempDir(), "credentials.env"),
		Session:     auth.SessionConfig{HS256Secret: testSecret},
	})
}

// startWith runs the local server with s until the test ends or stop.
func startWith(t *testing.T, s settings) local {
	t.Helper()
	s.wrap = func(h http.Handler) http.Handler { return apispectest.Serve(t, h) }
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, s, slog.New(slog.NewTextHandler(io.Discard, nil)), out, ready) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case base := <-ready:
		creds, err := readCredentials(s.Credentials)
		if err != nil {
			t.Fatal(err)
		}
		if creds.URL != base {
			t.Fatalf("credentials file names %q, server is %q", creds.URL, base)
		}
		return local{table: s.Table, base: base, out: out, creds: creds, stop: stop}
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(90 * time.Second): // liveness only: DynamoDB Local starts in seconds
		t.Fatal("local server not ready")
	}
	return local{}
}

func send(t *testing.T, base string, e Example) (int, map[string]any) {
	t.Helper()
	t.Helper()
	req, err := http.NewRequest(e.Method, base+e.Path, strings.NewReader(e.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range e.Headers {
		req.Header.Set(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", e.Method, e.Path, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content-type %q", ct)
	}
	return resp.StatusCode, body
}

// TestQuickStart sends the printed curl requests through the local gateway,
// in order, and each answers as documented: a sticky variant, a recorded
// exposure, an accepted event, results and the experiment list.
func TestQuickStart(t *testing.T) {
	l := startLocal(t)
	examples := quickStart(l.creds)
	for _, e := range examples {
		if !strings.Contains(l.out.String(), e.Curl(l.base)) {
			t.Fatalf("quick start does not print %q:\n%s", e.Curl(l.base), l.out.String())
		}
	}
	var first map[string]any
	for i, e := range examples {
		status, body := send(t, l.base, e)
		if status != e.Status {
			t.Fatalf("%s: %d %v, want %d", e.Title, status, body, e.Status)
		}
		if i == 0 {
			first = body
		}
	}
	for i := 0; i < 3; i++ {
		if _, again := send(t, l.base, examples[0]); again["variant"] != first["variant"] || again["assigned_at"] != first["assigned_at"] {
			t.Fatalf("not sticky: %v then %v", first, again)
		}
	}
	// The demo user's purchase after exposure shows in the results.
	l.drain(t)
	_, res := send(t, l.base, examples[3])
	for _, r := range res["variants"].([]any) {
		row := r.(map[string]any)
		if row["variant"] == first["variant"] && (row["exposed_count"] != 1.0 || row["converted_count"] != 1.0) {
			t.Fatalf("results row %v", row)
		}
	}
}

func TestGatewayErrors(t *testing.T) {
	l := startLocal(t)
	base := l.base
	status, body := send(t, base, Example{Method: http.MethodGet, Path: "/nowhere"})
	if status != http.StatusNotFound || body["error"].(map[string]any)["code"] != "NOT_FOUND" {
		t.Fatalf("unknown route: %d %v", status, body)
	}
	status, _ = send(t, base, Example{Method: http.MethodPost, Path: "/v1/client/experiments/" + DemoExperiment + "/exposure",
		Headers: [][2]string{{"X-Api-Key", l.creds.ClientKey}, {"Authorization", "Bearer " + l.creds.BobToken}}, Body: strings.Repeat("a", 70<<10)})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body: %d", status)
	}
}

// TestSettingsDefaults: what make run uses when nothing is set, as the
// README documents it.
func TestSettingsDefaults(t *testing.T) {
	for _, k := range []string{"LOCAL_ADDR", "TABLE_NAME", "LOCAL_DB_PATH", "LOCAL_CREDENTIALS_FILE", "LOCAL_CORS_ORIGINS",
		"LOCAL_AUTHORIZER_CACHE_TTL", "SESSION_HS256_SECRET", "SESSION_JWKS_URL", "SESSION_JWKS_JSON"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	s, err := settingsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "127.0.0.1:3000" || s.Table != "abtest-local" || s.Credentials != ".local/credentials.env" ||
		s.Endpoint != "" || s.DBPath != "" || s.AuthorizerCacheTTL != 0 || len(s.CORSOrigins) != 0 || len(s.Session.HS256Secret) != 64 {
		t.Fatalf("defaults %+v", s)
	}
	t.Setenv("LOCAL_CORS_ORIGINS", "https://a.example,https://b.example")
	t.Setenv("LOCAL_AUTHORIZER_CACHE_TTL", "1m")
	if s, err = settingsFromEnv(); err != nil || len(s.CORSOrigins) != 2 || s.AuthorizerCacheTTL != time.Minute {
		t.Fatalf("%+v %v", s, err)
	}
	t.Setenv("LOCAL_AUTHORIZER_CACHE_TTL", "soon")
	if _, err = settingsFromEnv(); err == nil {
		t.Fatal("bad duration accepted")
	}
}

// drain waits for nothing: it counts what the table's stream holds now,
// as the server's own poller does within a tenth of a second.
func (l local) drain(t *testing.T) {
	t.Helper()
	storetest.DrainAt(t, dltest.Endpoint(), l.table)
}
