package stacktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/apispec/apispectest"
	"github.com/abtest/abtest/shared/edge/stacktest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

type call struct {
	t  *testing.T
	st *stacktest.Stack
}

// do sends one request and checks its status; the stack's middleware has
// already checked the answer against the document.
func (c call) do(h http.Header, method, path, body string, want int) map[string]any {
	c.t.Helper()
	req, err := http.NewRequest(method, c.st.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = h
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestEveryOperationAnswersAsDocumented drives every route of the API over
// HTTP, successes and refusals, and fails if a response is not the one
// docs/openapi.yaml describes or if an operation was never reached: a new
// route needs a call here (and its description in the document).
func TestEveryOperationAnswersAsDocumented(t *testing.T) {
	st := stacktest.Start(t)
	c := call{t: t, st: st}
	admin, alice, server := st.Admin(), st.Client("alice"), st.Server()
	none := http.Header{}

	c.do(none, "GET", "/v1/health", "", 200)
	c.do(none, "GET", "/v1/admin/experiments", "", 401)
	c.do(st.Admin(), "GET", "/v1/client/experiments/x/assignment", "", 401)
	c.do(http.Header{"X-Api-Key": {st.ClientKey}}, "GET", "/v1/admin/experiments", "", 403)

	c.do(admin, "POST", "/v1/admin/layers", `{"key":"checkout","name":"Checkout"}`, 201)
	c.do(admin, "POST", "/v1/admin/layers", `{"key":"spare","name":"Spare","description":"to archive"}`, 201)
	c.do(admin, "POST", "/v1/admin/layers", `{"key":"spare","name":"Again"}`, 409)
	c.do(admin, "GET", "/v1/admin/layers?limit=1", "", 200)
	c.do(admin, "GET", "/v1/admin/layers/checkout", "", 200)
	c.do(admin, "DELETE", "/v1/admin/layers/spare", "", 204)
	c.do(admin, "GET", "/v1/admin/layers/spare", "", 404)

	c.do(admin, "POST", "/v1/admin/saved-groups", `{"key":"staff","name":"Staff","values":["alice",7]}`, 201)
	c.do(admin, "GET", "/v1/admin/saved-groups", "", 200)
	c.do(admin, "GET", "/v1/admin/saved-groups/staff", "", 200)
	c.do(admin, "PATCH", "/v1/admin/saved-groups/staff", `{"version":1,"values":["alice","bob"]}`, 200)
	c.do(admin, "PATCH", "/v1/admin/saved-groups/staff", `{"version":1,"name":"Stale"}`, 409)

	create := `{"key":"button","name":"Button","description":"green or blue","events":["purchase"],
		"variants":[{"key":"control","weight":1,"payload":{"color":"blue"}},{"key":"green","weight":1}],
		"condition":{"country":"US"},"coverage":1,"layer":{"key":"checkout","start":0,"end":1},"overrides":{"qa":"green"}}`
	c.do(admin, "POST", "/v1/admin/experiments", create, 201)
	c.do(admin, "POST", "/v1/admin/experiments", create, 409)
	c.do(admin, "POST", "/v1/admin/experiments", `{"key":"Bad Key","variants":[]}`, 400)
	c.do(admin, "POST", "/v1/admin/experiments", `[]`, 400)
	c.do(admin, "GET", "/v1/admin/experiments?status=draft&limit=5", "", 200)
	c.do(admin, "GET", "/v1/admin/experiments?limit=0", "", 400)
	c.do(admin, "GET", "/v1/admin/experiments/button", "", 200)
	c.do(admin, "GET", "/v1/admin/experiments/nope", "", 404)
	c.do(admin, "PATCH", "/v1/admin/experiments/button", `{"version":1,"name":"Checkout button","condition":null}`, 200)
	c.do(admin, "PATCH", "/v1/admin/experiments/button", `{"version":1,"name":"Stale"}`, 409)
	c.do(admin, "POST", "/v1/admin/experiments/button/start", "", 200)
	c.do(admin, "POST", "/v1/admin/experiments/button/start", "", 409)

	c.do(alice, "GET", "/v1/client/experiments/button/assignment", "", 200)
	c.do(alice, "GET", "/v1/client/experiments/button/assignment?attributes=%7B%22country%22%3A%22US%22%7D&enroll=false", "", 200)
	c.do(alice, "GET", "/v1/client/experiments/button/assignment?attributes=nope", "", 400)
	c.do(alice, "GET", "/v1/client/experiments/nope/assignment", "", 404)
	c.do(alice, "POST", "/v1/client/experiments/button/exposure", "", 201)
	c.do(alice, "POST", "/v1/client/experiments/button/exposure", `{"id":"seen-1"}`, 201)
	c.do(alice, "POST", "/v1/client/experiments/button/exposure", `{"id":"seen-1"}`, 200)
	c.do(st.Client("bob"), "POST", "/v1/client/experiments/button/exposure", "", 404)
	c.do(alice, "POST", "/v1/client/events", `{"events":[{"name":"purchase","id":"order-1","properties":{"total":12}},{"name":""}]}`, 202)
	c.do(alice, "POST", "/v1/client/events", `{"events":[]}`, 400)

	flagsAndEvaluation(c, admin, alice, server)
	amplitude(c, alice, server)
	abetterchoice(c, st)
	classic(c, st, alice)
	devices(c, admin, alice, server)
	st.Drain()

	c.do(admin, "GET", "/v1/admin/experiments/button/results?event=purchase", "", 200)
	c.do(admin, "GET", "/v1/admin/experiments/button/results", "", 400)
	metricsAndReadings(c, admin)
	c.do(admin, "POST", "/v1/admin/experiments/button/recount?dry_run=true", "", 200)
	c.do(admin, "POST", "/v1/admin/experiments/button/recount?dry_run=maybe", "", 400)
	c.do(admin, "GET", "/v1/admin/experiments/button/export", "", 200)
	c.do(admin, "GET", "/v1/admin/experiments/button/export?format=csv&limit=1", "", 200)
	c.do(admin, "GET", "/v1/admin/experiments/button/export?format=xml", "", 400)
	c.do(admin, "GET", "/v1/admin/experiments/button/history?limit=2", "", 200)

	c.do(admin, "POST", "/v1/admin/holdouts", `{"key":"global","name":"Global","percent":5,"events":["purchase"]}`, 201)
	c.do(admin, "GET", "/v1/admin/holdouts", "", 200)
	c.do(admin, "GET", "/v1/admin/holdouts/global", "", 200)
	c.do(admin, "PATCH", "/v1/admin/holdouts/global", `{"percent":10}`, 200)
	c.do(admin, "PATCH", "/v1/admin/holdouts/global", `{"percent":1}`, 409)
	c.do(admin, "GET", "/v1/admin/holdouts/global/units/alice", "", 200)
	c.do(admin, "GET", "/v1/admin/holdouts/global/results?event=purchase", "", 200)
	c.do(admin, "DELETE", "/v1/admin/holdouts/global", "", 204)
	c.do(admin, "GET", "/v1/admin/holdouts/global", "", 404)

	c.do(admin, "POST", "/v1/admin/experiments/button/pause", "", 200)
	c.do(admin, "POST", "/v1/admin/experiments/button/resume", "", 200)
	c.do(admin, "POST", "/v1/admin/experiments/button/end", "", 200)
	c.do(alice, "GET", "/v1/client/experiments/button/assignment?enroll=true", "", 200)
	c.do(admin, "DELETE", "/v1/admin/experiments/button", "", 204)
	c.do(admin, "DELETE", "/v1/admin/saved-groups/staff", "", 204)

	key := c.do(admin, "POST", "/v1/admin/api-keys", `{"name":"ci","role":"client"}`, 201)
	c.do(admin, "POST", "/v1/admin/api-keys", `{"name":"ci","role":"root"}`, 400)
	c.do(admin, "POST", "/v1/admin/api-keys", `{"name":"backend","role":"server"}`, 201)
	c.do(admin, "GET", "/v1/admin/api-keys?limit=100", "", 200)
	c.do(admin, "DELETE", "/v1/admin/api-keys/"+key["id"].(string), "", 204)
	c.do(admin, "DELETE", "/v1/admin/api-keys/nope", "", 404)

	c.do(admin, "DELETE", "/v1/admin/units/alice", "", 200)
	c.do(admin, "DELETE", "/v1/admin/units/browser-1?unit=device_id", "", 200)
	c.do(admin, "DELETE", "/v1/admin/units/alice?unit=robot", "", 400)
	c.do(admin, "GET", "/v1/admin/erasures", "", 200)

	mcpHeaders := st.Admin()
	mcpHeaders.Set("Accept", "application/json, text/event-stream")
	c.do(mcpHeaders, "POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 200)
	c.do(mcpHeaders, "POST", "/mcp", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, 202)
	c.do(http.Header{"X-Api-Key": {st.ClientKey}}, "POST", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 403)

	if missed := apispectest.Validator(t).Unchecked(); len(missed) > 0 {
		t.Errorf("no response was checked for %v: drive each route here", missed)
	}
}

// flagsAndEvaluation drives the flag routes and the evaluate routes, with
// "button" (user unit) active.
func flagsAndEvaluation(c call, admin, alice, server http.Header) {
	c.t.Helper()
	flag := `{"key":"checkout-flag","type":"boolean","default_value":false,"description":"new checkout","rules":[
		{"condition":{"country":"FR"},"value":true},
		{"experiment":"button","values":{"control":false,"green":true}},
		{"condition":null,"coverage":0.2,"value":true,"hash_attribute":"id"}]}`
	c.do(admin, "POST", "/v1/admin/flags", flag, 201)
	c.do(admin, "POST", "/v1/admin/flags", flag, 409)
	c.do(admin, "POST", "/v1/admin/flags", `{"key":"copy","type":"string","default_value":"Buy"}`, 201)
	c.do(admin, "POST", "/v1/admin/flags", `{"key":"bad","type":"colour","default_value":1}`, 400)
	c.do(admin, "POST", "/v1/admin/flags", `{"key":"bad","type":"boolean","default_value":false,"rules":[{"experiment":"nope","values":{}}]}`, 400)
	c.do(admin, "GET", "/v1/admin/flags?limit=1", "", 200)
	c.do(admin, "GET", "/v1/admin/flags?limit=0", "", 400)
	c.do(admin, "GET", "/v1/admin/flags/checkout-flag", "", 200)
	c.do(admin, "GET", "/v1/admin/flags/nope", "", 404)
	c.do(admin, "GET", "/v1/admin/flags/Bad%20Key", "", 400)
	c.do(admin, "PATCH", "/v1/admin/flags/copy", `{"version":1,"enabled":false,"default_value":"Pay"}`, 200)
	c.do(admin, "PATCH", "/v1/admin/flags/copy", `{"version":1,"description":"stale"}`, 409)
	c.do(admin, "PATCH", "/v1/admin/flags/copy", `{"version":2,"type":"number"}`, 400)
	c.do(admin, "PATCH", "/v1/admin/flags/nope", `{"version":1,"enabled":true}`, 404)
	c.do(admin, "GET", "/v1/admin/flags/copy/history?limit=5", "", 200)
	c.do(admin, "GET", "/v1/admin/flags/nope/history", "", 404)
	c.do(admin, "DELETE", "/v1/admin/flags/copy", "", 204)
	c.do(admin, "DELETE", "/v1/admin/flags/copy", "", 404)

	ans := c.do(alice, "POST", "/v1/client/evaluate", `{"attributes":{"country":"US"},"experiments":["button","nope"],"flags":["checkout-flag"],"track":true}`, 200)
	if e, ok := ans["experiments"].(map[string]any)["button"].(map[string]any); !ok || e["in_experiment"] != true {
		c.t.Errorf("evaluate: %v", ans)
	}
	c.do(alice, "POST", "/v1/client/evaluate", "", 200)
	c.do(alice, "POST", "/v1/client/evaluate", `{"experiments":["Bad Key"]}`, 400)
	c.do(alice, "POST", "/v1/client/evaluate", `{"flags":[],"colour":"red"}`, 400)
	c.do(alice, "POST", "/v1/client/evaluate", `{"attributes":"US"}`, 400)
	c.do(alice, "GET", "/v1/client/evaluate?attributes=%7B%22country%22%3A%22FR%22%7D&experiments=button&flags=checkout-flag,nope", "", 200)
	c.do(alice, "GET", "/v1/client/evaluate?track=true", "", 400)
	c.do(server, "GET", "/v1/client/evaluate", "", 401) // no session: API Gateway's own refusal
	c.do(withSession(server, alice), "GET", "/v1/client/evaluate", "", 403)

	c.do(server, "POST", "/v1/server/evaluate", `{"user_id":"carol","attributes":{"country":"FR"},"flags":["checkout-flag"]}`, 200)
	c.do(server, "POST", "/v1/server/evaluate", `{"device_id":"browser-9","experiments":["button"],"track":false}`, 200)
	c.do(server, "POST", "/v1/server/evaluate", `{"experiments":[]}`, 400)
	c.do(server, "POST", "/v1/server/evaluate", `{"user_id":"carol","unknown":1}`, 400)
	c.do(http.Header{"X-Api-Key": alice.Values("X-Api-Key")}, "POST", "/v1/server/evaluate", `{"user_id":"carol"}`, 403)

	c.do(server, "POST", "/v1/server/exposures", `{"exposures":[{"user_id":"alice","experiment":"button","id":"email-1"},
		{"user_id":"alice","experiment":"button","id":"email-1"},{"experiment":"button"},{"user_id":"dave","experiment":"button"},
		{"user_id":"alice","experiment":"nope"},{"user_id":"alice","experiment":"button","variant":"red"},7]}`, 202)
	c.do(server, "POST", "/v1/server/exposures", `{"exposures":[]}`, 400)
	c.do(server, "POST", "/v1/server/exposures", `[]`, 400)
	c.do(admin, "POST", "/v1/server/exposures", `{"exposures":[{"user_id":"alice","experiment":"button"}]}`, 403)

	c.do(server, "POST", "/v1/server/events", `{"events":[{"user_id":"alice","name":"purchase","id":"order-2"},
		{"user_id":"alice","name":"purchase","id":"order-2"},{"device_id":"browser-1","name":"purchase"},
		{"user_id":"alice","device_id":"browser-1","name":"purchase","properties":{"total":3}},
		{"user_id":"alice","name":"purchase","timestamp":"2001-01-01T00:00:00Z"},{"name":"purchase"}]}`, 202)
	c.do(server, "POST", "/v1/server/events", `{"events":[],"extra":1}`, 400)
	c.do(http.Header{}, "POST", "/v1/server/events", `{"events":[{"user_id":"alice","name":"purchase"}]}`, 401)
}

// amplitude drives Amplitude's remote evaluation drop-in, with "button"
// active and "checkout-flag" defined.
func amplitude(c call, alice, server http.Header) {
	c.t.Helper()
	amp := http.Header{"Authorization": {"Api-Key " + server.Get("X-Api-Key")}}
	ans := c.do(amp, "GET", "/v1/vardata?user_id=erin&flag_keys=button,checkout-flag&context=%7B%22user_properties%22%3A%7B%22country%22%3A%22US%22%7D%7D", "", 200)
	if v, ok := ans["button"].(map[string]any); !ok || v["key"] == "" {
		c.t.Errorf("vardata: %v", ans)
	}
	noTrack := amp.Clone()
	noTrack.Set("X-Amp-Exp-Track", "no-track")
	c.do(noTrack, "GET", "/v1/vardata?device_id=browser-7", "", 200)
	c.do(amp, "GET", "/v1/vardata?user_id=erin&context=nope", "", 400)
	c.do(amp, "GET", "/v1/vardata?flag_keys=button", "", 400)
	c.do(http.Header{}, "GET", "/v1/vardata?user_id=erin", "", 401) // API Gateway's own refusal
	c.do(http.Header{"Authorization": {"Api-Key nope.nope"}}, "GET", "/v1/vardata?user_id=erin", "", 401)
	c.do(http.Header{"Authorization": {"Api-Key " + alice.Get("X-Api-Key")}}, "GET", "/v1/vardata?user_id=erin", "", 403)
}

// abetterchoice drives ABetterChoice's drop-in, signed with the server key,
// with "button" (in layer "checkout") active and "checkout-flag" defined.
func abetterchoice(c call, st *stacktest.Stack) {
	c.t.Helper()
	const exps = "/abc/get_experiments"
	const flags = "/abc/get_feature_flags"
	body := `{"project_id":"abtest","unit_id":"frank","profiles":{"country":{"user_attrs":["US"]}},"filter_options":{"layer_keys":["checkout","empty"]}}`
	ans := c.do(st.Signed(), "POST", exps, body, 200)
	data, _ := ans["exp_data"].(map[string]any)
	if ans["ret_code"] != float64(100) || data["checkout"] == nil || data["empty"] == nil {
		c.t.Errorf("get_experiments: %v", ans)
	}
	replayed := st.Signed()
	c.do(replayed, "POST", exps, `{"project_id":"abtest","unit_id":"frank"}`, 200)
	if ans := c.do(replayed, "POST", exps, `{"project_id":"abtest","unit_id":"frank"}`, 401); ans["ret_code"] != float64(101) {
		c.t.Errorf("a replay: %v", ans)
	}
	bad := st.Signed()
	bad.Set("X-Es", strings.Repeat("0", 32))
	c.do(bad, "POST", exps, body, 401)
	c.do(http.Header{"X-Ak": bad.Values("X-Ak")}, "POST", exps, body, 401) // API Gateway's own refusal
	if ans := c.do(st.Signed(), "POST", exps, `{"unit_id":"frank"}`, 400); ans["ret_code"] != float64(103) {
		c.t.Errorf("no project_id: %v", ans)
	}
	c.do(st.Signed(), "POST", exps, `{"project_id":"another","unit_id":"frank"}`, 403)
	c.do(st.Signed(), "POST", exps, `{"project_id":"abtest"}`, 400)
	c.do(st.Signed(), "POST", exps, `[]`, 400)

	ans = c.do(st.Signed(), "POST", flags, `{"project_id":"abtest","unit_id":"frank","feature_names":["checkout-flag","nope"],"profiles":{"country":{"user_attrs":["FR"]}}}`, 200)
	if f, ok := ans["data"].(map[string]any)["checkout-flag"].(map[string]any); !ok || f["value"] != "true" {
		c.t.Errorf("get_feature_flags: %v", ans)
	}
	c.do(st.Signed(), "POST", flags, `{"project_id":"abtest","unit_id":"frank"}`, 400)
	c.do(st.Signed(), "POST", flags, `{"project_id":"abtest","unit_id":"frank","feature_names":["checkout-flag"]}`, 200)
}

// metricsAndReadings drives the metric routes, names metrics on "button"
// (active, with purchases counted), and reads its results and plan every
// way, refusals included.
func metricsAndReadings(c call, admin http.Header) {
	c.t.Helper()
	c.do(admin, "POST", "/v1/admin/metrics", `{"key":"buyers","name":"Buyers","type":"binomial","event":"purchase"}`, 201)
	c.do(admin, "POST", "/v1/admin/metrics", `{"key":"buyers","name":"Again","type":"binomial","event":"purchase"}`, 409)
	c.do(admin, "POST", "/v1/admin/metrics", `{"key":"revenue","name":"Revenue","description":"order totals","type":"sum",
		"event":"purchase","property":"total","cap":500,"window_hours":72}`, 201)
	c.do(admin, "POST", "/v1/admin/metrics", `{"key":"refunds","name":"Refunds","type":"binomial","event":"refund","direction":"decrease"}`, 201)
	c.do(admin, "POST", "/v1/admin/metrics", `{"key":"per-order","name":"Revenue per order","type":"ratio",
		"numerator":{"type":"sum","event":"purchase","property":"total"},"denominator":{"type":"count","event":"purchase"}}`, 201)
	c.do(admin, "POST", "/v1/admin/metrics", `{"key":"bad","name":"Bad","type":"ratio","numerator":{"type":"binomial","event":"purchase"}}`, 400)
	c.do(admin, "GET", "/v1/admin/metrics?limit=2", "", 200)
	c.do(admin, "GET", "/v1/admin/metrics?limit=0", "", 400)
	c.do(admin, "GET", "/v1/admin/metrics/per-order", "", 200)
	c.do(admin, "GET", "/v1/admin/metrics/nope", "", 404)
	c.do(admin, "PATCH", "/v1/admin/metrics/refunds", `{"version":1,"description":"refunded orders"}`, 200)
	c.do(admin, "PATCH", "/v1/admin/metrics/refunds", `{"version":1,"name":"Stale"}`, 409)
	c.do(admin, "PATCH", "/v1/admin/metrics/refunds", `{"version":2,"type":"count"}`, 400)
	c.do(admin, "GET", "/v1/admin/metrics/refunds/history?limit=5", "", 200)
	c.do(admin, "GET", "/v1/admin/metrics/nope/history", "", 404)
	c.do(admin, "DELETE", "/v1/admin/metrics/per-order", "", 204)
	c.do(admin, "DELETE", "/v1/admin/metrics/per-order", "", 404)

	exp := c.do(admin, "GET", "/v1/admin/experiments/button", "", 200)
	version, _ := exp["version"].(float64)
	c.do(admin, "PATCH", "/v1/admin/experiments/button", fmt.Sprintf(`{"version":%d,"secondary_metrics":["per-order"]}`, int(version)), 400)
	named := c.do(admin, "PATCH", "/v1/admin/experiments/button", fmt.Sprintf(`{"version":%d,"primary_metric":"buyers",
		"secondary_metrics":["revenue"],"guardrail_metrics":["refunds"],"stop_on_guardrail":true,
		"sequential_tuning":20000,"bayesian_prior":{"mean":0,"stddev":0.2}}`, int(version)), 200)
	if named["primary_metric"] != "buyers" || named["stop_on_guardrail"] != true || named["sequential_tuning"] != 20000.0 {
		c.t.Errorf("naming metrics: %v", named)
	}
	c.do(admin, "POST", "/v1/admin/experiments", `{"key":"unmeasured","name":"Unmeasured","primary_metric":"nope",
		"variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`, 400)

	const results = "/v1/admin/experiments/button/results"
	read := c.do(admin, "GET", results+"?metric=buyers&method=bayesian", "", 200)
	if read["metric"] != "buyers" || read["guardrails"] == nil {
		c.t.Errorf("results on a metric: %v", read)
	}
	c.do(admin, "GET", results+"?event=purchase&method=sequential&correction=bh&alpha=0.1&mde=0.2", "", 200)
	if rev := c.do(admin, "GET", results+"?metric=revenue", "", 200); rev["metric"] != "revenue" {
		c.t.Errorf("results on a sum metric: %v", rev)
	}
	c.do(admin, "GET", results+"?metric=refund-rate", "", 400)
	c.do(admin, "GET", results+"?event=purchase&metric=buyers", "", 400)
	c.do(admin, "GET", results+"?event=purchase&method=magic", "", 400)
	c.do(admin, "GET", results+"?event=purchase&correction=bonferroni", "", 400)
	c.do(admin, "GET", results+"?event=purchase&alpha=0.7", "", 400)

	const plan = "/v1/admin/experiments/button/plan"
	c.do(admin, "GET", plan+"?event=purchase&mde=0.1&alpha=0.01", "", 200)
	c.do(admin, "GET", plan+"?metric=buyers", "", 200)
	c.do(admin, "GET", plan+"?event=purchase&mde=0", "", 400)
	c.do(admin, "GET", plan+"?event=checkout", "", 400)
	c.do(admin, "GET", "/v1/admin/experiments/nope/plan?event=purchase", "", 404)

	series := c.do(admin, "GET", results+"/timeseries?metric=buyers&method=sequential", "", 200)
	if points, _ := series["points"].([]any); len(points) == 0 {
		c.t.Errorf("timeseries without today's point: %v", series)
	}
	c.do(admin, "GET", results+"/timeseries?event=purchase&method=magic", "", 400)
	c.do(admin, "GET", "/v1/admin/experiments/nope/results/timeseries?event=purchase", "", 404)
}

// classic drives the classic Experiments API with an admin token, and an
// admin route with a token in place of the key.
func classic(c call, st *stacktest.Stack, alice http.Header) {
	c.t.Helper()
	ops := st.Bearer("ops@example.com")
	user := http.Header{"Authorization": {"Bearer " + st.Token("alice")}}
	c.do(http.Header{}, "GET", "/api/experiments", "", 401)
	c.do(user, "GET", "/api/experiments", "", 403)
	c.do(ops, "GET", "/v1/admin/experiments?limit=1", "", 200)
	body := `{"name":"Onboarding Flow Test","description":"Compare short vs. detailed onboarding","type":"ab_test","audienceId":"staff","primaryEvent":"purchase",
		"variants":[{"name":"Control","splitPercentage":50,"flowId":"flow_a","config":{}},{"name":"Detailed","splitPercentage":50,"flowId":"flow_b","config":{}}]}`
	created := c.do(ops, "POST", "/api/experiments", body, 201)
	data, _ := created["data"].(map[string]any)
	id, _ := data["id"].(string)
	c.do(ops, "POST", "/api/experiments", `{"name":"Bad split","variants":[{"name":"A","splitPercentage":50},{"name":"B","splitPercentage":40}]}`, 400)
	c.do(ops, "GET", "/api/experiments?page=1&limit=20&status=draft", "", 200)
	c.do(ops, "GET", "/api/experiments?status=archived", "", 400)
	c.do(ops, "GET", "/api/experiments/"+id, "", 200)
	c.do(ops, "GET", "/api/experiments/nope", "", 404)
	c.do(ops, "PATCH", "/api/experiments/"+id, `{"description":"Short vs. detailed"}`, 200)
	c.do(ops, "PATCH", "/api/experiments/"+id, `{"variants":[{"name":"A","splitPercentage":60}]}`, 400)
	c.do(ops, "POST", "/api/experiments/"+id+"/compute-results", "", 200)
	c.do(ops, "POST", "/api/experiments/"+id+"/stop", "", 409)
	c.do(ops, "POST", "/api/experiments/"+id+"/start", "", 200)
	c.do(ops, "PATCH", "/api/experiments/"+id, `{"name":"Too late"}`, 409)
	c.do(alice, "GET", "/v1/client/experiments/"+id+"/assignment", "", 200)
	c.do(ops, "GET", "/api/experiments/"+id+"/results", "", 200)
	c.do(ops, "POST", "/api/experiments/"+id+"/stop", "", 200)
	c.do(ops, "DELETE", "/api/experiments/"+id, "", 204)
	c.do(ops, "DELETE", "/api/experiments/"+id, "", 404)
	plain := c.do(ops, "POST", "/api/experiments", `{"name":"No event","variants":[{"name":"A","splitPercentage":50},{"name":"B","splitPercentage":50}]}`, 201)
	data, _ = plain["data"].(map[string]any)
	c.do(ops, "POST", "/api/experiments/"+data["id"].(string)+"/compute-results", "", 409)
	c.do(ops, "DELETE", "/api/experiments/"+data["id"].(string), "", 204)
}

// devices drives the X-Device-Id header: a device-unit experiment, its
// refusals without a device id, and a malformed one on every client route.
func devices(c call, admin, alice, server http.Header) {
	c.t.Helper()
	c.do(admin, "POST", "/v1/admin/experiments", `{"key":"pricing","name":"Pricing","unit":"device_id","status":"active",
		"variants":[{"key":"monthly","weight":1},{"key":"annual","weight":1}],"events":["purchase"]}`, 201)
	c.do(admin, "POST", "/v1/admin/experiments", `{"key":"later","name":"Later","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}`, 201)
	device := withDevice(alice, "browser-1")
	c.do(alice, "GET", "/v1/client/experiments/pricing/assignment", "", 400)
	c.do(device, "GET", "/v1/client/experiments/pricing/assignment", "", 200)
	c.do(alice, "POST", "/v1/client/experiments/pricing/exposure", "", 400)
	c.do(device, "POST", "/v1/client/experiments/pricing/exposure", `{"id":"seen-2"}`, 201)
	c.do(device, "POST", "/v1/client/events", `{"events":[{"name":"purchase","id":"order-3"}]}`, 202)
	ans := c.do(alice, "POST", "/v1/client/evaluate", `{"experiments":["pricing","later"],"flags":[]}`, 200)
	exps, _ := ans["experiments"].(map[string]any)
	if p, _ := exps["pricing"].(map[string]any); p["reason"] != "no_unit_id" {
		c.t.Errorf("pricing without a device: %v", ans)
	}
	if l, _ := exps["later"].(map[string]any); l["reason"] != "inactive" {
		c.t.Errorf("a draft experiment: %v", ans)
	}
	c.do(device, "GET", "/v1/client/evaluate?experiments=pricing", "", 200)
	c.do(server, "POST", "/v1/server/exposures", `{"exposures":[{"user_id":"alice","experiment":"pricing"},{"device_id":"browser-1","experiment":"pricing"}]}`, 202)

	bad := withDevice(alice, strings.Repeat("d", 257))
	c.do(bad, "GET", "/v1/client/experiments/button/assignment", "", 400)
	c.do(bad, "POST", "/v1/client/experiments/button/exposure", "", 400)
	c.do(bad, "POST", "/v1/client/events", `{"events":[{"name":"purchase"}]}`, 400)
	c.do(bad, "POST", "/v1/client/evaluate", "", 400)
	c.do(bad, "GET", "/v1/client/evaluate", "", 400)
	c.do(admin, "DELETE", "/v1/admin/experiments/pricing", "", 204)
	c.do(admin, "DELETE", "/v1/admin/experiments/later", "", 204)
}

func withDevice(h http.Header, id string) http.Header {
	out := h.Clone()
	out.Set("X-Device-Id", id)
	return out
}

func withSession(h, session http.Header) http.Header {
	out := h.Clone()
	out.Set("Authorization", session.Get("Authorization"))
	return out
}

// TestDocumentServed: the gateway serves docs/openapi.yaml without a key.
func TestDocumentServed(t *testing.T) {
	st := stacktest.Start(t)
	resp, err := http.Get(st.URL + allroutes.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "openapi: 3.1") || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("%d %s: %.40s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}
