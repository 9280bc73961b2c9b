// Package events is the use case "record what this unit did": a batch of
// conversion events, each stored append-only and once per id, and counted as
// a conversion for the unit's experiments (see experiment.Converts) and
// holdouts (holdout.Converts).
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/usecase/batch"
)

// Limits of a batch, documented in the README.
const (
	MaxBatch  = 100
	MaxFuture = 5 * time.Minute     // client clocks may run a little ahead
	MaxAge    = 30 * 24 * time.Hour // older events cannot matter to a running experiment
	MaxIDLen  = experiment.MaxIDLen
)

// Codes and outcomes of this use case.
const (
	CodeFailed   = "EVENTS_FAILED"
	CodeInvalid  = "INVALID_EVENT"
	CodeTooOld   = "TIMESTAMP_OUT_OF_RANGE"
	StatusStored = batch.StatusStored
	StatusDup    = batch.StatusDup
	StatusReject = batch.StatusReject
)

// Store is what recording events needs from the data layer.
type Store interface {
	UnitAssignments(ctx context.Context, unit experiment.UnitRef) ([]*experiment.Assignment, error)
	RecordEvent(ctx context.Context, ev *experiment.Event, assignments []*experiment.Assignment, counted func(experiment string) bool) (bool, error)
}

// Definitions serves definitions (from memory, see shared/data/snapshot).
type Definitions interface {
	Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error)
}

// Holdouts serves the live holdouts, from memory.
type Holdouts interface {
	Live(ctx context.Context) ([]*holdout.Holdout, error)
}

// HoldoutStore reads a unit's holdout memberships and records events that
// mark them too.
type HoldoutStore interface {
	UnitMemberships(ctx context.Context, unit experiment.UnitRef, consistent bool) ([]*holdout.Membership, error)
	RecordEventFor(ctx context.Context, ev *experiment.Event, c store.Convertible) (bool, error)
}

// Metrics serves the live metrics an event name feeds, from memory (see
// shared/data/snapshot.Metrics).
type Metrics interface {
	Feeding(ctx context.Context, name string) ([]*metric.Metric, error)
}

// Recorder records an event with everything it changes on the unit's
// items: conversion marks, holdout marks and metric values.
type Recorder interface {
	RecordEventFor(ctx context.Context, ev *experiment.Event, c store.Convertible) (bool, error)
}

// Service records events.
type Service struct {
	defs     Definitions
	store    Store
	now      func() time.Time
	holdouts Holdouts
	hstore   HoldoutStore
	metrics  Metrics
	recorder Recorder
}

// New returns the use case; now is the clock (time.Now in production).
func New(defs Definitions, st Store, now func() time.Time) *Service {
	return &Service{defs: defs, store: st, now: now}
}

// WithHoldouts returns a copy of s that also marks the unit's holdout
// memberships converted on the events their live holdouts declare, in the
// same transaction as the event.
func (s *Service) WithHoldouts(h Holdouts, st HoldoutStore) *Service {
	c := *s
	c.holdouts, c.hstore = h, st
	return &c
}

// WithMetrics returns a copy of s that also adds each event to its unit's
// values of the live metrics it feeds (every live metric whose event is the
// event's name, whatever the experiments name), on every assignment of an
// experiment that is not archived, and to the unit's daily totals (the
// CUPED covariate's source), in the same transaction as the event (the
// aggregator turns the values into sums, see metric.Metric.Adds).
func (s *Service) WithMetrics(m Metrics, st Recorder) *Service {
	c := *s
	c.metrics, c.recorder = m, st
	return &c
}

// Input is one event as a caller sent it. An edge that could not decode an
// event sets Rejected to say why; the event is then rejected alone.
type Input struct {
	// Who is the event's unit, set only where each event names its own (a
	// backend's batch, RecordForUnits).
	Who        experiment.Identity
	Name       string
	Timestamp  *string // RFC 3339; nil means the server's time
	ID         *string
	Properties json.RawMessage
	Rejected   string
}

// The answer of a batch: one outcome per event (shared/usecase/batch).
type (
	Outcome      = batch.Outcome
	OutcomeError = batch.OutcomeError
	Batch        = batch.Batch
)

