package eventsapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/usecase/events"
)

var fzNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fzStore is an in-memory Store that checks every event the handler wants
// stored is one parse promises: a valid name and id, a timestamp in range,
// properties absent or a compact JSON object.
type fzStore struct {
	t      testing.TB
	stored map[string]bool // user \x00 id
}

func (s *fzStore) UnitAssignments(_ context.Context, unit experiment.UnitRef) ([]*experiment.Assignment, error) {
	return []*experiment.Assignment{
		{Experiment: "exp", Unit: unit, Variant: "control", AssignedAt: fzNow.Add(-time.Hour)},
		{Experiment: "other", Unit: unit, Variant: "b", AssignedAt: fzNow.Add(-48 * time.Hour), FirstExposedAt: fzNow.Add(-47 * time.Hour), Conversions: []string{"purchase"}},
	}, nil
}

func (s *fzStore) RecordEvent(_ context.Context, ev *experiment.Event, assignments []*experiment.Assignment, _ func(string) bool) (bool, error) {
	if msg := fzInvalidEvent(ev); msg != "" {
		s.t.Errorf("RecordEvent got an invalid event (%s): %+v", msg, ev)
	}
	if len(assignments) != 2 {
		s.t.Errorf("RecordEvent got %d assignments", len(assignments))
	}
	k := ev.Unit.ID + "\x00" + ev.ID
	if s.stored[k] {
		return false, nil
	}
	s.stored[k] = true
	return true, nil
}

// Get serves the unit's experiments' definitions: both count purchases.
func (s *fzStore) Get(_ context.Context, key string, _ func(*experiment.Experiment) bool) (*experiment.Experiment, error) {
	return &experiment.Experiment{Key: key, Status: experiment.Active, Events: []string{"purchase"}}, nil
}

func fzInvalidEvent(ev *experiment.Event) string {
	switch {
	case !httpapi.ValidUserID(ev.Unit.ID):
		return "user id"
	case !experiment.ValidEventName(ev.Name):
		return "name"
	case ev.ID == "" || len(ev.ID) > events.MaxIDLen || !utf8.ValidString(ev.ID) || strings.ContainsRune(ev.ID, utf8.RuneError) || strings.ContainsFunc(ev.ID, unicode.IsControl):
		return "id"
	case ev.Timestamp.Location() != time.UTC || ev.ReceivedAt.Location() != time.UTC:
		return "time zone"
	case ev.Timestamp.After(ev.ReceivedAt.Add(events.MaxFuture)) || ev.Timestamp.Before(ev.ReceivedAt.Add(-events.MaxAge)):
		return "timestamp"
	case ev.Properties != nil && (!json.Valid(ev.Properties) || ev.Properties[0] != '{' || !fzCompact(ev.Properties)):
		return "properties"
	}
	return ""
}

func fzCompact(b []byte) bool {
	var c bytes.Buffer
	return json.Compact(&c, b) == nil && bytes.Equal(c.Bytes(), b)
}

