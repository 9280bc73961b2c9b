package config_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/config"
)

// setEnv sets every variable FromEnv reads, so the process environment
// cannot leak into a case; "" means unset for FromEnv's purposes.
func setEnv(t *testing.T, table, ttl, level, endpoint string) {
	t.Helper()
	t.Setenv(config.EnvTable, table)
	t.Setenv(config.EnvDefinitionsMaxAge, ttl)
	t.Setenv(config.EnvLogLevel, level)
	t.Setenv(config.EnvEndpoint, endpoint)
}

func TestFromEnv(t *testing.T) {
	const def = 3 * time.Second
	cases := []struct {
		name      string
		table     string
		ttl       string
		level     string
		endpoint  string
		wantErr   string // substring; "" means success
		wantTTL   time.Duration
		wantLevel slog.Level
	}{
		{name: "defaults", table: "t", wantTTL: def, wantLevel: slog.LevelInfo},
		{name: "missing table", table: "", wantErr: config.EnvTable},
		{name: "missing table with other settings", table: "", ttl: "2s", level: "debug", wantErr: config.EnvTable},
		{name: "ttl 2s", table: "t", ttl: "2s", wantTTL: 2 * time.Second, wantLevel: slog.LevelInfo},
		{name: "ttl 500ms", table: "t", ttl: "500ms", wantTTL: 500 * time.Millisecond, wantLevel: slog.LevelInfo},
		{name: "ttl 0 disables", table: "t", ttl: "0", wantTTL: 0, wantLevel: slog.LevelInfo},
		{name: "ttl 0s disables", table: "t", ttl: "0s", wantTTL: 0, wantLevel: slog.LevelInfo},
		{name: "ttl invalid", table: "t", ttl: "soon", wantErr: config.EnvDefinitionsMaxAge},
		{name: "ttl bare number", table: "t", ttl: "3", wantErr: config.EnvDefinitionsMaxAge},
		{name: "ttl negative", table: "t", ttl: "-1s", wantErr: config.EnvDefinitionsMaxAge},
		{name: "level debug", table: "t", level: "debug", wantTTL: def, wantLevel: slog.LevelDebug},
		{name: "level INFO", table: "t", level: "INFO", wantTTL: def, wantLevel: slog.LevelInfo},
		{name: "level Warn", table: "t", level: "Warn", wantTTL: def, wantLevel: slog.LevelWarn},
		{name: "level error", table: "t", level: "error", wantTTL: def, wantLevel: slog.LevelError},
		{name: "level invalid", table: "t", level: "verbose", wantErr: config.EnvLogLevel},
		{name: "endpoint", table: "t", endpoint: "http://localhost:8000", wantTTL: def, wantLevel: slog.LevelInfo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.table, tc.ttl, tc.level, tc.endpoint)
			c, err := config.FromEnv(def)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.Table != tc.table || c.DefinitionsMaxAge != tc.wantTTL || c.LogLevel != tc.wantLevel || c.Endpoint != tc.endpoint {
				t.Errorf("FromEnv = %+v, want table %q ttl %v level %v endpoint %q", c, tc.table, tc.wantTTL, tc.wantLevel, tc.endpoint)
			}
		})
	}
}

func TestFromEnvUsesGivenDefault(t *testing.T) {
	setEnv(t, "t", "", "", "")
	for _, def := range []time.Duration{0, time.Second, time.Minute} {
		c, err := config.FromEnv(def)
		if err != nil || c.DefinitionsMaxAge != def {
			t.Errorf("FromEnv(%v) = %v, %v", def, c.DefinitionsMaxAge, err)
		}
	}
}

func TestLoggerHonoursLevel(t *testing.T) {
	c := config.Config{LogLevel: slog.LevelWarn}
	l := c.Logger()
	if l.Enabled(t.Context(), slog.LevelInfo) || !l.Enabled(t.Context(), slog.LevelWarn) {
		t.Errorf("logger at warn: info enabled=%v warn enabled=%v",
			l.Enabled(t.Context(), slog.LevelInfo), l.Enabled(t.Context(), slog.LevelWarn))
	}
}

