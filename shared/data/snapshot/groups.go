package snapshot

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/abtest/abtest/shared/domain/conditions"
)

// GroupsSource reads saved groups from the table.
type GroupsSource interface {
	// SavedGroupsRevision is a number every change of any group moves,
	// read strongly consistent from one small item.
	SavedGroupsRevision(ctx context.Context) (int64, error)
	// AllSavedGroups reads every group with one query; torn names groups a
	// write was changing while it ran (left out of groups).
	AllSavedGroups(ctx context.Context) (groups conditions.SavedGroups, torn []string, err error)
}

// Groups serves every saved group from memory, for $inGroup and
// $notInGroup. Like Definitions, it is replaced whole when older than its
// maximum age, one refresh at a time. A refresh first reads the groups'
// revision (one small read) and queries the groups only when it moved, so
// a deployment whose groups do not change pays one read per function per
// maximum age, whatever their size.
//
// The revision is read before the query and strongly consistent, so every
// change it counts is in what the query returns: what is held is never
// older than the revision it is labelled with, and a change made after the
// revision read is found by the next refresh. A group whose write was in
// flight during the query keeps its previous members, and the next refresh
// queries again.
type Groups struct {
	src    GroupsSource
	maxAge time.Duration
	now    func() time.Time

	cur     atomic.Pointer[groupsSnapshot]
	refresh sync.Mutex // one refresh at a time
}

type groupsSnapshot struct {
	groups   conditions.SavedGroups
	revision int64
	whole    bool // no group was torn: a revision check suffices
	readAt   time.Time
}

// NewGroups returns Groups over src; maxAge <= 0 keeps nothing (every All
// queries the table).
func NewGroups(src GroupsSource, maxAge time.Duration) *Groups {
	return &Groups{src: src, maxAge: maxAge, now: time.Now}
}

// WithClock sets the clock (tests).
func (g *Groups) WithClock(now func() time.Time) *Groups {
	g.now = now
	return g
}

// All returns every saved group, at most the maximum age old (plus a
// write's own duration). The map and its slices are shared by every
// caller: they must not be modified.
func (g *Groups) All(ctx context.Context) (conditions.SavedGroups, error) {
	if g.maxAge <= 0 {
		groups, _, err := g.src.AllSavedGroups(ctx)
		if err != nil {
			return nil, fmt.Errorf("saved groups: %w", err)
		}
		return groups, nil
	}
	if s := g.cur.Load(); s != nil && g.now().Sub(s.readAt) < g.maxAge {
		return s.groups, nil
	}
	g.refresh.Lock()
	defer g.refresh.Unlock()
	// Another request may have refreshed them while this one waited.
	prev := g.cur.Load()
	if prev != nil && g.now().Sub(prev.readAt) < g.maxAge {
		return prev.groups, nil
	}
	readAt := g.now()
	rev, err := g.src.SavedGroupsRevision(ctx)
	if err != nil {
		return nil, fmt.Errorf("saved groups: %w", err)
	}
	if prev != nil && prev.whole && prev.revision == rev {
		g.cur.Store(&groupsSnapshot{groups: prev.groups, revision: rev, whole: true, readAt: readAt})
		return prev.groups, nil
	}
	groups, torn, err := g.src.AllSavedGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("saved groups: %w", err)
	}
	for _, key := range torn {
		if prev != nil {
			if old, ok := prev.groups[key]; ok {
				groups[key] = old
			}
		}
	}
	g.cur.Store(&groupsSnapshot{groups: groups, revision: rev, whole: len(torn) == 0, readAt: readAt})
	return groups, nil
}
