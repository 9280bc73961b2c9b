package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/holdout"
)

// HoldoutSource reads the live holdouts from the table.
type HoldoutSource interface {
	LiveHoldouts(ctx context.Context) ([]*holdout.Holdout, error)
}

// Holdouts serves the live holdouts from memory, as Definitions serves
// definitions: one query reads them all, the result is immutable and is
// replaced whole once older than its maximum age (one refresh at a time).
// A holdout created, raised or archived takes effect within that age. A nil
// *Holdouts serves none.
type Holdouts struct {
	src   HoldoutSource
	cache cached[*liveHoldouts]
}

type liveHoldouts struct {
	all   []*holdout.Holdout
	rules []enrolment.Holdout // all's rules, built once so deciding allocates nothing
}

// NewHoldouts returns Holdouts over src; maxAge <= 0 keeps nothing in
// memory (every call reads the table).
func NewHoldouts(src HoldoutSource, maxAge time.Duration) *Holdouts {
	return &Holdouts{src: src, cache: cached[*liveHoldouts]{maxAge: maxAge, now: time.Now}}
}

// WithClock sets the clock (tests).
func (h *Holdouts) WithClock(now func() time.Time) *Holdouts {
	h.cache.now = now
	return h
}

// Live returns the live holdouts. They are shared: callers must not modify
// them.
func (h *Holdouts) Live(ctx context.Context) ([]*holdout.Holdout, error) {
	l, err := h.live(ctx)
	if err != nil {
		return nil, err
	}
	return l.all, nil
}

// Rules returns the live holdouts' rules, for enrolment.Decide. They are
// shared: callers must not modify them.
func (h *Holdouts) Rules(ctx context.Context) ([]enrolment.Holdout, error) {
	l, err := h.live(ctx)
	if err != nil {
		return nil, err
	}
	return l.rules, nil
}

func (h *Holdouts) live(ctx context.Context) (*liveHoldouts, error) {
	if h == nil {
		return &liveHoldouts{}, nil
	}
	return h.cache.get(ctx, h.read)
}

func (h *Holdouts) read(ctx context.Context) (*liveHoldouts, error) {
	all, err := h.src.LiveHoldouts(ctx)
	if err != nil {
		return nil, fmt.Errorf("holdouts snapshot: %w", err)
	}
	l := &liveHoldouts{}
	for _, x := range all {
		if x.Status == holdout.Live { // the index may lag an archive
			l.all = append(l.all, x)
			l.rules = append(l.rules, x.Rule())
		}
	}
	return l, nil
}