// awsEnv gives the default AWS configuration chain static credentials and a
// region, and keeps the machine's own AWS settings out of the client.
func awsEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_MAX_ATTEMPTS": "", "AWS_RETRY_MODE": "",
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
}

// flakyDynamo is a fake DynamoDB endpoint. While hang is set it never
// answers (every attempt ends in the client's timeout); then it answers the
// next `fail` requests with DynamoDB's 500 InternalServerError, and the rest
// with an empty GetItem result.
type flakyDynamo struct {
	hang    atomic.Bool
	fail    atomic.Int64
	release chan struct{}

	mu    sync.Mutex
	hangs int
	tries []string // amz-sdk-request of each answered request
}

func (f *flakyDynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if f.hang.Load() {
		f.mu.Lock()
		f.hangs++
		f.mu.Unlock()
		select {
		case <-r.Context().Done(): // the client gave up
		case <-f.release:
		}
		return
	}
	f.mu.Lock()
	f.tries = append(f.tries, r.Header.Get("Amz-Sdk-Request"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if f.fail.Add(-1) >= 0 {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}`))
		return
	}
	_, _ = w.Write([]byte(`{}`))
}

// TestRetriesSurviveABurstOfTimeouts: 60 calls whose every attempt times out
// (180 timeouts; the SDK's default retry quota, 500 tokens at 10 per retry
// after a timeout, grants 50 such retries) must not use up the client's retries: the
// next call, whose first attempt fails with a 500, is still retried and
// succeeds. With the SDK's default quota that call fails at once with
// "retry quota exceeded".
func TestRetriesSurviveABurstOfTimeouts(t *testing.T) {
	awsEnv(t)
	f := &flakyDynamo{release: make(chan struct{})}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(f.release) })
	cfg := config.Config{Table: "t", Endpoint: srv.URL, DynamoTimeout: 500 * time.Millisecond}
	db, err := cfg.DynamoDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		_, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
		})
		return err
	}

	f.hang.Store(true)
	const burst = 60
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if get() != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	f.mu.Lock()
	hangs := f.hangs
	f.mu.Unlock()
	if failed.Load() != burst {
		t.Fatalf("burst: %d of %d calls failed, want all", failed.Load(), burst)
	}
	// Attempts can time out before the fake sees them: this is a floor.
	t.Logf("burst: the fake saw %d timed-out attempts", hangs)

	f.hang.Store(false)
	f.fail.Store(1)
	if err := get(); err != nil {
		t.Fatalf("the call after the burst was not retried: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.tries); n < 2 || strings.HasPrefix(f.tries[n-1], "attempt=1;") {
		t.Fatalf("the call after the burst made attempts %q, want a 500 then a retry", f.tries)
	}
}

// TestRetryPolicy: the client's retryer makes the configured attempts,
// never waits 1 s or more before a retry, and grants a retry however many
// have failed before (no client-side retry quota).
func TestRetryPolicy(t *testing.T) {
	awsEnv(t)
	for _, attempts := range []int{0, 1, 5} {
		db, err := config.Config{Table: "t", Endpoint: "http://127.0.0.1:1", DynamoAttempts: attempts}.DynamoDB(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r, ok := db.Options().Retryer.(aws.RetryerV2)
		if !ok {
			t.Fatalf("retryer %T", db.Options().Retryer)
		}
		want := attempts
		if want == 0 {
			want = config.DefaultDynamoAttempts
		}
		if r.MaxAttempts() != want {
			t.Errorf("DynamoAttempts %d: %d attempts, want %d", attempts, r.MaxAttempts(), want)
		}
		timeout := &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
		for i := 0; i < 1000; i++ {
			if d, err := r.RetryDelay(1+i%10, timeout); err != nil || d < 0 || d >= config.DynamoMaxBackoff {
				t.Fatalf("retry delay %v, %v; want below %v", d, err, config.DynamoMaxBackoff)
			}
			if _, err := r.GetRetryToken(context.Background(), timeout); err != nil {
				t.Fatalf("retry %d after a timeout refused: %v", i+1, err)
			}
		}
	}
}
