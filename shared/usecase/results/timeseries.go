package results

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// SnapshotStore keeps the daily snapshots of the counters.
type SnapshotStore interface {
	PutSnapshot(ctx context.Context, key string, snap store.Snapshot) error
	ReadSnapshots(ctx context.Context, key string) ([]store.Snapshot, error)
}

// WithSnapshots returns a copy of s that reads and takes the daily
// snapshots of the counters in st.
func (s *Service) WithSnapshots(st SnapshotStore) *Service {
	c := *s
	c.snapshots = st
	return &c
}

// Series is an experiment's results day by day, for charts: each point is
// the report results gave from the counters as they stood that day.
type Series struct {
	Experiment string  `json:"experiment"`
	Event      string  `json:"event"`
	Metric     string  `json:"metric,omitempty"`
	Method     string  `json:"method"`
	Points     []Point `json:"points"`
}

// Point is one day's report (cumulative: everything up to that day).
type Point struct {
	Date string `json:"date"` // YYYY-MM-DD, UTC
	Report
}

// Timeseries reads experiment key's daily series as q asks: one point per
// UTC day with a snapshot, then today's from the live counters. Three
// reads (definition, snapshots, counters) whatever the number of units or
// days.
func (s *Service) Timeseries(ctx context.Context, key string, q Query) (Series, error) {
	if s.snapshots == nil {
		return Series{}, errors.New("timeseries: no snapshot store wired")
	}
	a, err := s.ask(ctx, key, q)
	if err != nil {
		return Series{}, err
	}
	snaps, err := s.snapshots.ReadSnapshots(ctx, key)
	if err != nil {
		return Series{}, err
	}
	live, err := s.store.ReadAggregates(ctx, key)
	if err != nil {
		return Series{}, err
	}
	now := s.now()
	today := now.UTC().Format(store.SnapshotDayLayout)
	out := Series{Experiment: key, Event: a.event, Metric: a.metric, Method: a.r.method.String(), Points: []Point{}}
	for _, snap := range snaps {
		if snap.Day >= today {
			continue // today's figures are the live counters'
		}
		out.Points = append(out.Points, Point{Date: snap.Day, Report: a.report(snap.Aggregates, snap.TakenAt)})
	}
	out.Points = append(out.Points, Point{Date: today, Report: a.report(live, now)})
	return out, nil
}

// Lister lists the experiments the snapshot job visits.
type Lister interface {
	LiveExperiments(ctx context.Context) ([]*experiment.Experiment, error)
}

// SnapshotEndedFor is how long after an experiment ends (its last update)
// the job still snapshots it, so the day it ended gets its last point.
const SnapshotEndedFor = 48 * time.Hour

// Snapshotted says what one run of the snapshot job did.
type Snapshotted struct {
	Day         string   `json:"day"`
	Experiments []string `json:"experiments"`      // snapshotted
	Paused      []string `json:"paused,omitempty"` // by their guardrail circuit breaker
	Failed      []string `json:"failed,omitempty"`
}

// TakeSnapshots is the daily (on AWS hourly, rewriting today's) job: it
// writes today's snapshot of every running or paused experiment's counters
// (and of those ended within SnapshotEndedFor), and checks the guardrails
// of those that opted in to the circuit breaker, pausing one that breached
// (audited, as a results read would). One experiment's failure does not
// stop the others; the error then names every failed experiment.
func (s *Service) TakeSnapshots(ctx context.Context, exps Lister) (Snapshotted, error) {
	if s.snapshots == nil {
		return Snapshotted{}, errors.New("snapshots: no snapshot store wired")
	}
	now := s.now()
	done := Snapshotted{Day: now.UTC().Format(store.SnapshotDayLayout), Experiments: []string{}}
	live, err := exps.LiveExperiments(ctx)
	if err != nil {
		return done, fmt.Errorf("snapshots: %w", err)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Key < live[j].Key })
	var errs []error
	for _, exp := range live {
		if !snapshotted(exp, now) {
			continue
		}
		paused, err := s.snapshot(ctx, exp, done.Day, now)
		if err != nil {
			done.Failed = append(done.Failed, exp.Key)
			errs = append(errs, err)
			continue
		}
		done.Experiments = append(done.Experiments, exp.Key)
		if paused {
			done.Paused = append(done.Paused, exp.Key)
		}
	}
	return done, errors.Join(errs...)
}

// snapshotted reports whether the job keeps exp's series going.
func snapshotted(exp *experiment.Experiment, now time.Time) bool {
	switch exp.Status {
	case experiment.Active, experiment.Paused:
		return true
	case experiment.Ended:
		return now.Sub(exp.UpdatedAt) <= SnapshotEndedFor
	}
	return false
}

// snapshot writes one experiment's snapshot of day, then trips its breaker
// if it opted in and a guardrail is breached.
func (s *Service) snapshot(ctx context.Context, exp *experiment.Experiment, day string, now time.Time) (paused bool, err error) {
	agg, err := s.store.ReadAggregates(ctx, exp.Key)
	if err != nil {
		return false, fmt.Errorf("snapshot of %q: %w", exp.Key, err)
	}
	if err := s.snapshots.PutSnapshot(ctx, exp.Key, store.Snapshot{Day: day, TakenAt: now, Aggregates: agg}); err != nil {
		return false, err
	}
	if !exp.StopOnGuardrail || exp.Status != experiment.Active {
		return false, nil
	}
	defs, err := s.metricsOf(ctx, exp, "")
	if err != nil {
		return false, fmt.Errorf("guardrails of %q: %w", exp.Key, err)
	}
	var rep Report
	if err := s.tripBreaker(ctx, &rep, exp, agg, defs); err != nil {
		return false, err
	}
	return rep.StoppedByGuardrail, nil
}
