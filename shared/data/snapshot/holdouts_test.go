package snapshot_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/domain/holdout"
)

// holdoutSource is the live holdouts as the table would list them; it
// counts reads.
type holdoutSource struct {
	mu    sync.Mutex
	all   []*holdout.Holdout
	reads atomic.Int64
}

func (s *holdoutSource) LiveHoldouts(context.Context) ([]*holdout.Holdout, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*holdout.Holdout{}, s.all...), nil
}

func (s *holdoutSource) set(hs ...*holdout.Holdout) {
	s.mu.Lock()
	s.all = hs
	s.mu.Unlock()
}

// TestHoldoutsBoundedAge: one read per refresh, served from memory within
// the maximum age (also to concurrent callers), read again after it; an
// archived holdout the index still shows is left out.
func TestHoldoutsBoundedAge(t *testing.T) {
	ctx := context.Background()
	src := &holdoutSource{}
	src.set(&holdout.Holdout{Key: "a", Percent: 5, Status: holdout.Live, Layers: []string{"l"}},
		&holdout.Holdout{Key: "gone", Percent: 5, Status: holdout.Archived})
	clk := &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
	hs := snapshot.NewHoldouts(src, 3*time.Second).WithClock(clk.now)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rules, err := hs.Rules(ctx)
			if err != nil || len(rules) != 1 || rules[0].Key != "a" || rules[0].Percent != 5 || rules[0].Layers[0] != "l" {
				t.Errorf("rules %+v %v", rules, err)
			}
		}()
	}
	wg.Wait()
	if live, _ := hs.Live(ctx); len(live) != 1 || src.reads.Load() != 1 {
		t.Fatalf("live %v after %d reads, want one holdout from one read", live, src.reads.Load())
	}
	src.set(&holdout.Holdout{Key: "a", Percent: 10, Status: holdout.Live}, &holdout.Holdout{Key: "b", Percent: 1, Status: holdout.Live})
	clk.add(2 * time.Second)
	if rules, _ := hs.Rules(ctx); len(rules) != 1 || rules[0].Percent != 5 {
		t.Fatalf("within the age: %+v", rules)
	}
	clk.add(time.Second)
	if rules, _ := hs.Rules(ctx); len(rules) != 2 || rules[0].Percent != 10 || src.reads.Load() != 2 {
		t.Fatalf("after the age: %+v (%d reads)", rules, src.reads.Load())
	}
}

// TestHoldoutsWithoutSnapshot: a zero age reads every time; a nil Holdouts
// serves none.
func TestHoldoutsWithoutSnapshot(t *testing.T) {
	ctx := context.Background()
	src := &holdoutSource{}
	src.set(&holdout.Holdout{Key: "a", Percent: 5, Status: holdout.Live})
	hs := snapshot.NewHoldouts(src, 0)
	for i := 0; i < 3; i++ {
		if rules, err := hs.Rules(ctx); err != nil || len(rules) != 1 {
			t.Fatalf("rules %+v %v", rules, err)
		}
	}
	if src.reads.Load() != 3 {
		t.Fatalf("%d reads, want 3", src.reads.Load())
	}
	var none *snapshot.Holdouts
	if rules, err := none.Rules(ctx); err != nil || len(rules) != 0 {
		t.Fatalf("nil: %+v %v", rules, err)
	}
}