// Record stores the events of who: in the user's partition, and, when the
// app names a device (X-Device-Id) that has assignments, a copy in the
// device's partition too, so the events convert for device-unit experiments
// (a visitor bucketed logged out who signs up and buys) and a recount or an
// erasure of the device finds them where its assignments are. A backend may
// name only a device (server events): the events are then the device's
// alone. Each bad
// event is rejected alone and the rest stored. A dependency failure is a
// CodeFailed error whose details' stored_indexes name the events stored
// (in every partition) before it: retrying the batch with ids is safe.
func (s *Service) Record(ctx context.Context, who experiment.Identity, inputs []Input) (Batch, error) {
	if err := checkSize(len(inputs)); err != nil {
		return Batch{}, err
	}
	// The primary unit stores every event: the user, or a device named
	// alone; a device named beside a user gets a copy when it has
	// assignments.
	primary := experiment.UserUnit(who.UserID)
	if who.UserID == "" {
		primary = experiment.DeviceUnit(who.DeviceID)
	}
	if !experiment.ValidUnitID(primary.ID) {
		return Batch{}, fault.Validation(experiment.Problems{"user_id": "a user id or a device id is required"})
	}
	received := s.now().UTC()
	resp := batch.New(len(inputs))
	var valid []int
	parsed := make([]*experiment.Event, len(inputs))
	for i, in := range inputs {
		ev, oerr := parse(in, primary, received)
		if oerr != nil {
			resp.Reject(i, oerr.Code, oerr.Message)
			continue
		}
		parsed[i] = ev
		valid = append(valid, i)
	}
	if len(valid) == 0 {
		return resp, nil
	}
	failed := func(err error, stored []int) (Batch, error) {
		return Batch{}, fault.Failed(CodeFailed, err).With(map[string]any{"stored_indexes": stored})
	}
	own, err := s.ledgerOf(ctx, primary, parsed, valid)
	if err != nil {
		return failed(err, []int{})
	}
	var device *ledger
	if who.DeviceID != "" && !primary.IsDevice() {
		if device, err = s.ledgerOf(ctx, experiment.DeviceUnit(who.DeviceID), parsed, valid); err != nil {
			return failed(err, []int{})
		}
	}
	for n, i := range valid {
		stored, err := s.record(ctx, own, parsed[i])
		if err == nil && device != nil && len(device.assignments) > 0 {
			copied := *parsed[i]
			copied.Unit, copied.Evaluated = device.unit, nil
			_, err = s.record(ctx, device, &copied)
		}
		if err != nil {
			// Events before this one (and this one, if it got that far) are
			// stored; retrying the batch with the same ids stores none of
			// them twice and finishes their counting.
			done := append([]int{}, valid[:n]...)
			if stored {
				done = append(done, i)
			}
			return failed(err, done)
		}
		resp.Stored(i, parsed[i].ID, stored)
	}
	return resp, nil
}

// ledger is what one unit's events can convert: its assignments, their
// definitions, and its holdout memberships with their live holdouts.
type ledger struct {
	unit        experiment.UnitRef
	assignments []*experiment.Assignment
	declared    map[string]*experiment.Experiment
	live        map[string]*holdout.Holdout
	memberships []*holdout.Membership
}

// ledgerOf reads unit's ledger: one Query of its assignments, and its
// memberships only when a live holdout counts one of the batch's names.
func (s *Service) ledgerOf(ctx context.Context, unit experiment.UnitRef, parsed []*experiment.Event, valid []int) (*ledger, error) {
	l := &ledger{unit: unit}
	var err error
	if l.assignments, err = s.store.UnitAssignments(ctx, unit); err != nil {
		return nil, err
	}
	if l.declared, err = s.declared(ctx, l.assignments); err != nil {
		return nil, err
	}
	if l.live, l.memberships, err = s.memberships(ctx, unit, parsed, valid); err != nil {
		return nil, err
	}
	return l, nil
}

// record stores ev in its unit's partition, marking what it converts and
// adding it to the metric values it feeds.
func (s *Service) record(ctx context.Context, l *ledger, ev *experiment.Event) (bool, error) {
	name := ev.Name
	counted := func(exp string) bool { e := l.declared[exp]; return e != nil && e.CountsEvent(name) }
	var fed []*metric.Metric
	// Even a unit without assignments: its daily totals take the event
	// (the covariate of experiments it joins later).
	if s.metrics != nil {
		var err error
		if fed, err = s.metrics.Feeding(ctx, name); err != nil {
			return false, err
		}
	}
	if len(l.memberships) == 0 && len(fed) == 0 {
		return s.store.RecordEvent(ctx, ev, l.assignments, counted)
	}
	c := store.Convertible{Assignments: l.assignments, Counted: counted}
	if len(fed) > 0 {
		c.Metrics = fed
		c.Measured = func(exp string) bool { return l.declared[exp] != nil }
	}
	if len(l.memberships) > 0 {
		c.Memberships = l.memberships
		c.HoldoutCounted = func(key string) bool { h := l.live[key]; return h != nil && h.CountsEvent(name) }
	}
	if s.recorder != nil {
		return s.recorder.RecordEventFor(ctx, ev, c)
	}
	return s.hstore.RecordEventFor(ctx, ev, c)
}

// memberships returns the live holdouts by key and the unit's memberships,
// read only when a live holdout counts one of the batch's event names:
// archived holdouts count nothing more, and most batches then cost no
// extra read.
func (s *Service) memberships(ctx context.Context, unit experiment.UnitRef, parsed []*experiment.Event, valid []int) (map[string]*holdout.Holdout, []*holdout.Membership, error) {
	if s.holdouts == nil {
		return nil, nil, nil
	}
	all, err := s.holdouts.Live(ctx)
	if err != nil {
		return nil, nil, err
	}
	live := make(map[string]*holdout.Holdout, len(all))
	counts := false
	for _, h := range all {
		live[h.Key] = h
		for _, i := range valid {
			counts = counts || h.CountsEvent(parsed[i].Name)
		}
	}
	if !counts {
		return nil, nil, nil
	}
	// Consistent: a membership made by the exposure a moment ago counts.
	ms, err := s.hstore.UnitMemberships(ctx, unit, true)
	return live, ms, err
}

