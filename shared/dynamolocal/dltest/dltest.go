// Package dltest runs one real DynamoDB Local per test binary, so packages
// test against actual DynamoDB semantics without per-test startup cost:
//
//	func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }
//
// The server is in-memory and shared by all tests of the binary; give each
// test its own table names. If the server cannot start, the binary fails
// (never skips), so CI really runs the tests.
package dltest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/dynamolocal"
)

// startBudget covers a first-time download (~55 MB) plus JVM startup.
const startBudget = 5 * time.Minute

var endpoint string

// Main starts DynamoDB Local, points the AWS SDK at it through the
// environment (AWS_ENDPOINT_URL_DYNAMODB always; AWS_REGION=us-east-1,
// AWS_ACCESS_KEY_ID=local and AWS_SECRET_ACCESS_KEY=local only if unset),
// runs the tests, stops the server and returns the exit code.
//
// Clients built with config.LoadDefaultConfig should set
// DisableValidateResponseChecksum: DynamoDB Local omits x-amz-crc32 on errors.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), startBudget)
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: dltest: DynamoDB Local could not start, so these tests cannot run: %v\n", err)
		return 1
	}
	endpoint = srv.Endpoint()
	os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
	setDefault("AWS_REGION", "us-east-1")
	setDefault("AWS_ACCESS_KEY_ID", "local")
	setDefault("AWS_SECRET_ACCESS_KEY", "local")

	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: dltest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func setDefault(key, value string) {
	if os.Getenv(key) == "" {
		os.Setenv(key, value)
	}
}

// Endpoint returns the URL of the server started by Main. It panics if Main
// has not started one, which points at a missing TestMain.
func Endpoint() string {
	if endpoint == "" {
		panic("dltest.Endpoint: no DynamoDB Local running; add func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }")
	}
	return endpoint
}
