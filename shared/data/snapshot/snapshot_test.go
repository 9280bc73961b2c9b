package snapshot_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// source is the table as the snapshot sees it; it counts reads.
type source struct {
	mu      sync.Mutex
	exps    map[string]*experiment.Experiment
	lists   atomic.Int64
	singles atomic.Int64
	delay   time.Duration
}

func (s *source) put(e experiment.Experiment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exps[e.Key] = &e
}

func (s *source) LiveExperiments(context.Context) ([]*experiment.Experiment, error) {
	s.lists.Add(1)
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*experiment.Experiment
	for _, e := range s.exps {
		if e.Status != experiment.Archived {
			c := *e
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *source) GetExperiment(_ context.Context, key string) (*experiment.Experiment, error) {
	s.singles.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.exps[key]
	if !ok {
		return nil, fmt.Errorf("get %q: %w", key, store.ErrNotFound)
	}
	c := *e
	return &c, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(maxAge time.Duration) (*source, *clock, *snapshot.Definitions) {
	src := &source{exps: map[string]*experiment.Experiment{}}
	src.put(experiment.Experiment{Key: "a", Status: experiment.Active, Version: 1, Variants: []experiment.Variant{{Key: "control"}, {Key: "b"}}})
	src.put(experiment.Experiment{Key: "gone", Status: experiment.Archived, Version: 3})
	clk := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	return src, clk, snapshot.New(src, maxAge).WithClock(clk.now)
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if f, ok := fault.As(err); !ok || f.Code != experiment.CodeNotFound {
		t.Fatalf("error %v, want %s", err, experiment.CodeNotFound)
	}
}

func TestServedFromMemoryWithinMaxAge(t *testing.T) {
	ctx := context.Background()
	src, clk, defs := setup(3 * time.Second)
	for i := 0; i < 10; i++ {
		e, err := defs.Get(ctx, "a", nil)
		if err != nil || e.Version != 1 {
			t.Fatalf("Get = %+v, %v", e, err)
		}
		clk.add(200 * time.Millisecond)
	}
	if src.lists.Load() != 1 || src.singles.Load() != 0 {
		t.Fatalf("%d snapshot reads and %d single reads for 10 gets within 3 s, want 1 and 0", src.lists.Load(), src.singles.Load())
	}
}

func TestChangesShowWithinMaxAge(t *testing.T) {
	ctx := context.Background()
	src, clk, defs := setup(3 * time.Second)
	if _, err := defs.Get(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	src.put(experiment.Experiment{Key: "a", Status: experiment.Paused, Version: 2})
	clk.add(2999 * time.Millisecond)
	if e, _ := defs.Get(ctx, "a", nil); e.Version != 1 {
		t.Fatalf("version %d before the max age, want the snapshot's 1", e.Version)
	}
	clk.add(time.Millisecond)
	if e, _ := defs.Get(ctx, "a", nil); e.Version != 2 || e.Status != experiment.Paused {
		t.Fatalf("at the max age: %+v, want version 2 paused", e)
	}
	if src.lists.Load() != 2 {
		t.Fatalf("%d snapshot reads, want 2", src.lists.Load())
	}
}

func TestOneRefreshAtATime(t *testing.T) {
	ctx := context.Background()
	src, clk, defs := setup(time.Second)
	src.delay = 20 * time.Millisecond
	if _, err := defs.Get(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := defs.Get(ctx, "a", nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := src.lists.Load(); n != 2 {
		t.Fatalf("%d snapshot reads for 50 concurrent gets of a stale snapshot, want 2 in all", n)
	}
}

func TestWantReadsAgain(t *testing.T) {
	ctx := context.Background()
	src, _, defs := setup(time.Minute)
	if _, err := defs.Get(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	// The table gained a variant the snapshot lacks.
	src.put(experiment.Experiment{Key: "a", Status: experiment.Active, Version: 2, Variants: []experiment.Variant{{Key: "control"}, {Key: "b"}, {Key: "c"}}})
	e, err := defs.Get(ctx, "a", experiment.HasVariant("c"))
	if err != nil || e.Version != 2 || src.singles.Load() != 1 {
		t.Fatalf("Get(want c) = %+v, %v after %d single reads", e, err, src.singles.Load())
	}
	if e, _ := defs.Get(ctx, "a", experiment.HasVariant("b")); e.Version != 1 || src.singles.Load() != 1 {
		t.Fatalf("a definition that passes want is served from memory: %+v", e)
	}
}

func TestUnknownAndArchivedAreNotFound(t *testing.T) {
	ctx := context.Background()
	for _, maxAge := range []time.Duration{0, time.Minute} {
		src, _, defs := setup(maxAge)
		_, err := defs.Get(ctx, "missing", nil)
		wantNotFound(t, err)
		_, err = defs.Get(ctx, "gone", nil)
		wantNotFound(t, err)
		_, err = defs.Fresh(ctx, "gone")
		wantNotFound(t, err)
		// A key created after the snapshot is read from the table.
		src.put(experiment.Experiment{Key: "new", Status: experiment.Draft, Version: 1})
		if e, err := defs.Get(ctx, "new", nil); err != nil || e.Key != "new" {
			t.Fatalf("maxAge %v: new key: %+v, %v", maxAge, e, err)
		}
	}
}

// A key the table lacks (archived, unknown) is read once per snapshot, not
// once per request; one created meanwhile shows at the next refresh.
func TestMissingKeysAreReadOncePerSnapshot(t *testing.T) {
	ctx := context.Background()
	src, clk, defs := setup(time.Minute)
	for i := 0; i < 5; i++ {
		for _, key := range []string{"gone", "missing"} {
			_, err := defs.Get(ctx, key, nil)
			wantNotFound(t, err)
		}
	}
	if n := src.singles.Load(); n != 2 {
		t.Fatalf("%d reads of missing keys in one snapshot, want 2", n)
	}
	src.put(experiment.Experiment{Key: "missing", Status: experiment.Draft, Version: 1})
	clk.add(time.Minute)
	if e, err := defs.Get(ctx, "missing", nil); err != nil || e.Key != "missing" {
		t.Fatalf("after the refresh: %+v, %v", e, err)
	}
}

func TestNoSnapshotReadsEveryTime(t *testing.T) {
	ctx := context.Background()
	src, _, defs := setup(0)
	for i := 0; i < 3; i++ {
		if _, err := defs.Get(ctx, "a", nil); err != nil {
			t.Fatal(err)
		}
	}
	if src.lists.Load() != 0 || src.singles.Load() != 3 {
		t.Fatalf("maxAge 0: %d snapshot and %d single reads, want 0 and 3", src.lists.Load(), src.singles.Load())
	}
}
