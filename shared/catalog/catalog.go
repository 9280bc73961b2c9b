// Package catalog keeps experiment definitions in a function's memory for a
// few seconds, so a repeat assignment costs one DynamoDB read instead of two.
//
// The cache is only ever used for what may be briefly stale (weights,
// payloads, variant names). Status decisions that must be exact are made by
// DynamoDB itself: a new assignment is written in a transaction that checks
// the experiment is active, whatever the cache says.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/store"
)

// ErrNotFound is returned for unknown and archived experiments alike.
var ErrNotFound = errors.New("experiment not found")

// Source reads one definition from the table.
type Source interface {
	GetExperiment(ctx context.Context, key string) (*experiment.Experiment, error)
}

// DefaultTTL is how long a definition is served from memory.
const DefaultTTL = 3 * time.Second

// Catalog is a read-through cache of definitions. Returned experiments are
// shared snapshots: callers must not modify them.
type Catalog struct {
	src Source
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	exp     *experiment.Experiment
	expires time.Time
}

// New returns a Catalog over src; ttl <= 0 disables caching.
func New(src Source, ttl time.Duration) *Catalog {
	return &Catalog{src: src, ttl: ttl, now: time.Now, entries: map[string]entry{}}
}

// Get returns a definition, from memory when it is fresh enough.
func (c *Catalog) Get(ctx context.Context, key string) (*experiment.Experiment, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.exp, nil
	}
	return c.Fresh(ctx, key)
}

// Fresh reads a definition from the table and refreshes the cache.
func (c *Catalog) Fresh(ctx context.Context, key string) (*experiment.Experiment, error) {
	exp, err := c.src.GetExperiment(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		c.forget(key)
		return nil, fmt.Errorf("catalog: %w: %w", ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if exp.Status == experiment.Archived {
		c.forget(key)
		return nil, fmt.Errorf("catalog: experiment %q is archived: %w", key, ErrNotFound)
	}
	if c.ttl > 0 {
		c.mu.Lock()
		c.entries[key] = entry{exp: exp, expires: c.now().Add(c.ttl)}
		c.mu.Unlock()
	}
	return exp, nil
}

func (c *Catalog) forget(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
