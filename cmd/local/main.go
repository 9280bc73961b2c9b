// Command local runs the whole service on one machine: DynamoDB Local, the
// table, a demo experiment, and every function behind a local HTTP gateway
// that hands them the same API Gateway v2 events Lambda does.
//
//	go run ./cmd/local        (or: make run)
//
// Settings (environment): LOCAL_ADDR (default 127.0.0.1:3000), TABLE_NAME
// (default abtest-local), AWS_ENDPOINT_URL_DYNAMODB (use a DynamoDB Local
// you started instead of starting one), LOCAL_DB_PATH (keep DynamoDB Local's
// data in this folder across runs; default in memory), LOCAL_CREDENTIALS_FILE
// (default .local/credentials.env), and the SESSION_* settings of the
// authorizer (default: a fresh HS256 secret, with tokens minted for the demo
// users alice and bob).
package main

import (
	"context"
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
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}
