package exposureapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/exposure"
)

// Note: this package's TestMain (exposure_test.go) starts DynamoDB Local;
// these targets do not use it.

var fzNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func fzExp(key string, status experiment.Status, variants ...string) *experiment.Experiment {
	e := &experiment.Experiment{Key: key, Name: key, Status: status, Coverage: 1, Version: 1, CreatedAt: fzNow, UpdatedAt: fzNow}
	for _, v := range variants {
		e.Variants = append(e.Variants, experiment.Variant{Key: v, Weight: 1})
	}
	return e
}

// fzDefs serves definitions: memory lags behind the table for "exp", which
// gained the variant "late".
type fzDefs struct{}

func (fzDefs) memory(key string) (*experiment.Experiment, error) {
	switch key {
	case "exp":
		return fzExp(key, experiment.Active, "control", "treatment"), nil
	case "paused":
		return fzExp(key, experiment.Paused, "control", "b"), nil
	}
	return nil, experiment.ErrNotFound()
}

func (d fzDefs) Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error) {
	e, err := d.memory(key)
	if err == nil && want != nil && !want(e) {
		return d.Fresh(ctx, key)
	}
	return e, err
}

func (d fzDefs) Fresh(_ context.Context, key string) (*experiment.Experiment, error) {
	e, err := d.memory(key)
	if err == nil && key == "exp" {
		e.Variants = append(e.Variants, experiment.Variant{Key: "late", Weight: 1})
	}
	return e, err
}

// fzStore: users whose id starts with "new" have no assignment.
type fzStore struct{ t testing.TB }

func (s fzStore) GetAssignment(_ context.Context, key string, unit experiment.UnitRef, consistent bool) (*experiment.Assignment, error) {
	userID := unit.ID
	if !consistent || !httpapi.ValidUserID(userID) || !experiment.ValidKey(key) {
		s.t.Errorf("GetAssignment(%q, %q, %v)", key, userID, consistent)
	}
	if strings.HasPrefix(userID, "new") {
		return nil, fmt.Errorf("get assignment %q/%q: %w", key, userID, store.ErrNotFound)
	}
	return &experiment.Assignment{Experiment: key, Unit: experiment.UserUnit(userID), Variant: "control", AssignedAt: fzNow.Add(-time.Hour)}, nil
}

func (s fzStore) CreateAssignment(_ context.Context, key string, unit experiment.UnitRef, _ string) (*experiment.Assignment, bool, error) {
	s.t.Errorf("an exposure created an assignment for %s in %q", unit, key)
	return nil, false, errors.New("not on the exposure path")
}

func (s fzStore) RecordExposureFor(ctx context.Context, a *experiment.Assignment, shown, id string, _ store.FirstExposure) (*experiment.Exposure, bool, error) {
	if id != "" && !experiment.ValidID(id) {
		s.t.Errorf("RecordExposure with id %q", id)
	}
	fresh, err := fzDefs{}.Fresh(ctx, a.Experiment)
	if err != nil {
		s.t.Errorf("RecordExposure for unknown experiment %q", a.Experiment)
	} else if _, ok := fresh.Variant(shown); !ok {
		s.t.Errorf("RecordExposure of %q, not a variant of %q", shown, a.Experiment)
	}
	return &experiment.Exposure{ID: "x-1", Experiment: a.Experiment, Unit: a.Unit, Variant: shown, AssignedVariant: a.Variant, ExposedAt: fzNow}, true, nil
}

var fzBodySeeds = []string{
	``, ` `, "\n", `null`, ` null `, `{}`, `{"variant":"treatment"}`, `{"variant":"control"}`, `{"variant":"late"}`,
	`{"variant":"nope"}`, `{"variant":""}`, `{"variant":null}`, `{"variant":1}`, `{"variant":["control"]}`, `{"variant":{"key":"control"}}`,
	`{"variant":"treatment","extra":1}`, `{"VARIANT":"treatment"}`, `{"variant":"a","variant":"treatment"}`, `{"variant":"\u0000"}`,
	"{\"variant\":\"\xff\"}", `{"variant":"` + strings.Repeat("v", httpapi.MaxBodyBytes) + `"}`, `{"variant":"ü日本😀"}`,
	`[]`, `[{"variant":"control"}]`, `"treatment"`, `1e999`, `{`, `{"variant":}`, `{"variant":"control"} x`, `{"variant":"control"}{}`,
	`{"variant":"control"}` + strings.Repeat(" ", httpapi.MaxBodyBytes),
	`{"id":"x-1"}`, `{"variant":"control","id":"x-1"}`, `{"id":""}`, `{"id":1}`, `{"id":"a\u202eb"}`, `{"id":"` + strings.Repeat("i", 129) + `"}`,
}

