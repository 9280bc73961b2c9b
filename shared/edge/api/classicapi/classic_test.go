package classicapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/classicapi"
	"github.com/abtest/abtest/shared/edge/stacktest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// createBody is the reference's Create Experiment request, as documented.
const createBody = `{
"name": "Onboarding Flow Test",
"description": "Compare short vs. detailed onboarding",
"type": "ab_test",
"audienceId": "aud_xyz",
"variants": [
{
"name": "Control",
"splitPercentage": 50,
"flowId": "flow_a",
"config": {}
},
{
"name": "Detailed",
"splitPercentage": 50,
"flowId": "flow_b",
"config": {}
}
]
}`

// subject is the admin token's subject: the audit trail names it.
const subject = "ops@example.com"

type fixture struct {
	t     *testing.T
	st    *stacktest.Stack
	token http.Header
}

// setup runs the whole stack and creates the saved group the reference's
// audienceId names, holding the users the tests enrol.
func setup(t *testing.T) fixture {
	t.Helper()
	st := stacktest.Start(t)
	f := fixture{t: t, st: st, token: st.Bearer(subject)}
	members, _ := json.Marshal(users(40))
	f.do(st.Admin(), "POST", "/v1/admin/saved-groups", `{"key":"aud_xyz","name":"Audience","values":`+string(members)+`}`, http.StatusCreated, nil)
	return f
}

func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%02d", i)
	}
	return out
}

