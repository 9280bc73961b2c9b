// Package snapshotfn is the edge of the scheduled snapshot job: an
// EventBridge schedule on AWS, a ticker in the local stack. Each run writes
// today's snapshot of every live experiment's counters (the daily series
// of results/timeseries) and trips the guardrail breakers that opted in.
package snapshotfn

import (
	"context"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/usecase/results"
)

// Job is the use case a run calls.
type Job interface {
	TakeSnapshots(ctx context.Context, exps results.Lister) (results.Snapshotted, error)
}

// Run takes the snapshots once and logs what it did. A failure is returned
// (Lambda then counts an error, which the stack alarms on) after the other
// experiments were snapshotted.
func Run(ctx context.Context, logger *slog.Logger, job Job, exps results.Lister) error {
	done, err := job.TakeSnapshots(ctx, exps)
	if err != nil {
		logger.ErrorContext(ctx, "snapshots failed", "day", done.Day, "snapshotted", len(done.Experiments), "failed", done.Failed, "error", err.Error())
		return err
	}
	logger.InfoContext(ctx, "snapshots taken", "day", done.Day, "snapshotted", len(done.Experiments), "paused_by_guardrail", done.Paused)
	return nil
}

// Handler is the scheduled function's entry point (the schedule's event
// carries nothing it needs).
func Handler(logger *slog.Logger, job Job, exps results.Lister) func(context.Context) error {
	return func(ctx context.Context) error { return Run(ctx, logger, job, exps) }
}

// Every runs the job at once and then every interval until ctx ends: the
// local stack's stand-in for the schedule. Failures are logged, not fatal.
func Every(ctx context.Context, interval time.Duration, logger *slog.Logger, job Job, exps results.Lister) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_ = Run(ctx, logger, job, exps)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
