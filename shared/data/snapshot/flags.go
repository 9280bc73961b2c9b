package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/domain/flag"
)

// FlagSource reads the flags that are not archived from the table.
type FlagSource interface {
	LiveFlags(ctx context.Context) ([]*flag.Flag, error)
}

// Flags serves every live flag from memory, as Definitions serves
// experiments: one query reads them all, the result is immutable and is
// replaced whole once older than its maximum age (one refresh at a time).
// A flag created, edited or archived is served within that age (plus the
// index's replication lag). A function that never asks for a flag never
// reads them.
type Flags struct {
	src   FlagSource
	cache cached[*liveFlags]
}

type liveFlags struct {
	byKey map[string]*flag.Flag
}

// NewFlags returns Flags over src; maxAge <= 0 keeps nothing in memory
// (every call reads the table).
func NewFlags(src FlagSource, maxAge time.Duration) *Flags {
	return &Flags{src: src, cache: cached[*liveFlags]{maxAge: maxAge, now: time.Now}}
}

// WithClock sets the clock (tests).
func (f *Flags) WithClock(now func() time.Time) *Flags {
	f.cache.now = now
	return f
}

// All returns every live flag by key, conditions compiled. The map and the
// flags are shared: callers must not modify them.
func (f *Flags) All(ctx context.Context) (map[string]*flag.Flag, error) {
	l, err := f.cache.get(ctx, f.read)
	if err != nil {
		return nil, err
	}
	return l.byKey, nil
}

// Get returns one live flag; an unknown or archived key is
// flag.ErrNotFound.
func (f *Flags) Get(ctx context.Context, key string) (*flag.Flag, error) {
	all, err := f.All(ctx)
	if err != nil {
		return nil, err
	}
	return flag.Visible(all[key])
}

func (f *Flags) read(ctx context.Context) (*liveFlags, error) {
	all, err := f.src.LiveFlags(ctx)
	if err != nil {
		return nil, fmt.Errorf("flags snapshot: %w", err)
	}
	l := &liveFlags{byKey: make(map[string]*flag.Flag, len(all))}
	for _, x := range all {
		if !x.Archived { // the index may lag an archive
			l.byKey[x.Key] = x
		}
	}
	return l, nil
}
