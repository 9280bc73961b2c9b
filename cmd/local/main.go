// Command local runs the whole service on one machine: DynamoDB Local, the
// table, a demo experiment, and every function behind a local HTTP gateway
// that hands them the same API Gateway v2 events Lambda does.
//
//	go run ./cmd/local        (or: make run, which builds build/local and execs it)
//
// Ctrl-C (SIGINT) or SIGTERM stops the gateway and DynamoDB Local, and the
// command exits 0 (go run itself would then report exit status 1, which is
// why make run builds the binary and execs it).
//
// Settings (environment): LOCAL_ADDR (default 127.0.0.1:3000), LOCAL_DEMO_USERS
// (users enrolled in a freshly created demo experiment, a share of them
// purchasing, so the console at /console/ has results to draw; default 300,
// 0 for none), TABLE_NAME
// (default abtest-local), AWS_ENDPOINT_URL_DYNAMODB (use a DynamoDB Local
// you started instead of starting one), LOCAL_DB_PATH (keep DynamoDB Local's
// data in this folder across runs; default in memory), LOCAL_CREDENTIALS_FILE
// (default .local/credentials.env), and the SESSION_* settings of the
// authorizer (default: a fresh HS256 secret, with tokens minted for the demo
// users alice and bob). When the keys in the credentials file still work in
// the table (kept with LOCAL_DB_PATH), they and the file's secret are reused.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := settingsFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
	if err := run(ctx, cfg, logger, os.Stdout, nil); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// Ctrl-C while starting: a stop asked for, not a failure.
			fmt.Fprintln(os.Stderr, "local: stopped before it was ready")
			return
		}
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}
