// Package snapshot keeps every live experiment definition in a function's
// memory, so deciding for a unit costs no definition read; Groups does the
// same for saved groups (groups.go), Holdouts for the live holdouts and
// Flags for the live feature flags (one query each per refresh, only when
// a function asks for them).
//
// A snapshot is all non-archived definitions read with one query, held
// immutable and replaced whole when it is older than its maximum age (one
// refresh at a time; requests that find it too old wait for that refresh).
// So a definition served from memory is at most MaxAge old, plus the
// index's replication lag (well under a second on DynamoDB).
//
// A use case passes Get a test the definition must pass (active, has this
// variant), and a definition that fails it, or is missing, is read again
// from the table; so a start or a new variant takes effect at once, and a
// pause within MaxAge. A key the table does not have (unknown or archived)
// is remembered as missing until the next refresh, so asking for it again,
// as every events batch of a unit assigned to an archived experiment does,
// costs no read; an experiment created meanwhile is seen within MaxAge.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// DefaultMaxAge is how old a snapshot may get before it is read again.
const DefaultMaxAge = 3 * time.Second

// Source reads definitions from the table.
type Source interface {
	LiveExperiments(ctx context.Context) ([]*experiment.Experiment, error)
	GetExperiment(ctx context.Context, key string) (*experiment.Experiment, error)
}

// Definitions serves experiment definitions from a snapshot. Returned
// experiments are shared: callers must not modify them.
type Definitions struct {
	src    Source
	maxAge time.Duration
	now    func() time.Time

	cur     atomic.Pointer[snapshot]
	refresh sync.Mutex // one refresh at a time
}

type snapshot struct {
	byKey  map[string]*experiment.Experiment
	sorted []*experiment.Experiment // byKey's values in key order
	readAt time.Time

	mu      sync.Mutex
	missing map[string]bool // keys read since readAt and not found
}

// maxMissing bounds the keys a snapshot remembers as missing: callers name
// keys, and a snapshot lives MaxAge.
const maxMissing = 10000

// New returns Definitions over src; maxAge <= 0 keeps no snapshot (every
// Get reads the table).
func New(src Source, maxAge time.Duration) *Definitions {
	return &Definitions{src: src, maxAge: maxAge, now: time.Now}
}

// WithClock sets the clock (tests).
func (d *Definitions) WithClock(now func() time.Time) *Definitions {
	d.now = now
	return d
}

// Get returns key's definition from the snapshot when it is there and
// passes want (nil accepts anything); otherwise it reads the definition
// from the table. Unknown and archived keys are experiment.ErrNotFound.
func (d *Definitions) Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error) {
	if d.maxAge > 0 {
		snap, err := d.snapshot(ctx)
		if err != nil {
			return nil, err
		}
		e, ok := snap.byKey[key]
		if ok && (want == nil || want(e)) {
			return e, nil
		}
		if !ok {
			return snap.fresh(ctx, d, key)
		}
	}
	return d.Fresh(ctx, key)
}

// Live returns every definition that is not archived, in key order: the
// snapshot's, at most MaxAge old (read from the table when no snapshot is
// kept). The slice and the experiments are shared: callers must not modify
// them.
func (d *Definitions) Live(ctx context.Context) ([]*experiment.Experiment, error) {
	if d.maxAge <= 0 {
		all, err := d.src.LiveExperiments(ctx)
		if err != nil {
			return nil, fmt.Errorf("live definitions: %w", err)
		}
		return notArchived(all), nil
	}
	snap, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return snap.sorted, nil
}

// fresh reads a key the snapshot lacks, remembering one that is not found.
func (s *snapshot) fresh(ctx context.Context, d *Definitions, key string) (*experiment.Experiment, error) {
	s.mu.Lock()
	gone := s.missing[key]
	s.mu.Unlock()
	if gone {
		return nil, experiment.ErrNotFound()
	}
	e, err := d.Fresh(ctx, key)
	if fault.HasCode(err, experiment.CodeNotFound) {
		s.mu.Lock()
		if len(s.missing) < maxMissing {
			s.missing[key] = true
		}
		s.mu.Unlock()
	}
	return e, err
}

// Fresh reads one definition from the table now (strongly consistent).
func (d *Definitions) Fresh(ctx context.Context, key string) (*experiment.Experiment, error) {
	e, err := d.src.GetExperiment(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, experiment.ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("definition %q: %w", key, err)
	}
	return experiment.Visible(e)
}

// snapshot returns a snapshot at most maxAge old, reading a new one if the
// current one is older.
func (d *Definitions) snapshot(ctx context.Context) (*snapshot, error) {
	if s := d.cur.Load(); s != nil && d.now().Sub(s.readAt) < d.maxAge {
		return s, nil
	}
	d.refresh.Lock()
	defer d.refresh.Unlock()
	// Another request may have refreshed it while this one waited.
	if s := d.cur.Load(); s != nil && d.now().Sub(s.readAt) < d.maxAge {
		return s, nil
	}
	readAt := d.now()
	all, err := d.src.LiveExperiments(ctx)
	if err != nil {
		return nil, fmt.Errorf("definitions snapshot: %w", err)
	}
	s := &snapshot{sorted: notArchived(all), byKey: make(map[string]*experiment.Experiment, len(all)), readAt: readAt, missing: map[string]bool{}}
	for _, e := range s.sorted {
		s.byKey[e.Key] = e
	}
	d.cur.Store(s)
	return s, nil
}

// notArchived are the definitions of all that are not archived, in key order.
func notArchived(all []*experiment.Experiment) []*experiment.Experiment {
	out := make([]*experiment.Experiment, 0, len(all))
	for _, e := range all {
		if e.Status != experiment.Archived {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *experiment.Experiment) int { return strings.Compare(a.Key, b.Key) })
	return out
}
