package abcapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/allroutes/allroutestest"
	"github.com/abtest/abtest/shared/edge/api/abcapi"
	"github.com/abtest/abtest/shared/edge/auth"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

const signingSecret = "test-deployment-signing-secret"

type fixture struct {
	url   string
	table string
	db    *dynamodb.Client
	store *store.Store
	admin string // an admin key
	ak    string // the server key's id
	token string // its signing token
	calls *int   // signed requests so far
}

// setup stores a layer of two experiments (half each), an experiment
// outside any layer, a targeted one, and two flags, and serves every route
// behind the real authorizer with a signing secret, as make run does.
func setup(t *testing.T) fixture {
	t.Helper()
	db := storetest.Client()
	table := storetest.NewTable(t, db)
	st := store.New(db, table)
	now := time.Now().UTC()
	exp := func(key string, mod func(*experiment.Experiment)) *experiment.Experiment {
		e := &experiment.Experiment{Key: key, Name: key, Status: experiment.Active, Coverage: 1, Version: 1, CreatedAt: now, UpdatedAt: now,
			Variants: []experiment.Variant{{Key: "control", Weight: 1, Payload: json.RawMessage(`{"color":"grey","size":16}`)},
				{Key: "Treatment_A", Weight: 1, Payload: json.RawMessage(`{"color":"blue","size":20,"bold":true}`)}}}
		if mod != nil {
			mod(e)
		}
		return e
	}
	inLayer := func(start, end float64) func(*experiment.Experiment) {
		return func(e *experiment.Experiment) {
			e.Layer = &experiment.LayerSlice{Key: "layer_on_landing_page", Start: start, End: end}
		}
	}
	allroutestest.Seed(t, st, []*experiment.Experiment{
		exp("experiment_for_button", inLayer(0, 0.5)),
		exp("experiment_for_banner", inLayer(0.5, 1)),
		exp("experiment_for_color", nil),
		exp("adults_only", func(e *experiment.Experiment) {
			p := experiment.Problems{}
			e.Condition = experiment.CompileCondition(p, []byte(`{"age":{"$in":["18","19","20"]}}`))
			if len(p) > 0 {
				t.Fatal(p)
			}
		}),
	}, []*flag.Flag{
		allroutestest.Flag(t, "my_colour", flag.String, `"grey"`, `[{"experiment":"experiment_for_color","values":{"control":"grey","Treatment_A":"red"}}]`),
		allroutestest.Flag(t, "my_button_type", flag.Boolean, `false`, `[]`),
	})
	_, key := allroutestest.Key(t, st, apikey.RoleServer)
	admin, _ := allroutestest.Key(t, st, apikey.RoleAdmin)
	return fixture{url: allroutestest.Serve(t, st, auth.SessionConfig{SigningSecret: signingSecret}), admin: admin, table: table, db: db, store: st, ak: key.ID, token: apikey.SigningToken(signingSecret, key.ID), calls: new(int)}
}

// headers signs as ABetterChoice's curl example does:
// sig=$(echo -n "${token}${ak}${et}" | md5). The signature covers the key
// and the second only, so each request is signed a second after the last
// (a second request in the same second is a replay).
func (f fixture) headers(et time.Time) map[string]string {
	*f.calls++
	e := strconv.FormatInt(et.Unix()+int64(*f.calls), 10)
	return map[string]string{"X-Ak": f.ak, "X-Et": e, "X-Es": apikey.Signature(f.token, f.ak, e)}
}

func (f fixture) post(t *testing.T, path string, headers map[string]string, body string, want int, dst any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	allroutestest.Do(t, req, headers, want, dst)
}

