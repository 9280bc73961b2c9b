package snapshot_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/domain/metric"
)

// metricSource is the live metrics as the table would list them; it counts
// reads.
type metricSource struct {
	mu    sync.Mutex
	all   []*metric.Metric
	reads atomic.Int64
}

func (s *metricSource) LiveMetrics(context.Context) ([]*metric.Metric, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*metric.Metric{}, s.all...), nil
}

// TestMetricsFeeding: the metrics an event name feeds (a ratio's two
// events each), served from memory within the maximum age and read again
// after it; a nil *Metrics serves none.
func TestMetricsFeeding(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	src := &metricSource{all: []*metric.Metric{
		{Key: "clicks", Type: metric.Count, Event: "click"},
		{Key: "rpc", Type: metric.Ratio, Numerator: &metric.Component{Type: metric.Sum, Event: "buy", Property: "p"}, Denominator: &metric.Component{Type: metric.Count, Event: "click"}},
		{Key: "aov", Type: metric.Ratio, Numerator: &metric.Component{Type: metric.Sum, Event: "buy", Property: "p"}, Denominator: &metric.Component{Type: metric.Count, Event: "buy"}},
	}}
	m := snapshot.NewMetrics(src, time.Minute).WithClock(func() time.Time { return now })
	keys := func(name string) []string {
		t.Helper()
		ms, err := m.Feeding(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ms {
			out = append(out, x.Key)
		}
		return out
	}
	for name, want := range map[string]int{"click": 2, "buy": 2, "view": 0} {
		if got := keys(name); len(got) != want {
			t.Errorf("%s feeds %v, want %d metrics", name, got, want)
		}
	}
	if src.reads.Load() != 1 {
		t.Fatalf("%d reads within the maximum age", src.reads.Load())
	}
	src.mu.Lock()
	src.all = src.all[:1]
	src.mu.Unlock()
	now = now.Add(2 * time.Minute)
	if got := keys("buy"); len(got) != 0 || src.reads.Load() != 2 {
		t.Fatalf("after the maximum age: buy feeds %v (%d reads)", got, src.reads.Load())
	}
	var none *snapshot.Metrics
	if ms, err := none.Feeding(ctx, "click"); err != nil || ms != nil {
		t.Fatalf("nil Metrics: %v %v", ms, err)
	}
}
