package apispec_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/edge/apispec"
)

const health = `{"status":"ok","version":"v1","dynamodb":"ok"}`

func exchange(method, target, reqBody string, status int, body string) apispec.Exchange {
	req, _ := http.NewRequest(method, "http://local"+target, nil)
	return apispec.Exchange{Request: req, RequestBody: []byte(reqBody), Status: status,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// TestCheck: the validator passes what the document describes and names
// each kind of mismatch.
func TestCheck(t *testing.T) {
	v, err := apispec.NewValidator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	notFound := `{"error":{"code":"EXPERIMENT_NOT_FOUND","message":"no such experiment","details":{},"request_id":"r"}}`
	cases := []struct {
		name string
		x    apispec.Exchange
		want string // "" = valid
	}{
		{"health", exchange("GET", "/v1/health", "", 200, health), ""},
		{"missing field", exchange("GET", "/v1/health", "", 200, `{"status":"ok","version":"v1"}`), "does not match"},
		{"extra field", exchange("GET", "/v1/health", "", 200, `{"status":"ok","version":"v1","dynamodb":"ok","x":1}`), "additional properties"},
		{"undocumented status", exchange("GET", "/v1/health", "", 418, health), "status is not supported"},
		{"documented code", exchange("GET", "/v1/admin/experiments/k", "", 404, notFound), ""},
		{"undocumented code", exchange("GET", "/v1/admin/experiments/k", "", 404, strings.Replace(notFound, "EXPERIMENT_NOT_FOUND", "LAYER_NOT_FOUND", 1)), "x-error-codes"},
		{"gateway code", exchange("GET", "/v1/admin/experiments/k", "", 400, strings.Replace(notFound, "EXPERIMENT_NOT_FOUND", "INVALID_QUERY", 1)), ""},
		{"bad request refused", exchange("POST", "/v1/admin/api-keys", `{"name":"x","role":"root"}`, 400,
			`{"error":{"code":"VALIDATION_FAILED","message":"m","details":{}}}`), ""},
		{"bad request accepted", exchange("POST", "/v1/admin/api-keys", `{"name":"x","role":"root"}`, 201,
			`{"id":"i","name":"x","role":"admin","created_at":"2026-01-01T00:00:00Z","created_by":"b","last_used_at":null,"revoked_at":null}`), "not 4xx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Check(context.Background(), tc.x)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected mismatch: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := v.Check(context.Background(), exchange("GET", "/v1/nothing", "", 404, notFound)); !errors.Is(err, apispec.ErrNoOperation) {
		t.Errorf("a path no operation has: %v", err)
	}
	if got := v.Checked()["GET /v1/health"]; got != 1 {
		t.Errorf("Checked counts %d health exchanges, want the 1 valid one", got)
	}
}

func BenchmarkCheck(b *testing.B) {
	v, err := apispec.NewValidator(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	x := exchange("GET", "/v1/client/experiments/k/assignment", "", 200,
		`{"experiment":"k","variant":"control","payload":{"color":"blue"},"assigned_at":"2026-01-01T00:00:00Z","in_experiment":true,"reason":"sticky"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Check(context.Background(), x); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckConcurrently: the gateway's tests check exchanges from many
// goroutines at once (run with -race).
func TestCheckConcurrently(t *testing.T) {
	v, err := apispec.NewValidator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				if err = v.Check(context.Background(), exchange("GET", "/v1/health", "", 200, health)); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if got := v.Checked()["GET /v1/health"]; got != 160 {
		t.Errorf("Checked counts %d, want 160", got)
	}
}
