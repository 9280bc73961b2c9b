// Package config reads a function's settings from its environment and builds
// what every function needs once per cold start: a logger and a DynamoDB
// client. It does no network I/O.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Environment variables, documented in the README.
const (
	EnvTable             = "TABLE_NAME"
	EnvDefinitionsMaxAge = "DEFINITIONS_MAX_AGE" // Go duration, e.g. "3s"; "0" keeps no snapshot (shared/data/snapshot)
	EnvLogLevel          = "LOG_LEVEL"           // debug, info, warn, error
	// EnvRetentionDays is how many days exposure and event items are kept
	// (DynamoDB TTL); aggregates and assignments stay.
	EnvRetentionDays = "RETENTION_DAYS"
	// EnvDynamoTimeout bounds one DynamoDB HTTP attempt (Go duration,
	// default 2s) and EnvDynamoAttempts the attempts per call (default 3),
	// so a call gives up inside the function's 10 s timeout (see Retryer).
	EnvDynamoTimeout  = "DYNAMODB_TIMEOUT"
	EnvDynamoAttempts = "DYNAMODB_MAX_ATTEMPTS"
	// EnvEndpoint is the SDK's own variable; when set (DynamoDB Local) the
	// client also skips the CRC32 check DynamoDB Local does not support.
	EnvEndpoint = "AWS_ENDPOINT_URL_DYNAMODB"
)

// Config is a function's settings.
type Config struct {
	Table             string
	DefinitionsMaxAge time.Duration
	Endpoint          string
	LogLevel          slog.Level
	// DynamoTimeout and DynamoAttempts: zero means the defaults.
	DynamoTimeout  time.Duration
	DynamoAttempts int
	// RetentionDays: zero means store.DefaultRetentionDays.
	RetentionDays int
}

// Defaults of the DynamoDB client.
const (
	DefaultDynamoTimeout  = 2 * time.Second
	DefaultDynamoAttempts = 3
	// DynamoMaxBackoff is the longest wait before a retry. With the
	// defaults a call takes at most 3 x 2 s + 2 x 1 s = 8 s, inside the
	// function's 10 s timeout.
	DynamoMaxBackoff = time.Second
)

// FromEnv reads the settings; defaults fill what is not set.
func FromEnv(defaultTTL time.Duration) (Config, error) {
	c := Config{Table: os.Getenv(EnvTable), DefinitionsMaxAge: defaultTTL, Endpoint: os.Getenv(EnvEndpoint)}
	if c.Table == "" {
		return c, fmt.Errorf("config: %s is required", EnvTable)
	}
	if v := os.Getenv(EnvDefinitionsMaxAge); v != "" {
		d, err := time.ParseDuration(v)
		if v == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return c, fmt.Errorf("config: %s=%q is not a non-negative duration", EnvDefinitionsMaxAge, v)
		}
		c.DefinitionsMaxAge = d
	}
	var err error
	if c.RetentionDays, err = RetentionDaysFromEnv(); err != nil {
		return c, err
	}
	if v := os.Getenv(EnvDynamoTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("config: %s=%q is not a positive duration", EnvDynamoTimeout, v)
		}
		c.DynamoTimeout = d
	}
	if v := os.Getenv(EnvDynamoAttempts); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			return c, fmt.Errorf("config: %s=%q must be 1 to 10", EnvDynamoAttempts, v)
		}
		c.DynamoAttempts = n
	}
	if v := os.Getenv(EnvLogLevel); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return c, fmt.Errorf("config: %s=%q: %w", EnvLogLevel, v, err)
		}
	}
	return c, nil
}

// Logger returns the JSON logger functions write to (CloudWatch on Lambda).
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: c.LogLevel}))
}

// DynamoDB builds the client from the default AWS configuration chain.
func (c Config) DynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("config: load AWS configuration: %w", err)
	}
	timeout, attempts := c.DynamoTimeout, c.DynamoAttempts
	if timeout == 0 {
		timeout = DefaultDynamoTimeout
	}
	if attempts == 0 {
		attempts = DefaultDynamoAttempts
	}
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(timeout)
		o.Retryer = Retryer(attempts)
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			// DynamoDB Local omits x-amz-crc32 on errors.
			o.DisableValidateResponseChecksum = true
		}
	}), nil
}

// Retryer is the DynamoDB client's retry policy: the SDK's standard retryer
// (throttling, 5xx, timeouts and connection errors are retried) with
//
//   - attempts attempts per call;
//   - full-jitter backoff: before each retry it waits a random time below
//     DynamoMaxBackoff (1 s). The SDK's own backoff waits up to 2 s before
//     the first retry and 4 s before the second (its ceiling is 20 s), which
//     with 2 s attempts overruns the 10 s function timeout; and capped with
//     retry.AddWithMaxBackoffDelay at 1 s or less it waits exactly the
//     ceiling every time, with no jitter;
//   - no client-side retry quota (ratelimit.None). The SDK's default quota is
//     a 500-token bucket per client: a retry takes 5 tokens (10 after a
//     timeout) and gives them back only if it succeeds, and each successful
//     attempt adds 1. A Lambda instance keeps its client for its whole life
//     and serves one request at a time, so about 50 retried timeouts (a few
//     seconds of a DynamoDB incident) leave it making no retries at all
//     until hundreds of later calls have refilled the bucket, just when
//     retries matter. The load retries add is bounded per call instead: at
//     most attempts-1 retries, spaced by the backoff, within the function
//     timeout.
func Retryer(attempts int) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = DynamoMaxBackoff
		o.Backoff = fullJitter{max: DynamoMaxBackoff}
		o.RateLimiter = ratelimit.None
	})
}

// fullJitter waits a random time in [0, max) before any retry.
type fullJitter struct{ max time.Duration }

func (j fullJitter) BackoffDelay(int, error) (time.Duration, error) {
	if j.max <= 0 {
		return 0, nil
	}
	return time.Duration(rand.Int64N(int64(j.max))), nil
}

// RetentionDaysFromEnv reads EnvRetentionDays (0 when unset: the default).
func RetentionDaysFromEnv() (int, error) {
	v := os.Getenv(EnvRetentionDays)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 36500 {
		return 0, fmt.Errorf("config: %s=%q must be a whole number of days from 1 to 36500", EnvRetentionDays, v)
	}
	return n, nil
}