// TestGetExperiments: the documented requests answer per layer, the unit's
// experiment with a stable group_id and string params, a default for a
// layer (or an experiment outside layers) it is in nothing of; exposures are
// recorded once per unit, experiment and day.
func TestGetExperiments(t *testing.T) {
	f := setup(t)
	var all abcapi.ExperimentsResponse
	f.post(t, "/abc/get_experiments", f.headers(time.Now()), `{ "project_id": "abtest", "unit_id": "user_id_1" }`, http.StatusOK, &all)
	if all.RetCode != 100 || all.Msg != "" {
		t.Fatalf("ret %d %q", all.RetCode, all.Msg)
	}
	// Keyed by layer; an experiment outside a layer by its own key; the
	// targeted one is a default without the age.
	if len(all.ExpData) != 3 {
		t.Fatalf("exp_data %+v, want the layer, experiment_for_color and adults_only", all.ExpData)
	}
	landing := all.ExpData["layer_on_landing_page"]
	if landing.ExperimentKey != "experiment_for_button" && landing.ExperimentKey != "experiment_for_banner" {
		t.Fatalf("landing %+v", landing)
	}
	for _, g := range []abcapi.Group{landing, all.ExpData["experiment_for_color"]} {
		if g.GroupID <= 0 || g.GroupID != abcapi.GroupID(g.ExperimentKey, g.GroupKey) {
			t.Fatalf("group %+v: group_id is not GroupID(experiment, variant)", g)
		}
		want := map[string]map[string]string{"control": {"color": "grey", "size": "16"}, "Treatment_A": {"color": "blue", "size": "20", "bold": "true"}}[g.GroupKey]
		if len(g.Params) != len(want) || g.Params["color"] != want["color"] || g.Params["size"] != want["size"] {
			t.Fatalf("params %v of %s, want %v", g.Params, g.GroupKey, want)
		}
	}
	if d := all.ExpData["adults_only"]; d.ExperimentKey != "default" || d.GroupID != -1 || d.GroupKey != "default" || d.Params == nil || len(d.Params) != 0 {
		t.Fatalf("not targeted: %+v", d)
	}

	// The filtered request with attributes: only the layer named; a layer
	// without experiments answers default.
	var filtered abcapi.ExperimentsResponse
	f.post(t, "/abc/get_experiments", f.headers(time.Now()), `{
		"project_id": "abtest",
		"unit_id": "user_id_1",
		"filter_options": { "layer_keys": ["layer_on_landing_page", "layer_with_no_experiment"] },
		"profiles": { "age": { "user_attrs": ["18"] }, "country": { "user_attrs": ["US"] } }
	}`, http.StatusOK, &filtered)
	if len(filtered.ExpData) != 2 || filtered.ExpData["layer_on_landing_page"].GroupID != landing.GroupID || filtered.ExpData["layer_with_no_experiment"].GroupID != -1 {
		t.Fatalf("filtered %+v", filtered.ExpData)
	}
	// A multi-value profile is a list of strings; targeted by age now.
	var adult abcapi.ExperimentsResponse
	f.post(t, "/abc/get_experiments", f.headers(time.Now()), `{"project_id":"abtest","unit_id":"user_id_1",
		"filter_options":{"experiment_keys":["adults_only"]},"profiles":{"age":{"user_attrs":["18"]},"tags":{"user_attrs":["a","b"]}}}`, http.StatusOK, &adult)
	if g := adult.ExpData["adults_only"]; g.GroupID <= 0 || len(adult.ExpData) != 1 {
		t.Fatalf("adult %+v", adult.ExpData)
	}

	// One exposure per experiment answered with a real group, whatever the
	// number of calls that day: the layer's experiment, experiment_for_color
	// and adults_only.
	for range 2 {
		f.post(t, "/abc/get_experiments", f.headers(time.Now()), `{ "project_id": "abtest", "unit_id": "user_id_1" }`, http.StatusOK, nil)
	}
	out, err := f.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(f.table),
		FilterExpression:          aws.String("begins_with(sk, :x)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":x": &types.AttributeValueMemberS{Value: "EXPO#"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 3 {
		t.Fatalf("%d exposure items, want 3", len(out.Items))
	}
	a, err := f.store.GetAssignment(context.Background(), landing.ExperimentKey, experiment.UserUnit("user_id_1"), true)
	if err != nil || !a.Exposed() || a.Variant != landing.GroupKey {
		t.Fatalf("assignment %+v %v", a, err)
	}
}

// TestGetFeatureFlags: a flag bound to an experiment names it (group and
// params of the unit's variant); a standalone flag has relative_experiment
// null; unknown names are left out.
func TestGetFeatureFlags(t *testing.T) {
	f := setup(t)
	var got abcapi.FlagsResponse
	f.post(t, "/abc/get_feature_flags", f.headers(time.Now()), `{
		"project_id":   "abtest",
		"unit_id":      "user_id_1",
		"feature_names": ["my_colour", "my_button_type", "nope"],
		"profiles":      { "age": { "user_attrs": ["18"] } }
	}`, http.StatusOK, &got)
	if got.RetCode != 100 || len(got.Data) != 2 {
		t.Fatalf("%+v", got)
	}
	c := got.Data["my_colour"]
	r := c.RelativeExperiment
	if r == nil || r.ExpKey != "experiment_for_color" || r.GroupID != abcapi.GroupID(r.ExpKey, r.GroupKey) ||
		c.Value != map[string]string{"control": "grey", "Treatment_A": "red"}[r.GroupKey] || r.Params["color"] == "" || c.Name != "my_colour" {
		t.Fatalf("my_colour %+v %+v", c, r)
	}
	if b := got.Data["my_button_type"]; b.Value != "false" || b.RelativeExperiment != nil {
		t.Fatalf("my_button_type %+v", b)
	}
	// The flag's experiment rule enrolled the unit; no exposure is recorded.
	a, err := f.store.GetAssignment(context.Background(), "experiment_for_color", experiment.UserUnit("user_id_1"), true)
	if err != nil || a.Variant != r.GroupKey || a.Exposed() {
		t.Fatalf("assignment %+v %v", a, err)
	}
}

