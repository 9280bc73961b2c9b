package snapshotfn_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/edge/snapshotfn"
	"github.com/abtest/abtest/shared/usecase/results"
)

// job counts its runs and fails when told to.
type job struct {
	runs atomic.Int32
	fail error
}

func (j *job) TakeSnapshots(ctx context.Context, _ results.Lister) (results.Snapshotted, error) {
	j.runs.Add(1)
	return results.Snapshotted{Day: "2026-11-30", Experiments: []string{"a"}, Failed: []string{"b"}}, j.fail
}

type none struct{}

func (none) LiveExperiments(context.Context) ([]*experiment.Experiment, error) { return nil, nil }

// TestHandler: a failed run is the invocation's error (Lambda counts it,
// the stack alarms) and is logged with what failed; a good run logs what
// it did.
func TestHandler(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	broken := errors.New("snapshot of \"b\": throttled")
	if err := snapshotfn.Handler(logger, &job{fail: broken}, none{})(context.Background()); !errors.Is(err, broken) {
		t.Fatalf("error %v, want the job's", err)
	}
	if !strings.Contains(logs.String(), "snapshots failed") || !strings.Contains(logs.String(), "failed=[b]") {
		t.Fatalf("log %q", logs.String())
	}
	logs.Reset()
	if err := snapshotfn.Handler(logger, &job{}, none{})(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "snapshots taken") || !strings.Contains(logs.String(), "snapshotted=1") {
		t.Fatalf("log %q", logs.String())
	}
}

// TestEvery: the local ticker runs at once, again each interval, survives
// a failed run, and stops with its context.
func TestEvery(t *testing.T) {
	j := &job{fail: errors.New("down")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		snapshotfn.Every(ctx, time.Millisecond, slog.New(slog.DiscardHandler), j, none{})
		close(done)
	}()
	for j.runs.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	n := j.runs.Load()
	time.Sleep(5 * time.Millisecond)
	if j.runs.Load() != n {
		t.Fatal("ran after its context ended")
	}
}