var fzEventSeeds = []string{
	`{"name":"purchase"}`,
	`{"name":"purchase","timestamp":"2026-11-22T11:00:00Z","id":"evt-1","properties":{"amount": 12.5, "items":[1,2]}}`,
	`{"name":"a.b-c_d","timestamp":"2026-11-22T12:04:59.999999999Z","id":"ü日本😀"}`,
	`{"name":"late","timestamp":"2026-11-22T12:05:01Z"}`, `{"name":"old","timestamp":"2026-10-23T11:59:59Z"}`,
	`{"name":"tz","timestamp":"2026-11-22T13:00:00+01:00"}`, `{"name":"tz","timestamp":"2026-11-22T12:00:00-23:59"}`,
	`{"name":"bad","timestamp":"2026-11-22"}`, `{"name":"bad","timestamp":"0000-01-01T00:00:00Z"}`, `{"name":"bad","timestamp":"9999-12-31T23:59:59Z"}`,
	`{"name":"bad","timestamp":1700000000}`, `{"name":"bad","timestamp":null}`, `{"name":"x","timestamp":"2026-11-22T12:00:00.1234567890Z"}`,
	`{"name":"x","id":""}`, `{"name":"x","id":"a\u0000b"}`, `{"name":"x","id":"\ufffd"}`, "{\"name\":\"x\",\"id\":\"\xff\"}",
	`{"name":"x","id":"` + strings.Repeat("i", events.MaxIDLen) + `"}`, `{"name":"x","id":"` + strings.Repeat("i", events.MaxIDLen+1) + `"}`,
	`{"name":"x","id":1}`, `{"name":"x","id":null}`,
	`{"name":""}`, `{"name":null}`, `{"name":"_x"}`, `{"name":"a:b"}`, `{"name":"` + strings.Repeat("n", experiment.MaxEventNameLen+1) + `"}`, `{"name":1}`,
	`{"name":"x","properties":[]}`, `{"name":"x","properties":"s"}`, `{"name":"x","properties":null}`, `{"name":"x","properties":{}}`,
	"{\"name\":\"x\",\"properties\":{\"k\":\"\xff\"}}", `{"name":"x","extra":true}`, `{"NAME":"x"}`, `{"name":"x","name":"y"}`,
	`{}`, `null`, `[]`, `"purchase"`, `1`, `true`,
}

// fzBatch wraps events into a batch body.
func fzBatch(events ...string) string { return `{"events":[` + strings.Join(events, ",") + `]}` }

var fzBatchSeeds = []string{
	fzBatch(fzEventSeeds...),
	fzBatch(`{"name":"purchase","id":"same"}`, `{"name":"purchase","id":"same"}`),
	fzBatch(strings.Split(strings.Repeat(`{"name":"e"},`, events.MaxBatch), ",")[:events.MaxBatch]...),
	fzBatch(strings.Split(strings.Repeat(`{"name":"e"},`, events.MaxBatch+1), ",")[:events.MaxBatch+1]...),
	`{"events":[]}`, `{"events":null}`, `{"events":{}}`, `{"events":"x"}`, `{"events":[1,2,3]}`, `{"events":[null]}`, `{"events":[[]]}`,
	`{"events":[{"name":"x"}],"extra":1}`, `{"Events":[{"name":"x"}]}`, `{"events":[{"name":"x"}]}{}`, `{"events":[{"name":"x"}]} x`,
	`{"events":[{"name":"x"}]`, `{}`, ``, ` `, `null`, `[]`, `"x"`, `{"events":` + strings.Repeat(`[`, 10001) + `}`,
}

// FuzzParseEvent: one event of a batch (any JSON value) is rejected with
// INVALID_EVENT or TIMESTAMP_OUT_OF_RANGE, or stored as a valid event.
func FuzzParseEvent(f *testing.F) {
	for _, s := range fzEventSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // httpapi.Items hands decodeEvent only elements of a JSON array
		}
		// The store checks every event it is handed (fzInvalidEvent).
		st := &fzStore{t: t, stored: map[string]bool{}}
		out, err := events.New(st, st, func() time.Time { return fzNow }).Record(context.Background(), experiment.Identity{UserID: "user-1"}, []events.Input{decodeEvent(raw, false)})
		if err != nil || len(out.Results) != 1 {
			t.Fatalf("Record(%q) = %+v, %v", raw, out, err)
		}
		if r := out.Results[0]; r.Status == events.StatusReject {
			if r.Error == nil || (r.Error.Code != events.CodeInvalid && r.Error.Code != events.CodeTooOld) || r.Error.Message == "" || len(st.stored) != 0 {
				t.Fatalf("Record(%q) = %+v", raw, r)
			}
		} else if r.Status != events.StatusStored || len(st.stored) != 1 {
			t.Fatalf("Record(%q) = %+v, %d stored", raw, r, len(st.stored))
		}
	})
}