// TestSignatureAndCodes: a replay, a bad signature, a stale time, another
// deployment's project and a missing project id are refused with
// ABetterChoice's ret_code; nothing is evaluated for them.
func TestSignatureAndCodes(t *testing.T) {
	f := setup(t)
	body := `{ "project_id": "abtest", "unit_id": "user_id_1" }`
	h := f.headers(time.Now())
	f.post(t, "/abc/get_experiments", h, body, http.StatusOK, nil)
	var fail abcapi.Failure
	f.post(t, "/abc/get_experiments", h, body, http.StatusUnauthorized, &fail)
	if fail.RetCode != 101 {
		t.Fatalf("replay: %+v", fail)
	}
	bad := f.headers(time.Now().Add(time.Second))
	bad["X-Es"] = apikey.Signature("not-the-token", f.ak, bad["X-Et"])
	f.post(t, "/abc/get_experiments", bad, body, http.StatusUnauthorized, &fail)
	if fail.RetCode != 101 {
		t.Fatalf("bad signature: %+v", fail)
	}
	f.post(t, "/abc/get_experiments", f.headers(time.Now().Add(-6*time.Minute)), body, http.StatusUnauthorized, &fail)
	if fail.RetCode != 101 {
		t.Fatalf("stale: %+v", fail)
	}
	f.post(t, "/abc/get_experiments", f.headers(time.Now().Add(2*time.Second)), `{"project_id":"6666","unit_id":"user_id_1"}`, http.StatusForbidden, &fail)
	if fail.RetCode != 101 {
		t.Fatalf("wrong project: %+v", fail)
	}
	f.post(t, "/abc/get_feature_flags", f.headers(time.Now().Add(3*time.Second)), `{"unit_id":"user_id_1","feature_names":["my_colour"]}`, http.StatusBadRequest, &fail)
	if fail.RetCode != 103 {
		t.Fatalf("no project: %+v", fail)
	}
	// Without the signed headers API Gateway refuses before the authorizer.
	f.post(t, "/abc/get_experiments", map[string]string{"X-Ak": f.ak}, body, http.StatusUnauthorized, nil)
	// Only user_id_1's first call enrolled anything.
	if _, err := f.store.GetAssignment(context.Background(), "experiment_for_color", experiment.UserUnit("user_id_1"), true); err != nil {
		t.Fatalf("first call: %v", err)
	}
}

// TestIssuedToken: a server key issued through the admin API comes with
// its signing token, once; the token signs requests; a client key has none.
func TestIssuedToken(t *testing.T) {
	f := setup(t)
	var created struct {
		ID           string  `json:"id"`
		SigningToken *string `json:"signing_token"`
	}
	f.post(t, "/v1/admin/api-keys", map[string]string{"X-Api-Key": f.admin}, `{"name":"abc backend","role":"server"}`, http.StatusCreated, &created)
	if created.SigningToken == nil || *created.SigningToken != apikey.SigningToken(signingSecret, created.ID) {
		t.Fatalf("created %+v", created)
	}
	signed := fixture{url: f.url, ak: created.ID, token: *created.SigningToken, calls: new(int)}
	var got abcapi.ExperimentsResponse
	f.post(t, "/abc/get_experiments", signed.headers(time.Now()), `{"project_id":"abtest","unit_id":"u2"}`, http.StatusOK, &got)
	if got.RetCode != 100 {
		t.Fatalf("%+v", got)
	}
	var client struct {
		SigningToken *string `json:"signing_token"`
	}
	f.post(t, "/v1/admin/api-keys", map[string]string{"X-Api-Key": f.admin}, `{"name":"app","role":"client"}`, http.StatusCreated, &client)
	if client.SigningToken != nil {
		t.Fatalf("client key with a signing token %q", *client.SigningToken)
	}
}
