// Package events serves POST /v1/client/events: a batch of conversion events
// of the calling user. Each event is stored append-only, once per id, and
// counted as a conversion for the user's experiments (see store.Counts).
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/store"
)

// Limits of a batch, documented in the README.
const (
	MaxBatch     = 100
	MaxFuture    = 5 * time.Minute     // client clocks may run a little ahead
	MaxAge       = 30 * 24 * time.Hour // older events cannot matter to a running experiment
	MaxIDLen     = 128
	MaxNameLen   = 100
	CodeFailed   = "EVENTS_FAILED"
	CodeInvalid  = "INVALID_EVENT"
	CodeTooOld   = "TIMESTAMP_OUT_OF_RANGE"
	StatusStored = "accepted"
	StatusDup    = "duplicate"
	StatusReject = "rejected"
)

// Store is what the route needs from the data layer.
type Store interface {
	UserAssignments(ctx context.Context, userID string) ([]*store.Assignment, error)
	RecordEvent(ctx context.Context, ev *store.Event, assignments []*store.Assignment) (bool, error)
}

// Outcome is what happened to one event of the batch.
type Outcome struct {
	Index  int           `json:"index"`
	ID     string        `json:"id,omitempty"`
	Status string        `json:"status"`
	Error  *OutcomeError `json:"error,omitempty"`
}

// OutcomeError says why one event was rejected.
type OutcomeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Response is the body of a 202.
type Response struct {
	Accepted   int       `json:"accepted"`
	Duplicates int       `json:"duplicates"`
	Rejected   int       `json:"rejected"`
	Results    []Outcome `json:"results"`
}

// NewHandler returns the route's handler; now is the clock (time.Now in
// production).
func NewHandler(logger *slog.Logger, st Store, now func() time.Time) httpapi.Handler {
	s := &service{store: st, now: now}
	return httpapi.Endpoint(logger, CodeFailed, httpapi.RoleClient, s.handle)
}

type service struct {
	store Store
	now   func() time.Time
}

type input struct {
	Name       *string         `json:"name"`
	Timestamp  *string         `json:"timestamp"`
	ID         *string         `json:"id"`
	Properties json.RawMessage `json:"properties"`
}

func (s *service) handle(ctx context.Context, req httpapi.Request, caller httpapi.Caller) (httpapi.Result, error) {
	userID := caller.UserID
	raw, err := decodeBatch(req)
	if err != nil {
		return httpapi.Result{}, err
	}
	received := s.now().UTC()
	resp := Response{Results: make([]Outcome, len(raw))}
	var valid []int
	parsed := make([]*store.Event, len(raw))
	for i, r := range raw {
		ev, oerr := parse(r, userID, received)
		if oerr != nil {
			resp.Results[i] = Outcome{Index: i, Status: StatusReject, Error: oerr}
			resp.Rejected++
			continue
		}
		parsed[i] = ev
		valid = append(valid, i)
	}
	if len(valid) > 0 {
		assignments, err := s.store.UserAssignments(ctx, userID)
		if err != nil {
			return httpapi.Result{}, httpapi.Internal(CodeFailed, err).WithDetails(map[string]any{"stored_indexes": []int{}})
		}
		for n, i := range valid {
			stored, err := s.store.RecordEvent(ctx, parsed[i], assignments)
			if err != nil {
				// Events before this one (and this one, if it got that far)
				// are stored; retrying the batch with the same ids stores
				// none of them twice and finishes their counting.
				done := append([]int{}, valid[:n]...)
				if stored {
					done = append(done, i)
				}
				return httpapi.Result{}, httpapi.Internal(CodeFailed, err).WithDetails(map[string]any{"stored_indexes": done})
			}
			status := StatusStored
			if stored {
				resp.Accepted++
			} else {
				status = StatusDup
				resp.Duplicates++
			}
			resp.Results[i] = Outcome{Index: i, ID: parsed[i].ID, Status: status}
		}
	}
	return httpapi.Result{Status: http.StatusAccepted, Body: resp}, nil
}

func decodeBatch(req httpapi.Request) ([]json.RawMessage, error) {
	body, err := httpapi.Body(req)
	if err != nil {
		return nil, err
	}
	if httpapi.IsEmptyBody(body) {
		return nil, invalidBatch("the body must be {\"events\":[...]}")
	}
	var in struct {
		Events json.RawMessage `json:"events"`
	}
	if err := httpapi.DecodeObject(body, &in, true); err != nil {
		return nil, err
	}
	var events []json.RawMessage
	if t := bytes.TrimSpace(in.Events); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &events) != nil {
		return nil, invalidBatch("events must be an array")
	}
	if len(events) == 0 || len(events) > MaxBatch {
		return nil, invalidBatch(fmt.Sprintf("events must hold 1 to %d events", MaxBatch))
	}
	return events, nil
}

func invalidBatch(msg string) error {
	return httpapi.NewError(http.StatusBadRequest, httpapi.CodeValidationFailed, msg).
		WithDetails(map[string]any{"fields": map[string]string{"events": msg}})
}

// parse validates one event; a bad event is rejected alone.
func parse(raw json.RawMessage, userID string, received time.Time) (*store.Event, *OutcomeError) {
	var in input
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, &OutcomeError{Code: CodeInvalid, Message: "an event must be a JSON object"}
	}
	if err := dec.Decode(&in); err != nil {
		return nil, &OutcomeError{Code: CodeInvalid, Message: "event fields: " + err.Error()}
	}
	if in.Name == nil || !ValidName(*in.Name) {
		return nil, &OutcomeError{Code: CodeInvalid, Message: fmt.Sprintf("name is required and must match %s", NamePattern)}
	}
	ev := &store.Event{UserID: userID, Name: *in.Name, Timestamp: received, ReceivedAt: received}
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
		if !validID(*in.ID) {
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
		if p[0] != '{' {
			return nil, &OutcomeError{Code: CodeInvalid, Message: "properties must be a JSON object"}
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, p); err != nil {
			return nil, &OutcomeError{Code: CodeInvalid, Message: "properties must be a JSON object"}
		}
		ev.Properties = compact.Bytes()
	}
	return ev, nil
}

// NamePattern documents the accepted event names. ':' is excluded because
// names become part of counter attribute names.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`

// ValidName reports whether s matches NamePattern.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

func validID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}
