// Package erasure is the use case "forget this unit" (the right to be
// forgotten): delete every item of one unit (assignments, exposures,
// events), let the counters follow exactly, and keep an audit entry that
// says who erased how many items when, but not whose.
package erasure

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of this use case.
const (
	CodeInvalidUnitID = "INVALID_UNIT_ID"
	// CodeUnitBusy: the unit kept writing through every round; what was
	// found is gone, and erasing again finishes.
	CodeUnitBusy = "UNIT_BUSY"
	CodeFailed   = "ERASURE_FAILED"
)

// Store is what an erasure needs from the data layer.
type Store interface {
	EraseUnit(ctx context.Context, unit experiment.UnitRef) (store.Erased, error)
	RecordErasure(ctx context.Context, a *store.ErasureAudit) error
	ListErasures(ctx context.Context, limit int, cursor string) (store.Page[store.ErasureAudit], error)
}

// Report is the answer to an erasure.
type Report struct {
	Erased  store.Erased `json:"erased"`
	AuditID string       `json:"audit_id"`
	At      string       `json:"at"`
}

// Service erases units.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(st Store, now func() time.Time) *Service { return &Service{store: st, now: now} }

// Erase deletes every item of unit (a user or a device). by is the caller (an API key id),
// requestID the request's, both kept in the audit entry. Erasing a unit
// with no items succeeds and deletes nothing, so a retry is always safe.
//
// Whatever was deleted is audited, also when the erasure stops part way
// (a DynamoDB failure, or UNIT_BUSY): what is gone is gone, and the counters
// have followed it exactly, so a partial erasure is a smaller erasure, not a
// broken state.
func (s *Service) Erase(ctx context.Context, unit experiment.UnitRef, by, requestID string) (Report, error) {
	if !unit.Kind.Valid() {
		return Report{}, fault.Validation(experiment.Problems{"unit": "must be user_id or device_id"})
	}
	if !experiment.ValidUnitID(unit.ID) {
		return Report{}, fault.New(fault.Invalid, CodeInvalidUnitID,
			fmt.Sprintf("unit id must be 1-%d bytes of UTF-8 without control or format characters", experiment.MaxUnitIDLen))
	}
	erased, eraseErr := s.store.EraseUnit(ctx, unit)
	audit := &store.ErasureAudit{By: by, At: s.now().UTC(), RequestID: requestID, Erased: erased, Complete: eraseErr == nil}
	if eraseErr == nil || erased.Total() > 0 {
		if err := s.store.RecordErasure(ctx, audit); err != nil {
			return Report{}, fault.Failed(CodeFailed, errors.Join(eraseErr, err))
		}
	}
	if errors.Is(eraseErr, store.ErrUnitBusy) {
		return Report{}, fault.New(fault.Conflict, CodeUnitBusy,
			"the unit kept writing new items during the erasure; what was found is erased, erase again to finish").
			With(map[string]any{"erased": erased, "audit_id": audit.ID})
	}
	if eraseErr != nil {
		return Report{}, fault.Failed(CodeFailed, eraseErr)
	}
	return Report{Erased: erased, AuditID: audit.ID, At: audit.At.Format(time.RFC3339Nano)}, nil
}

// Entry is one erasure of the audit trail, as it is shown.
type Entry struct {
	store.ErasureAudit
	At string `json:"at"`
}

// List returns one page of the erasure audit trail, newest first.
func (s *Service) List(ctx context.Context, limit int, cursor string) ([]Entry, string, error) {
	page, err := s.store.ListErasures(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", fault.InvalidCursor()
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]Entry, 0, len(page.Items))
	for _, a := range page.Items {
		out = append(out, Entry{ErasureAudit: a, At: a.At.UTC().Format(time.RFC3339Nano)})
	}
	return out, page.Next, nil
}