// FuzzDecodeBatch: a body is refused with a 4xx *httpapi.Error or yields 1
// to events.MaxBatch JSON values.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range fzBatchSeeds {
		f.Add(s, false)
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte(fzBatchSeeds[1])), true)
	f.Add("e30=", true)
	f.Add("!!", true)
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		raw, err := httpapi.Items(httpapi.Request{Body: body, IsBase64Encoded: b64}, "events")
		if err != nil {
			f, ok := fault.As(err)
			if !ok || httpapi.Status(f.Kind) < 400 || httpapi.Status(f.Kind) > 499 || raw != nil {
				t.Fatalf("Items(%q) = %v (%T)", body, err, err)
			}
		}
		// The batch's size is the use case's to judge.
	})
}

// FuzzHandler: POST /v1/client/events end to end: 202 with one outcome per
// event, or a 4xx error body; never a 500 or a panic.
func FuzzHandler(f *testing.F) {
	for _, s := range fzBatchSeeds {
		f.Add(s, false, "user-1")
	}
	for _, s := range fzEventSeeds {
		f.Add(fzBatch(s), false, "user-1")
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte(fzBatchSeeds[1])), true, "ü日本😀")
	f.Add(fzBatchSeeds[1], false, "")
	f.Add(fzBatchSeeds[1], false, "a\nb")
	f.Add(`{"events":[{"name":"x","properties":{"p":"`+strings.Repeat("p", httpapi.MaxBodyBytes)+`"}}]}`, false, "user-1")
	f.Fuzz(func(t *testing.T, body string, b64 bool, userID string) {
		st := &fzStore{t: t, stored: map[string]bool{}}
		h := New(slog.New(slog.NewTextHandler(io.Discard, nil)), events.New(st, st, func() time.Time { return fzNow }))
		req := httpapitest.Request("", userID, body)
		req.IsBase64Encoded = b64
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatalf("handler error %v", err)
		}
		desc := fmt.Sprintf("body=%q base64=%v user=%q", body, b64, userID)
		if resp.StatusCode == http.StatusInternalServerError {
			t.Fatalf("500 for %s: %s", desc, resp.Body)
		}
		if !json.Valid([]byte(resp.Body)) || resp.Headers["content-type"] != "application/json" {
			t.Fatalf("%d with a body that is not JSON for %s: %q", resp.StatusCode, desc, resp.Body)
		}
		if resp.StatusCode != http.StatusAccepted {
			e := httpapitest.ErrorBody{}
			if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.Details == nil {
				t.Fatalf("%d without the error body for %s: %s", resp.StatusCode, desc, resp.Body)
			}
			switch resp.StatusCode {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			case http.StatusUnauthorized:
				if httpapi.ValidUserID(userID) {
					t.Fatalf("401 for a valid user %q", userID)
				}
			default:
				t.Fatalf("status %d for %s: %s", resp.StatusCode, desc, resp.Body)
			}
			return
		}
		var out events.Batch
		if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
			t.Fatal(err)
		}
		if n := len(out.Results); n < 1 || n > events.MaxBatch || out.Accepted+out.Duplicates+out.Rejected != n || out.Accepted != len(st.stored) {
			t.Fatalf("counts %d/%d/%d for %d results, %d stored", out.Accepted, out.Duplicates, out.Rejected, n, len(st.stored))
		}
		for i, r := range out.Results {
			ok := r.Index == i
			switch r.Status {
			case events.StatusStored, events.StatusDup:
				ok = ok && r.ID != "" && r.Error == nil
			case events.StatusReject:
				ok = ok && r.Error != nil && (r.Error.Code == events.CodeInvalid || r.Error.Code == events.CodeTooOld)
			default:
				ok = false
			}
			if !ok {
				t.Fatalf("result %d: %+v", i, r)
			}
		}
	})
}
