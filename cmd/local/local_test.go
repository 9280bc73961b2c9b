package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/dynamolocal/dltest"
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

// startLocal runs the local server on a free port against the test binary's
// DynamoDB Local and returns its base URL.
func startLocal(t *testing.T) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	s := settings{Addr: "127.0.0.1:0", Table: "local-" + strings.ToLower(t.Name()), Endpoint: dltest.Endpoint()}
	go func() { done <- run(ctx, s, slog.New(slog.NewTextHandler(io.Discard, nil)), out, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case base := <-ready:
		return base, out
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("local server not ready")
	}
	return "", nil
}

func send(t *testing.T, base string, e Example) (int, map[string]any) {
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

// TestQuickStart sends the printed curl requests through the local gateway:
// a sticky variant and a recorded exposure.
func TestQuickStart(t *testing.T) {
	base, out := startLocal(t)
	examples := quickStart()
	for _, e := range examples {
		if !strings.Contains(out.String(), e.Curl(base)) {
			t.Fatalf("quick start does not print %q:\n%s", e.Curl(base), out.String())
		}
	}
	status, first := send(t, base, examples[0])
	if status != http.StatusOK || first["experiment"] != DemoExperiment {
		t.Fatalf("assignment: %d %v", status, first)
	}
	for i := 0; i < 3; i++ {
		if _, again := send(t, base, examples[0]); again["variant"] != first["variant"] || again["assigned_at"] != first["assigned_at"] {
			t.Fatalf("not sticky: %v then %v", first, again)
		}
	}
	status, exp := send(t, base, examples[1])
	if status != http.StatusCreated || exp["variant"] != first["variant"] || exp["id"] == "" {
		t.Fatalf("exposure: %d %v", status, exp)
	}
}

func TestGatewayErrors(t *testing.T) {
	base, _ := startLocal(t)
	status, body := send(t, base, Example{Method: http.MethodGet, Path: "/nowhere"})
	if status != http.StatusNotFound || body["error"].(map[string]any)["code"] != "NOT_FOUND" {
		t.Fatalf("unknown route: %d %v", status, body)
	}
	status, body = send(t, base, Example{Method: http.MethodGet, Path: "/v1/client/experiments/" + DemoExperiment + "/assignment"})
	if status != http.StatusUnauthorized {
		t.Fatalf("no caller: %d %v", status, body)
	}
	status, _ = send(t, base, Example{Method: http.MethodPost, Path: "/v1/client/experiments/" + DemoExperiment + "/exposure",
		Headers: [][2]string{{"X-User-Id", "zed"}}, Body: strings.Repeat("a", 70<<10)})
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body: %d", status)
	}
}
