package adminapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/experiments"
)

// The targeting fields are stored, shown, versioned and audited like the
// rest of a definition.
func TestTargetingRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.createLayer("checkout")
	v := e.create("targeted", `"condition":{"country":{"$in":["US","CA"]},"app.version":{"$vgte":"2.1.0"}},`+
		`"coverage":0.25,"unit":"user_id","layer":{"key":"checkout","start":0,"end":0.5},"overrides":{"qa-1":"treatment","qa-2":"control"}`)
	got := e.get("targeted")
	for _, x := range []adminapi.ExperimentView{v, got} {
		if x.Coverage != 0.25 || x.Unit != "user_id" || x.Layer == nil || x.Layer.Key != "checkout" || x.Layer.End != 0.5 ||
			x.Overrides["qa-1"] != "treatment" || len(x.Overrides) != 2 {
			t.Fatalf("targeting not kept: %+v", x)
		}
		var cond map[string]any
		if err := json.Unmarshal(x.Condition, &cond); err != nil || cond["country"] == nil || cond["app.version"] == nil {
			t.Fatalf("condition %s", x.Condition)
		}
	}
	// Defaults.
	d := e.create("plain", "")
	if string(d.Condition) != "null" || d.Coverage != 1 || d.Unit != "user_id" || d.Layer != nil || len(d.Overrides) != 0 {
		t.Fatalf("defaults %+v", d)
	}
	// Patch: clear the condition and the layer, ramp coverage (in draft).
	var up adminapi.ExperimentView
	e.expect(e.call(routes.AdminUpdate, "targeted", `{"version":1,"condition":null,"layer":null,"coverage":0.5}`, nil), http.StatusOK, &up)
	if string(up.Condition) != "null" || up.Layer != nil || up.Coverage != 0.5 || up.Unit != "user_id" || up.Version != 2 {
		t.Fatalf("patched %+v", up)
	}
	var hist adminapi.HistoryResponse
	e.expect(e.call(routes.AdminHistory, "targeted", "", nil), http.StatusOK, &hist)
	if len(hist.History) == 0 || !strings.Contains(string(hist.History[0].Details), `"coverage":0.5`) {
		t.Fatalf("audit of the targeting change: %+v", hist.History)
	}
}

// Bad targeting is refused at definition time with the path of the
// problem, and changes nothing.
func TestTargetingValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, extra string
		field       string
	}{
		{"bad regex", `"condition":{"country":{"$regex":"("}}`, "condition.country.$regex"},
		{"unknown operator", `"condition":{"$and":[{"a":1},{"b":{"$foo":1}}]}`, "condition.$and[1].b.$foo"},
		{"condition not an object", `"condition":"country = US"`, "condition"},
		{"coverage zero", `"coverage":0`, "coverage"},
		{"coverage above one", `"coverage":1.5`, "coverage"},
		{"unit", `"unit":"session"`, "unit"},
		{"layer range", `"layer":{"key":"l","start":0.6,"end":0.2}`, "layer"},
		{"layer key", `"layer":{"key":"Bad Key","start":0,"end":1}`, "layer.key"},
		{"override variant", `"overrides":{"qa":"nope"}`, "overrides[qa]"},
		{"overrides type", `"overrides":["qa"]`, "overrides"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("bad-"+strings.ReplaceAll(tc.name, " ", "-"), tc.extra), nil), http.StatusBadRequest, fault.CodeValidationFailed)
			if f := fieldsOf(t, eb); f[tc.field] == nil {
				t.Fatalf("fields %v lack %q", f, tc.field)
			}
		})
	}
	e.expect(e.call(routes.AdminList, "", "", nil), http.StatusOK, nil)
	httpapitest.ExpectError(t, e.call(routes.AdminGet, "bad-bad-regex", "", nil), http.StatusNotFound, "EXPERIMENT_NOT_FOUND")

	// More overrides than allowed.
	var b strings.Builder
	b.WriteString(`"overrides":{`)
	for i := 0; i <= 1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"qa-` + strings.Repeat("x", 3) + itoa(i) + `":"control"`)
	}
	b.WriteString("}")
	eb := httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("too-many", b.String()), nil), http.StatusBadRequest, fault.CodeValidationFailed)
	if f := fieldsOf(t, eb); f["overrides"] == nil {
		t.Fatalf("fields %v", f)
	}
}

// Once started, the unit and the layer slice are locked (409); the
// coverage, condition and overrides may still change.
func TestTargetingLockedAfterStart(t *testing.T) {
	e := newEnv(t)
	e.createLayer("l")
	e.create("live", `"status":"active","layer":{"key":"l","start":0,"end":0.5}`)
	httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "live", `{"version":1,"unit":"device_id"}`, nil), http.StatusConflict, experiments.CodeUnitLocked)
	httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "live", `{"version":1,"layer":{"key":"l","start":0,"end":0.6}}`, nil), http.StatusConflict, experiments.CodeLayerRangeLocked)
	httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "live", `{"version":1,"layer":null}`, nil), http.StatusConflict, experiments.CodeLayerRangeLocked)
	var up adminapi.ExperimentView
	e.expect(e.call(routes.AdminUpdate, "live", `{"version":1,"coverage":0.1,"condition":{"plan":"pro"},"overrides":{"qa":"treatment"}}`, nil), http.StatusOK, &up)
	if up.Coverage != 0.1 || up.Overrides["qa"] != "treatment" || up.Layer == nil || up.Version != 2 {
		t.Fatalf("patched %+v", up)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