// declared returns the definitions of the unit's experiments, whose
// declared conversion events decide what is counted. Archived experiments
// are left out: they count nothing.
func (s *Service) declared(ctx context.Context, assignments []*experiment.Assignment) (map[string]*experiment.Experiment, error) {
	out := make(map[string]*experiment.Experiment, len(assignments))
	for _, a := range assignments {
		e, err := s.defs.Get(ctx, a.Experiment, nil)
		if fault.HasCode(err, experiment.CodeNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[a.Experiment] = e
	}
	return out, nil
}

// parse validates one event; a bad event is rejected alone.
func parse(in Input, unit experiment.UnitRef, received time.Time) (*experiment.Event, *OutcomeError) {
	if in.Rejected != "" {
		return nil, &OutcomeError{Code: CodeInvalid, Message: in.Rejected}
	}
	if !experiment.ValidEventName(in.Name) {
		return nil, &OutcomeError{Code: CodeInvalid, Message: fmt.Sprintf("name is required and must match %s", experiment.EventNamePattern)}
	}
	ev := &experiment.Event{Unit: unit, Name: in.Name, Timestamp: received, ReceivedAt: received}
	if in.Timestamp != nil {
		ts, err := time.Parse(time.RFC3339Nano, *in.Timestamp)
		if err != nil {
			return nil, &OutcomeError{Code: CodeInvalid, Message: "timestamp must be RFC 3339"}
		}
		ts = ts.UTC()
		if ts.After(received.Add(MaxFuture)) || ts.Before(received.Add(-MaxAge)) {
			return nil, &OutcomeError{Code: CodeTooOld, Message: "timestamp must be within 30 days before and 5 minutes after the server's time"}
		}
		ev.Timestamp = ts
	}
	if in.ID != nil {
		if !experiment.ValidID(*in.ID) {
			return nil, &OutcomeError{Code: CodeInvalid, Message: fmt.Sprintf("id must be 1-%d printable characters", MaxIDLen)}
		}
		ev.ID = *in.ID
	} else {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, &OutcomeError{Code: CodeInvalid, Message: "could not make an id"}
		}
		ev.ID = id.String()
	}
	if p := bytes.TrimSpace(in.Properties); len(p) > 0 && string(p) != "null" {
		var compact bytes.Buffer
		if p[0] != '{' || json.Compact(&compact, p) != nil {
			return nil, &OutcomeError{Code: CodeInvalid, Message: "properties must be a JSON object"}
		}
		ev.Properties = compact.Bytes()
	}
	return ev, nil
}

// RecordForUnits stores a backend's batch, whose events each name their
// unit (Input.Who): Record for each unit's events, in the batch's order
// of first appearance, answered as one batch. An event naming no valid
// unit is rejected alone. A dependency failure is a CodeFailed error whose
// stored_indexes name what was stored (indexes of the whole batch).
func (s *Service) RecordForUnits(ctx context.Context, inputs []Input) (Batch, error) {
	if err := checkSize(len(inputs)); err != nil {
		return Batch{}, err
	}
	out := batch.New(len(inputs))
	var order []experiment.Identity
	at := map[experiment.Identity][]int{}
	for i, in := range inputs {
		if in.Rejected != "" {
			out.Reject(i, CodeInvalid, in.Rejected)
			continue
		}
		if msg := in.Who.Problem(); msg != "" {
			out.Reject(i, CodeInvalid, msg)
			continue
		}
		if _, ok := at[in.Who]; !ok {
			order = append(order, in.Who)
		}
		at[in.Who] = append(at[in.Who], i)
	}
	var stored []int
	for _, who := range order {
		part := make([]Input, len(at[who]))
		for j, i := range at[who] {
			part[j] = inputs[i]
		}
		res, err := s.Record(ctx, who, part)
		if err != nil {
			if f, ok := fault.As(err); ok {
				if done, ok := f.Details["stored_indexes"].([]int); ok {
					for _, j := range done {
						stored = append(stored, at[who][j])
					}
				}
			}
			return Batch{}, fault.Failed(CodeFailed, err).With(map[string]any{"stored_indexes": append([]int{}, stored...)})
		}
		out.Take(res, at[who])
		for j, o := range res.Results {
			if o.Status != StatusReject {
				stored = append(stored, at[who][j])
			}
		}
	}
	return out, nil
}

// checkSize refuses an empty or too long batch.
func checkSize(n int) error {
	if n == 0 || n > MaxBatch {
		msg := fmt.Sprintf("events must hold 1 to %d events", MaxBatch)
		return fault.New(fault.Invalid, fault.CodeValidationFailed, msg).
			With(map[string]any{"fields": map[string]string{"events": msg}})
	}
	return nil
}
