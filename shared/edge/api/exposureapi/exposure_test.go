package exposureapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/exposureapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/exposure"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newExp(key string, status experiment.Status) *experiment.Experiment {
	now := time.Now().UTC()
	return &experiment.Experiment{Key: key, Name: key, Status: status, Coverage: 1, Version: 1, CreatedAt: now, UpdatedAt: now,
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}}}
}

// failing makes every write fail, as a DynamoDB outage would.
type failing struct{ store.DynamoDB }

var errOutage = errors.New("dial tcp 10.0.0.1:443: connection refused (internal detail)")

func (failing) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errOutage
}

func (failing) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return nil, errOutage
}

func TestExposure(t *testing.T) {
	ctx := context.Background()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	st := store.New(db, table)
	for _, e := range []*experiment.Experiment{newExp("exp", experiment.Active), newExp("other", experiment.Active)} {
		if err := st.CreateExperiment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	a, _, err := st.CreateAssignment(ctx, "exp", experiment.UserUnit("alice"), "treatment")
	if err != nil {
		t.Fatal(err)
	}
	h := exposureapi.New(quiet, exposure.New(assignment.New(snapshot.New(st, time.Minute), st), st))
	call := func(key, user, body string) httpapi.Response {
		t.Helper()
		resp, err := h(ctx, httpapitest.Request(key, user, body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	ids := map[string]bool{}
	for _, tc := range []struct{ body, want string }{
		{"", "treatment"},
		{"null", "treatment"},
		{"  ", "treatment"},
		{`{}`, "treatment"},
		{`{"variant":"control"}`, "control"},
		{`{"variant":"treatment","extra":1}`, "treatment"},
	} {
		resp := call("exp", "alice", tc.body)
		var got exposureapi.Response
		httpapitest.Decode(t, resp, &got)
		if resp.StatusCode != http.StatusCreated || got.Variant != tc.want || got.Experiment != "exp" || got.ID == "" {
			t.Fatalf("body %q: %d %s, want 201 variant %s", tc.body, resp.StatusCode, resp.Body, tc.want)
		}
		if _, err := time.Parse(time.RFC3339, got.ExposedAt); err != nil {
			t.Fatalf("exposed_at %q", got.ExposedAt)
		}
		ids[got.ID] = true
	}
	if len(ids) != 6 {
		t.Fatalf("%d distinct exposure ids, want 6 (append-only)", len(ids))
	}

	for _, tc := range []struct {
		key, user, body string
		status          int
		code            string
	}{
		{"exp", "alice", `not json`, 400, fault.CodeInvalidJSON},
		{"exp", "alice", `[1,2]`, 400, fault.CodeInvalidJSON},
		{"exp", "alice", `{"variant":`, 400, fault.CodeInvalidJSON},
		{"exp", "alice", `{"variant":5}`, 400, exposure.CodeInvalidVariant},
		{"exp", "alice", `{"variant":""}`, 400, exposure.CodeInvalidVariant},
		{"exp", "alice", `{"variant":null}`, 400, exposure.CodeInvalidVariant},
		{"exp", "alice", `{"variant":"nope"}`, 400, exposure.CodeInvalidVariant},
		{"exp", "alice", `{"variant":"` + strings.Repeat("x", 70<<10) + `"}`, 413, fault.CodePayloadTooLarge},
		{"missing", "alice", "", 404, experiment.CodeNotFound},
		{"other", "alice", "", 404, exposure.CodeAssignmentRequired},
		{"exp", "bob", "", 404, exposure.CodeAssignmentRequired},
		{"EXP", "alice", "", 400, fault.CodeInvalidKey},
		{"exp", "", "", 401, fault.CodeUnauthenticated},
	} {
		httpapitest.ExpectError(t, call(tc.key, tc.user, tc.body), tc.status, tc.code)
	}

	// Base64 bodies (API Gateway sends binary media that way) decode first.
	req := httpapitest.Request("exp", "alice", base64.StdEncoding.EncodeToString([]byte(`{"variant":"control"}`)))
	req.IsBase64Encoded = true
	if resp, _ := h(ctx, req); resp.StatusCode != http.StatusCreated {
		t.Fatalf("base64 body: %d %s", resp.StatusCode, resp.Body)
	}

	// Counted once, by the assigned variant, whatever was shown.
	storetest.Drain(t, table)
	agg, err := st.ReadAggregates(ctx, "exp")
	if err != nil {
		t.Fatal(err)
	}
	if agg.Exposed["treatment"] != 1 || agg.Exposed["control"] != 0 {
		t.Fatalf("exposed %v, want treatment=1", agg.Exposed)
	}
	_ = a
}

// TestExposureWhilePaused: exposures are not gated on status.
func TestExposureWhilePaused(t *testing.T) {
	ctx := context.Background()
	st, _, _ := storetest.New(t)
	e := newExp("p", experiment.Active)
	if err := st.CreateExperiment(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateAssignment(ctx, "p", experiment.UserUnit("u"), "control"); err != nil {
		t.Fatal(err)
	}
	paused := *e
	paused.Status, paused.Version = experiment.Paused, 2
	if err := st.SaveExperiment(ctx, &paused, e, store.Change{Version: 2, Action: "pause", By: "t", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h := exposureapi.New(quiet, exposure.New(assignment.New(snapshot.New(st, 0), st), st))
	resp, _ := h(ctx, httpapitest.Request("p", "u", ""))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("paused: %d %s", resp.StatusCode, resp.Body)
	}
}

// TestDependencyFailure: a DynamoDB failure is a 500 with the route's code
// and no internal detail in the body.
func TestDependencyFailure(t *testing.T) {
	ctx := context.Background()
	st, db, table := storetest.New(t)
	if err := st.CreateExperiment(ctx, newExp("f", experiment.Active)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateAssignment(ctx, "f", experiment.UserUnit("u"), "control"); err != nil {
		t.Fatal(err)
	}
	broken := store.New(failing{db}, table)
	h := exposureapi.New(quiet, exposure.New(assignment.New(snapshot.New(broken, 0), broken), broken))
	resp, _ := h(ctx, httpapitest.Request("f", "u", ""))
	httpapitest.ExpectError(t, resp, http.StatusInternalServerError, exposure.CodeFailed)
	if strings.Contains(resp.Body, "10.0.0.1") || strings.Contains(resp.Body, "internal detail") {
		t.Fatalf("500 body leaks the cause: %s", resp.Body)
	}
}