// FuzzShownVariant: the optional body is refused with a 4xx fault
// or yields "" (the assigned variant) or a non-empty variant name, and an
// id that is "" or non-empty.
func FuzzShownVariant(f *testing.F) {
	for _, s := range fzBodySeeds {
		f.Add(s, false)
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"variant":"treatment"}`)), true)
	f.Add("e30", true)
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		v, id, err := decode(httpapi.Request{Body: body, IsBase64Encoded: b64})
		if err != nil {
			f, ok := fault.As(err)
			if !ok || httpapi.Status(f.Kind) < 400 || httpapi.Status(f.Kind) > 499 || v != "" || id != "" {
				t.Fatalf("decode(%q) = %q, %q, %v (%T)", body, v, id, err, err)
			}
			return
		}
		if v != "" && !strings.Contains(body, `"`) && !b64 {
			t.Fatalf("shownVariant(%q) = %q", body, v)
		}
	})
}

// FuzzHandler: POST /v1/client/experiments/{key}/exposure end to end: 201
// with a variant of the experiment, or a 4xx error body; never a 500.
func FuzzHandler(f *testing.F) {
	for _, s := range fzBodySeeds {
		f.Add("exp", s, false, "user-1")
	}
	for _, k := range []string{"paused", "missing", "", "EXP", "-exp", "a/b", "\xff", strings.Repeat("e", 65)} {
		f.Add(k, `{"variant":"control"}`, false, "user-1")
	}
	f.Add("exp", `{"variant":"treatment"}`, false, "new-user")
	f.Add("exp", `{}`, false, "")
	f.Add("exp", `{}`, false, "a\x00b")
	f.Add("exp", base64.StdEncoding.EncodeToString([]byte(`{"variant":"late"}`)), true, "ü日本😀")
	f.Add("exp", "not base64", true, "user-1")
	f.Fuzz(func(t *testing.T, key, body string, b64 bool, userID string) {
		h := New(slog.New(slog.NewTextHandler(io.Discard, nil)), exposure.New(assignment.New(fzDefs{}, fzStore{t: t}), fzStore{t: t}))
		req := httpapitest.Request(key, userID, body)
		req.IsBase64Encoded = b64
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatalf("handler error %v", err)
		}
		desc := fmt.Sprintf("key=%q body=%q base64=%v user=%q", key, body, b64, userID)
		if resp.StatusCode == http.StatusInternalServerError {
			t.Fatalf("500 for %s: %s", desc, resp.Body)
		}
		if !json.Valid([]byte(resp.Body)) || resp.Headers["content-type"] != "application/json" {
			t.Fatalf("%d with a body that is not JSON for %s: %q", resp.StatusCode, desc, resp.Body)
		}
		if resp.StatusCode == http.StatusCreated {
			var out Response
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || out.Experiment != key || out.ID == "" {
				t.Fatalf("201 %s for %s", resp.Body, desc)
			}
			if e, _ := (fzDefs{}).Fresh(context.Background(), key); e == nil || func() bool { _, ok := e.Variant(out.Variant); return !ok }() {
				t.Fatalf("201 with variant %q for %s", out.Variant, desc)
			}
			return
		}
		var e httpapitest.ErrorBody
		if json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.Details == nil {
			t.Fatalf("%d without the error body for %s: %s", resp.StatusCode, desc, resp.Body)
		}
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		case http.StatusUnauthorized:
			if httpapi.ValidUserID(userID) {
				t.Fatalf("401 for a valid user: %s", desc)
			}
		default:
			t.Fatalf("status %d for %s: %s", resp.StatusCode, desc, resp.Body)
		}
	})
}