// do sends one request as the reference's curl does (only the host and the
// token changed) and decodes the answer into dst.
func (f fixture) do(h http.Header, method, path, body string, want int, dst any) []byte {
	f.t.Helper()
	req, err := http.NewRequest(method, f.st.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header = h.Clone()
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if dst != nil {
		if err := json.Unmarshal(b, dst); err != nil {
			f.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

func (f fixture) create(body string) classicapi.Experiment {
	f.t.Helper()
	var got classicapi.Data[classicapi.Experiment]
	f.do(f.token, "POST", "/api/experiments", body, http.StatusCreated, &got)
	return got.Data
}

func (f fixture) get(id string) classicapi.Experiment {
	f.t.Helper()
	var got classicapi.Data[classicapi.Experiment]
	f.do(f.token, "GET", "/api/experiments/"+id, "", http.StatusOK, &got)
	return got.Data
}

func (f fixture) act(id, action string) classicapi.Experiment {
	f.t.Helper()
	var got classicapi.Data[classicapi.Experiment]
	f.do(f.token, "POST", "/api/experiments/"+id+"/"+action, "", http.StatusOK, &got)
	return got.Data
}

func (f fixture) list(query string) classicapi.List {
	f.t.Helper()
	var got classicapi.List
	f.do(f.token, "GET", "/api/experiments"+query, "", http.StatusOK, &got)
	return got
}

type errorBody struct {
	Error struct {
		Code    string         `json:"code"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

func (f fixture) refused(h http.Header, method, path, body string, status int, code string) errorBody {
	f.t.Helper()
	var eb errorBody
	f.do(h, method, path, body, status, &eb)
	if eb.Error.Code != code {
		f.t.Fatalf("%s %s: code %q, want %q", method, path, eb.Error.Code, code)
	}
	return eb
}

// TestCreate: the reference's request creates a draft in its shape; the
// audit trail names the token's subject; splits not summing to 100 are 400
// and write nothing.
func TestCreate(t *testing.T) {
	f := setup(t)
	x := f.create(createBody)
	if !strings.HasPrefix(x.ID, "exp_") || x.Name != "Onboarding Flow Test" || x.Description != "Compare short vs. detailed onboarding" ||
		x.Type != "ab_test" || x.Status != "draft" || x.AudienceID == nil || *x.AudienceID != "aud_xyz" ||
		x.StartDate != nil || x.EndDate != nil || x.Count.Assignments != 0 || x.CreatedAt == "" || x.UpdatedAt == "" {
		t.Fatalf("created %+v", x)
	}
	want := []classicapi.Variant{{ID: "v1", Name: "Control", SplitPercentage: 50}, {ID: "v2", Name: "Detailed", SplitPercentage: 50}}
	for i, v := range x.Variants {
		if v.ID != want[i].ID || v.Name != want[i].Name || v.SplitPercentage != 50 || v.FlowID == nil || *v.FlowID != []string{"flow_a", "flow_b"}[i] || string(v.Config) != "{}" {
			t.Fatalf("variant %d: %+v", i, v)
		}
	}
	// The service's own view: the audience is a saved group condition, the
	// variants weigh their split, and the actor is the token's subject.
	e, err := f.st.Store.GetExperiment(context.Background(), x.ID)
	if err != nil || e.Condition == nil || e.Variants[0].Weight != 50 || e.CreatedBy != subject {
		t.Fatalf("stored %+v, %v", e, err)
	}
	if src, _ := e.Condition.MarshalJSON(); string(src) != `{"id":{"$inGroup":"aud_xyz"}}` {
		t.Fatalf("condition %s", src)
	}
	page, err := f.st.Store.History(context.Background(), x.ID, 10, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].By != subject {
		t.Fatalf("history %+v, %v", page.Items, err)
	}

	before := f.list("").Meta.Total
	bad := strings.Replace(createBody, `"splitPercentage": 50,
"flowId": "flow_b"`, `"splitPercentage": 40,
"flowId": "flow_b"`, 1)
	eb := f.refused(f.token, "POST", "/api/experiments", bad, http.StatusBadRequest, "VALIDATION_FAILED")
	if fields, _ := eb.Error.Details["fields"].(map[string]any); fields["variants"] == nil {
		t.Fatalf("details %v", eb.Error.Details)
	}
	for _, b := range []string{
		strings.Replace(createBody, `"aud_xyz"`, `"aud_nope"`, 1),        // no such saved group
		strings.Replace(createBody, `"ab_test"`, `"multivariate"`, 1),    // one type served
		strings.Replace(createBody, `"name": "Control",`, ``, 1),         // a variant needs a name
		`{"name":"One","variants":[{"name":"A","splitPercentage":100}]}`, // two variants at least
	} {
		f.refused(f.token, "POST", "/api/experiments", b, http.StatusBadRequest, "VALIDATION_FAILED")
	}
	if after := f.list("").Meta.Total; after != before {
		t.Fatalf("refused creates wrote: %d experiments, were %d", after, before)
	}
}

// TestListPagingAndStatus: numbered pages with meta, and the status filter
// mapped to the lifecycle.
func TestListPagingAndStatus(t *testing.T) {
	f := setup(t)
	a, b, c := f.create(createBody), f.create(createBody), f.create(createBody)
	f.act(b.ID, "start")
	f.act(c.ID, "start")
	f.act(c.ID, "stop")
	all := f.list("")
	if all.Meta != (classicapi.Meta{Total: 3, Page: 1, Limit: 20, TotalPages: 1}) || len(all.Data) != 3 || all.Data[0].ID != c.ID {
		t.Fatalf("list %+v", all.Meta)
	}
	p2 := f.list("?page=2&limit=2")
	if p2.Meta != (classicapi.Meta{Total: 3, Page: 2, Limit: 2, TotalPages: 2}) || len(p2.Data) != 1 || p2.Data[0].ID != a.ID {
		t.Fatalf("page 2: %+v %+v", p2.Meta, p2.Data)
	}
	if p3 := f.list("?page=3&limit=2"); len(p3.Data) != 0 || p3.Meta.Total != 3 {
		t.Fatalf("page 3: %+v", p3)
	}
	for status, want := range map[string]string{"draft": a.ID, "running": b.ID, "stopped": c.ID} {
		got := f.list("?status=" + status)
		if got.Meta.Total != 1 || len(got.Data) != 1 || got.Data[0].ID != want || got.Data[0].Status != status {
			t.Fatalf("status=%s: %+v", status, got)
		}
	}
	if got := f.list("?status=completed"); got.Meta.Total != 0 || len(got.Data) != 0 || got.Meta.TotalPages != 0 {
		t.Fatalf("completed: %+v", got)
	}
	for _, q := range []string{"?page=0", "?limit=abc", "?limit=101", "?status=archived", "?status=active"} {
		f.refused(f.token, "GET", "/api/experiments"+q, "", http.StatusBadRequest, "VALIDATION_FAILED")
	}
}

// TestPatchOnlyWhileDraft: a partial update changes what it names; once
// started, PATCH is 409 and changes nothing.
func TestPatchOnlyWhileDraft(t *testing.T) {
	f := setup(t)
	x := f.create(createBody)
	var got classicapi.Data[classicapi.Experiment]
	f.do(f.token, "PATCH", "/api/experiments/"+x.ID, `{"name": "Onboarding Flow Test v2"}`, http.StatusOK, &got)
	if got.Data.Name != "Onboarding Flow Test v2" || got.Data.Description != x.Description || len(got.Data.Variants) != 2 || *got.Data.AudienceID != "aud_xyz" {
		t.Fatalf("patched %+v", got.Data)
	}
	// The variants sent again without ids keep theirs; a third is added.
	f.do(f.token, "PATCH", "/api/experiments/"+x.ID, `{"audienceId": null, "variants": [
		{"name": "Control", "splitPercentage": 34, "flowId": "flow_a", "config": {}},
		{"name": "Detailed", "splitPercentage": 33, "flowId": "flow_b", "config": {"steps": 5}},
		{"name": "Video", "splitPercentage": 33, "flowId": "flow_c"}]}`, http.StatusOK, &got)
	v := got.Data.Variants
	if len(v) != 3 || v[0].ID != "v1" || v[1].ID != "v2" || v[2].ID != "v3" || v[2].Name != "Video" || string(v[1].Config) != `{"steps":5}` ||
		string(v[2].Config) != "null" || v[0].SplitPercentage != 34 || got.Data.AudienceID != nil {
		t.Fatalf("variants %+v, audience %v", v, got.Data.AudienceID)
	}
	f.refused(f.token, "PATCH", "/api/experiments/"+x.ID, `{"variants": [{"name": "A", "splitPercentage": 50}, {"name": "B", "splitPercentage": 60}]}`,
		http.StatusBadRequest, "VALIDATION_FAILED")
	f.act(x.ID, "start")
	eb := f.refused(f.token, "PATCH", "/api/experiments/"+x.ID, `{"name": "Too late"}`, http.StatusConflict, classicapi.CodeNotDraft)
	if eb.Error.Details["status"] != "running" {
		t.Fatalf("details %v", eb.Error.Details)
	}
	if after := f.get(x.ID); after.Name != "Onboarding Flow Test v2" || after.Status != "running" {
		t.Fatalf("after the 409: %+v", after)
	}
	f.refused(f.token, "PATCH", "/api/experiments/nope", `{"name": "x"}`, http.StatusNotFound, experiment.CodeNotFound)
}

// TestStartStopDelete: start enrols the audience by split, stop keeps the
// assignments and enrols no one, start resumes; DELETE archives.
func TestStartStopDelete(t *testing.T) {
	f := setup(t)
	x := f.create(createBody)
	started := f.act(x.ID, "start")
	if started.Status != "running" || started.StartDate == nil || started.EndDate != nil {
		t.Fatalf("started %+v", started)
	}
	f.refused(f.token, "POST", "/api/experiments/"+x.ID+"/start", "", http.StatusConflict, "INVALID_TRANSITION")
	ctx := context.Background()
	f.st.Send("user-01", "GET", "/v1/client/experiments/"+x.ID+"/assignment", "")
	f.st.Send("outsider", "GET", "/v1/client/experiments/"+x.ID+"/assignment", "")
	if _, err := f.st.Store.GetAssignment(ctx, x.ID, experiment.UserUnit("user-01"), true); err != nil {
		t.Fatalf("a member of the audience was not enrolled: %v", err)
	}
	if _, err := f.st.Store.GetAssignment(ctx, x.ID, experiment.UserUnit("outsider"), true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a unit outside the audience: %v", err)
	}
	f.st.Drain()
	if got := f.get(x.ID); got.Count.Assignments != 1 {
		t.Fatalf("_count %+v", got.Count)
	}
	if stopped := f.act(x.ID, "stop"); stopped.Status != "stopped" || stopped.Count.Assignments != 1 {
		t.Fatalf("stopped %+v", stopped)
	}
	f.refused(f.st.Client("user-02"), "GET", "/v1/client/experiments/"+x.ID+"/assignment", "", http.StatusConflict, "EXPERIMENT_INACTIVE")
	if _, err := f.st.Store.GetAssignment(ctx, x.ID, experiment.UserUnit("user-02"), true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("enrolled while stopped: %v", err)
	}
	if _, err := f.st.Store.GetAssignment(ctx, x.ID, experiment.UserUnit("user-01"), true); err != nil {
		t.Fatalf("the assignment did not stay: %v", err)
	}
	f.refused(f.token, "POST", "/api/experiments/"+x.ID+"/stop", "", http.StatusConflict, "INVALID_TRANSITION")
	if resumed := f.act(x.ID, "start"); resumed.Status != "running" {
		t.Fatalf("resumed %+v", resumed)
	}
	f.do(f.token, "DELETE", "/api/experiments/"+x.ID, "", http.StatusNoContent, nil)
	f.refused(f.token, "GET", "/api/experiments/"+x.ID, "", http.StatusNotFound, experiment.CodeNotFound)
	if got := f.list(""); got.Meta.Total != 0 || len(got.Data) != 0 {
		t.Fatalf("listed after archive: %+v", got)
	}
	e, err := f.st.Store.GetExperiment(ctx, x.ID)
	if err != nil || e.Status != experiment.Archived || e.UpdatedBy != subject {
		t.Fatalf("archived %+v, %v", e, err)
	}
}

// TestResultsAndComputeResults: exposures and conversions sent through the
// client API come back per variant: participants (assigned), and on the
// primary event sampleSize (exposed), conversions and their rate.
func TestResultsAndComputeResults(t *testing.T) {
	f := setup(t)
	x := f.create(strings.Replace(createBody, `"type": "ab_test",`, `"type": "ab_test", "primaryEvent": "signup",`, 1))
	if x.PrimaryEvent == nil || *x.PrimaryEvent != "signup" {
		t.Fatalf("primary event %v", x.PrimaryEvent)
	}
	f.act(x.ID, "start")
	ctx := context.Background()
	assigned, exposed, converted := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for i, u := range users(30) {
		f.st.Send(u, "GET", "/v1/client/experiments/"+x.ID+"/assignment", "")
		a, err := f.st.Store.GetAssignment(ctx, x.ID, experiment.UserUnit(u), true)
		if err != nil {
			t.Fatal(err)
		}
		assigned[a.Variant]++
		if i%3 == 0 {
			continue // assigned, never exposed
		}
		f.st.Send(u, "POST", "/v1/client/experiments/"+x.ID+"/exposure", "")
		exposed[a.Variant]++
		if i%2 == 0 {
			f.st.Send(u, "POST", "/v1/client/events", `{"events":[{"name":"signup"}]}`)
			converted[a.Variant]++
		}
	}
	f.st.Drain()

	var raw classicapi.Data[classicapi.Results]
	f.do(f.token, "GET", "/api/experiments/"+x.ID+"/results", "", http.StatusOK, &raw)
	r := raw.Data
	if r.ExperimentID != x.ID || r.Name != x.Name || r.Status != "running" || r.StartDate == nil || len(r.Variants) != 2 {
		t.Fatalf("results %+v", r)
	}
	for _, v := range r.Variants {
		if v.Participants != assigned[v.VariantID] || v.SplitPercentage != 50 || len(v.Results) != 1 ||
			v.Results[0] != (classicapi.EventResult{Event: "signup", Exposed: exposed[v.VariantID], Conversions: converted[v.VariantID]}) {
			t.Fatalf("variant %+v, want %d assigned, %d exposed, %d converted", v, assigned[v.VariantID], exposed[v.VariantID], converted[v.VariantID])
		}
	}

	var computed classicapi.Data[classicapi.Computed]
	f.do(f.token, "POST", "/api/experiments/"+x.ID+"/compute-results", "", http.StatusOK, &computed)
	c := computed.Data
	if c.ExperimentID != x.ID || c.PrimaryEvent != "signup" || len(c.Variants) != 2 {
		t.Fatalf("computed %+v", c)
	}
	for i, v := range c.Variants {
		id := []string{"v1", "v2"}[i]
		rate := float64(converted[id]) / float64(exposed[id])
		if v.VariantID != id || v.VariantName != []string{"Control", "Detailed"}[i] || v.SampleSize != exposed[id] ||
			v.Conversions != converted[id] || v.ConversionRate != rate {
			t.Fatalf("computed %+v, want sample %d, conversions %d, rate %v", v, exposed[id], converted[id], rate)
		}
	}
	if exposed["v1"]+exposed["v2"] != 20 || converted["v1"]+converted["v2"] != 10 {
		t.Fatalf("the fixture itself: exposed %v converted %v", exposed, converted)
	}

	// Without a primary event there is nothing to compute on.
	plain := f.create(createBody)
	f.refused(f.token, "POST", "/api/experiments/"+plain.ID+"/compute-results", "", http.StatusConflict, "PRIMARY_EVENT_REQUIRED")
}

// TestAuthentication: no token or a bad one is 401, a valid token without
// the admin role 403, an admin key is no token; an admin token also opens
// the admin routes in place of a key, named in their audit trail.
func TestAuthentication(t *testing.T) {
	f := setup(t)
	user := http.Header{"Authorization": {"Bearer " + f.st.Token("alice")}}
	for _, h := range []http.Header{
		{},
		{"Authorization": {"Bearer not-a-jwt"}},
		{"Authorization": {"Basic b3BzOnNlY3JldA=="}},
		f.st.Admin(), // X-Api-Key: the classic API takes tokens only
	} {
		var body map[string]any
		f.do(h, "GET", "/api/experiments", "", http.StatusUnauthorized, &body)
	}
	f.refused(user, "GET", "/api/experiments", "", http.StatusForbidden, "FORBIDDEN")
	f.refused(user, "POST", "/api/experiments", createBody, http.StatusForbidden, "FORBIDDEN")

	// The admin API with the token and no key.
	var created map[string]any
	f.do(f.token, "POST", "/v1/admin/experiments", `{"key":"by-token","name":"By token","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`, http.StatusCreated, &created)
	if created["created_by"] != subject {
		t.Fatalf("created_by %v", created["created_by"])
	}
	f.refused(user, "GET", "/v1/admin/experiments", "", http.StatusForbidden, "FORBIDDEN")
	f.refused(http.Header{}, "GET", "/v1/admin/experiments", "", http.StatusUnauthorized, "UNAUTHENTICATED")
	// Keys work exactly as before.
	f.do(f.st.Admin(), "GET", "/v1/admin/experiments/by-token", "", http.StatusOK, nil)
}
