package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/domain/metric"
)

// MetricSource reads the live metrics from the table.
type MetricSource interface {
	LiveMetrics(ctx context.Context) ([]*metric.Metric, error)
}

// Metrics serves the live metrics from memory, as Holdouts serves the live
// holdouts: one query reads them all, the result is immutable and is
// replaced whole once older than its maximum age. The events path asks it
// which metrics an event name feeds, so a metric created (or archived)
// takes effect on the events within that age. A nil *Metrics serves none.
type Metrics struct {
	src   MetricSource
	cache cached[map[string][]*metric.Metric]
}

// NewMetrics returns Metrics over src; maxAge <= 0 keeps nothing in memory
// (every call reads the table).
func NewMetrics(src MetricSource, maxAge time.Duration) *Metrics {
	return &Metrics{src: src, cache: cached[map[string][]*metric.Metric]{maxAge: maxAge, now: time.Now}}
}

// WithClock sets the clock (tests).
func (m *Metrics) WithClock(now func() time.Time) *Metrics {
	m.cache.now = now
	return m
}

// Feeding returns the live metrics that events named name feed (a metric's
// event, or either side of a ratio). They are shared: callers must not
// modify them.
func (m *Metrics) Feeding(ctx context.Context, name string) ([]*metric.Metric, error) {
	if m == nil {
		return nil, nil
	}
	byEvent, err := m.cache.get(ctx, m.read)
	if err != nil {
		return nil, err
	}
	return byEvent[name], nil
}

func (m *Metrics) read(ctx context.Context) (map[string][]*metric.Metric, error) {
	all, err := m.src.LiveMetrics(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics snapshot: %w", err)
	}
	byEvent := map[string][]*metric.Metric{}
	for _, x := range all {
		for _, e := range x.Events() {
			byEvent[e] = append(byEvent[e], x)
		}
	}
	return byEvent, nil
}
