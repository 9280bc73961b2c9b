package snapshot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// cached holds one value read whole from the table, immutable, replaced
// when older than maxAge: one refresh at a time, and requests that find it
// too old wait for that refresh. maxAge <= 0 keeps nothing (every get
// reads). Holdouts and Flags are held this way.
type cached[T any] struct {
	maxAge time.Duration
	now    func() time.Time

	cur     atomic.Pointer[stamped[T]]
	refresh sync.Mutex
}

type stamped[T any] struct {
	v      T
	readAt time.Time
}

// get returns the value, calling read when the one held is missing or too
// old.
func (c *cached[T]) get(ctx context.Context, read func(context.Context) (T, error)) (T, error) {
	if c.maxAge <= 0 {
		return read(ctx)
	}
	if s := c.fresh(); s != nil {
		return s.v, nil
	}
	c.refresh.Lock()
	defer c.refresh.Unlock()
	// Another request may have refreshed it while this one waited.
	if s := c.fresh(); s != nil {
		return s.v, nil
	}
	readAt := c.now()
	v, err := read(ctx)
	if err != nil {
		return v, err
	}
	c.cur.Store(&stamped[T]{v: v, readAt: readAt})
	return v, nil
}

func (c *cached[T]) fresh() *stamped[T] {
	if s := c.cur.Load(); s != nil && c.now().Sub(s.readAt) < c.maxAge {
		return s
	}
	return nil
}
