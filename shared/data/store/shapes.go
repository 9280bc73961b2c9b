package store

import (
	"context"
	"sync"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
)

// shapeCache holds the shapes of metrics (experiment.Shape) read so far. A
// metric's shape is fixed at its creation, so a shape once read is kept;
// it is safe for concurrent use (a recount's segments share one).
type shapeCache struct {
	mu     sync.Mutex
	shapes experiment.Shapes
}

func newShapeCache() *shapeCache { return &shapeCache{shapes: experiment.Shapes{}} }

// fill reads the definitions of the keys not known yet and returns them.
func (c *shapeCache) fill(ctx context.Context, s *Store, keys []string) (map[string]*metric.Metric, error) {
	defs, err := s.GetMetrics(ctx, keys)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, m := range defs {
		c.shapes[k] = m.Shape()
	}
	return defs, nil
}

// missing are the metric keys of the items' values whose shape is unknown.
func (c *shapeCache) missing(items []item) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		for k := range decodeValues(it) {
			if _, ok := c.shapes[k]; !ok && !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// snapshot returns the shapes known now (a copy).
func (c *shapeCache) snapshot() experiment.Shapes {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(experiment.Shapes, len(c.shapes))
	for k, v := range c.shapes {
		out[k] = v
	}
	return out
}
