// Package lambdafn is what a route function builds once per cold start
// (settings, logger, one DynamoDB client, the store, the snapshots of the
// definitions, the saved groups, the holdouts and the flags) and its
// hand-over to the Lambda runtime. It does no network I/O before the first invocation.
package lambdafn

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/abtest/abtest/shared/config"
	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/edge/httpapi"
)

// Deps are what a function's handler is built from.
type Deps struct {
	Logger      *slog.Logger
	Store       *store.Store
	Definitions *snapshot.Definitions
	// Groups are the saved groups conditions test against, held like the
	// definitions (the same maximum age).
	Groups *snapshot.Groups
	// Holdouts are the live holdouts in memory; nil serves none.
	Holdouts *snapshot.Holdouts
	// Flags are the live feature flags in memory (the same maximum age),
	// read only by the functions that ask for them.
	Flags *snapshot.Flags
	// Metrics are the live metrics in memory (the same maximum age): which
	// metrics an event feeds.
	Metrics *snapshot.Metrics
	Now     func() time.Time
}

// New builds Deps on a DynamoDB client.
func New(logger *slog.Logger, db store.DynamoDB, cfg config.Config) Deps {
	st := store.New(db, cfg.Table).WithRetention(cfg.RetentionDays)
	return Deps{Logger: logger, Store: st, Definitions: snapshot.New(st, cfg.DefinitionsMaxAge),
		Groups: snapshot.NewGroups(st, cfg.DefinitionsMaxAge), Holdouts: snapshot.NewHoldouts(st, cfg.DefinitionsMaxAge),
		Flags: snapshot.NewFlags(st, cfg.DefinitionsMaxAge), Metrics: snapshot.NewMetrics(st, cfg.DefinitionsMaxAge), Now: time.Now}
}

// FromEnv builds Deps from the function's environment.
func FromEnv(ctx context.Context) (Deps, error) {
	cfg, err := config.FromEnv(snapshot.DefaultMaxAge)
	if err != nil {
		return Deps{}, err
	}
	db, err := cfg.DynamoDB(ctx)
	if err != nil {
		return Deps{}, err
	}
	return New(cfg.Logger(), db, cfg), nil
}

// Wire builds one function's handler from Deps.
type Wire func(Deps) httpapi.Handler

// Run is the whole main of a route function: build once, then serve.
func Run(function string, wire Wire) { lambda.Start(wire(Must(function))) }

// Must builds Deps from the environment or ends the cold start, logged.
func Must(function string) Deps {
	d, err := FromEnv(context.Background())
	if err != nil {
		slog.Error("cold start failed", "function", function, "error", err.Error())
		os.Exit(1)
	}
	return d
}
