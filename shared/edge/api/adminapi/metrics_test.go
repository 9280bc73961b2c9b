package adminapi_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
)

func TestMetricsCreateAndRead(t *testing.T) {
	e := newHoldoutEnv(t)
	for _, tc := range []struct {
		body string
		want adminapi.MetricView
	}{
		{`{"key":"converted","name":"Converted","type":"binomial","event":"purchase"}`,
			adminapi.MetricView{Key: "converted", Name: "Converted", Type: metric.Binomial, Event: ptrS("purchase"), Direction: metric.Increase}},
		{`{"key":"orders","name":"Orders","type":"count","event":"purchase","cap":10,"window_hours":72,"direction":"increase"}`,
			adminapi.MetricView{Key: "orders", Name: "Orders", Type: metric.Count, Event: ptrS("purchase"), Cap: ptrF(10), WindowHours: ptrI(72), Direction: metric.Increase}},
		{`{"key":"revenue","name":"Revenue","description":"cents","type":"sum","event":"purchase","property":"amount_cents","cap":100000}`,
			adminapi.MetricView{Key: "revenue", Name: "Revenue", Description: "cents", Type: metric.Sum, Event: ptrS("purchase"), Property: ptrS("amount_cents"), Cap: ptrF(100000), Direction: metric.Increase}},
		{`{"key":"aov","name":"Revenue per order","type":"ratio","numerator":{"type":"sum","event":"purchase","property":"amount_cents"},"denominator":{"type":"count","event":"purchase"}}`,
			adminapi.MetricView{Key: "aov", Name: "Revenue per order", Type: metric.Ratio, Direction: metric.Increase,
				Numerator:   &metric.Component{Type: metric.Sum, Event: "purchase", Property: "amount_cents"},
				Denominator: &metric.Component{Type: metric.Count, Event: "purchase"}}},
		{`{"key":"latency","name":"Latency","type":"sum","event":"page_load","property":"ms","direction":"decrease"}`,
			adminapi.MetricView{Key: "latency", Name: "Latency", Type: metric.Sum, Event: ptrS("page_load"), Property: ptrS("ms"), Direction: metric.Decrease}},
	} {
		var got adminapi.MetricView
		e.expect(e.call(routes.AdminCreateMetric, "", tc.body, nil), http.StatusCreated, &got)
		tc.want.Status, tc.want.Version, tc.want.CreatedBy, tc.want.UpdatedBy = metric.Live, 1, adminKeyID, adminKeyID
		tc.want.CreatedAt, tc.want.UpdatedAt = got.CreatedAt, got.UpdatedAt
		if got.CreatedAt == "" || !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("created %+v\nwant %+v", got, tc.want)
		}
		var read adminapi.MetricView
		e.expect(e.call(routes.AdminGetMetric, tc.want.Key, "", nil), http.StatusOK, &read)
		if !reflect.DeepEqual(read, got) {
			t.Fatalf("read %+v\nwant %+v", read, got)
		}
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreateMetric, "", `{"key":"orders","name":"Again","type":"count","event":"x"}`, nil), http.StatusConflict, metric.CodeExists)

	// Listing: newest first, paged.
	var page adminapi.MetricsResponse
	e.expect(e.call(routes.AdminListMetrics, "", "", map[string]string{"limit": "3"}), http.StatusOK, &page)
	if len(page.Metrics) != 3 || page.Metrics[0].Key != "latency" || page.Metrics[2].Key != "revenue" || page.NextCursor == nil {
		t.Fatalf("first page %+v", page)
	}
	e.expect(e.call(routes.AdminListMetrics, "", "", map[string]string{"limit": "3", "cursor": *page.NextCursor}), http.StatusOK, &page)
	if len(page.Metrics) != 2 || page.Metrics[1].Key != "converted" || page.NextCursor != nil {
		t.Fatalf("second page %+v", page)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminListMetrics, "", "", map[string]string{"cursor": "junk"}), http.StatusBadRequest, fault.CodeInvalidCursor)
	httpapitest.ExpectError(t, e.call(routes.AdminGetMetric, "nope", "", nil), http.StatusNotFound, metric.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminGetMetric, "Bad Key", "", nil), http.StatusBadRequest, fault.CodeInvalidKey)
}

func TestMetricsValidation(t *testing.T) {
	e := newHoldoutEnv(t)
	before := e.items()
	for _, tc := range []struct {
		name   string
		body   string
		fields []string
	}{
		{"nothing", `{}`, []string{"key", "name", "type"}},
		{"unknown type", `{"key":"m","name":"M","type":"median","event":"e"}`, []string{"type"}},
		{"binomial without event", `{"key":"m","name":"M","type":"binomial"}`, []string{"event"}},
		{"binomial with cap", `{"key":"m","name":"M","type":"binomial","event":"e","cap":3}`, []string{"cap"}},
		{"sum without property", `{"key":"m","name":"M","type":"sum","event":"e"}`, []string{"property"}},
		{"count with property", `{"key":"m","name":"M","type":"count","event":"e","property":"p"}`, []string{"property"}},
		{"bad event", `{"key":"m","name":"M","type":"count","event":"a b"}`, []string{"event"}},
		{"cap zero", `{"key":"m","name":"M","type":"count","event":"e","cap":0}`, []string{"cap"}},
		{"cap negative", `{"key":"m","name":"M","type":"count","event":"e","cap":-1}`, []string{"cap"}},
		{"cap text", `{"key":"m","name":"M","type":"count","event":"e","cap":"1"}`, []string{"cap"}},
		{"window zero", `{"key":"m","name":"M","type":"count","event":"e","window_hours":0}`, []string{"window_hours"}},
		{"window too long", `{"key":"m","name":"M","type":"count","event":"e","window_hours":9000}`, []string{"window_hours"}},
		{"window fraction", `{"key":"m","name":"M","type":"count","event":"e","window_hours":1.5}`, []string{"window_hours"}},
		{"direction", `{"key":"m","name":"M","type":"count","event":"e","direction":"up"}`, []string{"direction"}},
		{"ratio without sides", `{"key":"m","name":"M","type":"ratio"}`, []string{"numerator", "denominator"}},
		{"ratio with event", `{"key":"m","name":"M","type":"ratio","event":"e","numerator":{"type":"count","event":"a"},"denominator":{"type":"count","event":"b"}}`, []string{"event"}},
		{"ratio of binomial", `{"key":"m","name":"M","type":"ratio","numerator":{"type":"binomial","event":"a"},"denominator":{"type":"count","event":"b"}}`, []string{"numerator.type"}},
		{"ratio side not an object", `{"key":"m","name":"M","type":"ratio","numerator":3,"denominator":{"type":"sum","event":"b"}}`, []string{"numerator", "denominator.property"}},
		{"ratio side unknown field", `{"key":"m","name":"M","type":"ratio","numerator":{"type":"count","event":"a","x":1},"denominator":{"type":"count","event":"b"}}`, []string{"numerator.x"}},
		{"count with numerator", `{"key":"m","name":"M","type":"count","event":"e","numerator":{"type":"count","event":"a"}}`, []string{"numerator"}},
		{"unknown field", `{"key":"m","name":"M","type":"count","event":"e","colour":"red"}`, []string{"colour"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, e.call(routes.AdminCreateMetric, "", tc.body, nil), http.StatusBadRequest, fault.CodeValidationFailed)
			fields := fieldsOf(t, eb)
			for _, f := range tc.fields {
				if fields[f] == nil {
					t.Errorf("fields %v lack %s", fields, f)
				}
			}
		})
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreateMetric, "", `[1]`, nil), http.StatusBadRequest, fault.CodeInvalidJSON)
	if after := e.items(); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused creates wrote items: %v", after)
	}
}

func TestMetricsUpdateArchiveHistory(t *testing.T) {
	e := newHoldoutEnv(t)
	e.expect(e.call(routes.AdminCreateMetric, "", `{"key":"revenue","name":"Revenue","type":"sum","event":"purchase","property":"cents"}`, nil), http.StatusCreated, nil)
	var v adminapi.MetricView
	e.expect(e.call(routes.AdminUpdateMetric, "revenue", `{"version":1,"name":"Net revenue","direction":"decrease"}`, nil), http.StatusOK, &v)
	if v.Name != "Net revenue" || v.Direction != metric.Decrease || v.Version != 2 || *v.Property != "cents" {
		t.Fatalf("updated %+v", v)
	}
	eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdateMetric, "revenue", `{"version":1,"name":"Stale"}`, nil), http.StatusConflict, metric.CodeVersionConflict)
	if eb.Error.Details["current_version"] != float64(2) {
		t.Fatalf("details %v", eb.Error.Details)
	}
	before := e.items()
	for _, tc := range []struct {
		body  string
		field string
	}{
		{`{"version":2,"event":"refund"}`, "event"},
		{`{"version":2,"cap":5,"name":"x"}`, "cap"},
		{`{"version":2,"type":"count"}`, "type"},
		{`{"version":2}`, "name"},
		{`{"name":"x"}`, "version"},
		{`{"version":2,"direction":"sideways"}`, "direction"},
		{`{"version":2,"direction":""}`, "direction"},
		{`{"version":2,"name":""}`, "name"},
	} {
		eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdateMetric, "revenue", tc.body, nil), http.StatusBadRequest, fault.CodeValidationFailed)
		if fieldsOf(t, eb)[tc.field] == nil {
			t.Errorf("%s: fields %v lack %s", tc.body, eb.Error.Details, tc.field)
		}
	}
	if after := e.items(); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused patches wrote items")
	}
	e.expect(e.call(routes.AdminArchiveMetric, "revenue", "", nil), http.StatusNoContent, nil)
	httpapitest.ExpectError(t, e.call(routes.AdminGetMetric, "revenue", "", nil), http.StatusNotFound, metric.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminArchiveMetric, "revenue", "", nil), http.StatusNotFound, metric.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminUpdateMetric, "revenue", `{"version":3,"name":"x"}`, nil), http.StatusNotFound, metric.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminMetricHistory, "revenue", "", nil), http.StatusNotFound, metric.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminCreateMetric, "", `{"key":"revenue","name":"Again","type":"count","event":"x"}`, nil), http.StatusConflict, metric.CodeExists)
	var list adminapi.MetricsResponse
	e.expect(e.call(routes.AdminListMetrics, "", "", nil), http.StatusOK, &list)
	if len(list.Metrics) != 0 {
		t.Fatalf("archived metric listed: %+v", list)
	}

	// The audit trail, read before the archive hid it.
	e.expect(e.call(routes.AdminCreateMetric, "", `{"key":"orders","name":"Orders","type":"count","event":"purchase"}`, nil), http.StatusCreated, nil)
	e.expect(e.call(routes.AdminUpdateMetric, "orders", `{"version":1,"description":"per unit"}`, nil), http.StatusOK, nil)
	var h adminapi.HistoryResponse
	e.expect(e.call(routes.AdminMetricHistory, "orders", "", nil), http.StatusOK, &h)
	if len(h.History) != 2 || h.History[0].Action != "update" || h.History[0].Version != 2 || h.History[1].Action != "create" ||
		h.History[0].By != adminKeyID || string(h.History[0].Details) != `{"description":"per unit"}` {
		t.Fatalf("history %+v", h.History)
	}
}

func ptrS(s string) *string   { return &s }
func ptrF(f float64) *float64 { return &f }
func ptrI(i int) *int         { return &i }

func TestExperimentMetrics(t *testing.T) {
	e := newHoldoutEnv(t)
	for _, b := range []string{
		`{"key":"converted","name":"Converted","type":"binomial","event":"purchase"}`,
		`{"key":"revenue","name":"Revenue","type":"sum","event":"purchase","property":"cents"}`,
		`{"key":"errors","name":"Errors","type":"count","event":"error_shown","direction":"decrease"}`,
		`{"key":"old","name":"Old","type":"count","event":"legacy"}`,
		`{"key":"aov","name":"AOV","type":"ratio","numerator":{"type":"sum","event":"purchase","property":"cents"},"denominator":{"type":"count","event":"checkout"}}`,
	} {
		e.expect(e.call(routes.AdminCreateMetric, "", b, nil), http.StatusCreated, nil)
	}
	v := e.create("exp", `"status":"active","events":["signup"],"primary_metric":"converted","guardrail_metrics":["errors"]`)
	if *v.PrimaryMetric != "converted" || !reflect.DeepEqual(v.GuardrailMetrics, []string{"errors"}) || len(v.SecondaryMetrics) != 0 ||
		!reflect.DeepEqual(v.Events, []string{"signup", "purchase", "error_shown"}) {
		t.Fatalf("created %+v", v)
	}
	// While running: add secondaries (their events join), drop the primary.
	var p adminapi.ExperimentView
	e.expect(e.call(routes.AdminUpdate, "exp", `{"version":1,"primary_metric":null,"secondary_metrics":["revenue","aov"]}`, nil), http.StatusOK, &p)
	if p.PrimaryMetric != nil || !reflect.DeepEqual(p.SecondaryMetrics, []string{"revenue", "aov"}) || !reflect.DeepEqual(p.GuardrailMetrics, []string{"errors"}) ||
		!reflect.DeepEqual(p.Events, []string{"signup", "purchase", "error_shown", "checkout"}) || p.Status != "active" {
		t.Fatalf("patched %+v", p)
	}
	var h adminapi.HistoryResponse
	e.expect(e.call(routes.AdminHistory, "exp", "", nil), http.StatusOK, &h)
	if h.History[0].Action != "update" || !strings.Contains(string(h.History[0].Details), `"secondary_metrics":["revenue","aov"]`) ||
		!strings.Contains(string(h.History[0].Details), `"events":["signup","purchase","error_shown","checkout"]`) {
		t.Fatalf("audit %s", h.History[0].Details)
	}

	// An archived metric stays named, but cannot be named anew.
	e.expect(e.call(routes.AdminArchiveMetric, "errors", "", nil), http.StatusNoContent, nil)
	e.expect(e.call(routes.AdminArchiveMetric, "old", "", nil), http.StatusNoContent, nil)
	e.expect(e.call(routes.AdminUpdate, "exp", `{"version":2,"name":"Renamed"}`, nil), http.StatusOK, &p)
	if !reflect.DeepEqual(p.GuardrailMetrics, []string{"errors"}) {
		t.Fatalf("guardrails %v", p.GuardrailMetrics)
	}
	before := e.get("exp")
	for _, tc := range []struct {
		body, code, field string
	}{
		{`{"version":3,"primary_metric":"old"}`, metric.CodeNotFound, ""},
		{`{"version":3,"secondary_metrics":["nope"]}`, metric.CodeNotFound, ""},
		{`{"version":3,"primary_metric":"revenue"}`, fault.CodeValidationFailed, "secondary_metrics[0]"},
		{`{"version":3,"guardrail_metrics":["Bad"]}`, fault.CodeValidationFailed, "guardrail_metrics[0]"},
		{`{"version":3,"secondary_metrics":"revenue"}`, fault.CodeValidationFailed, "secondary_metrics"},
		{`{"version":3,"primary_metric":7}`, fault.CodeValidationFailed, "primary_metric"},
	} {
		eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "exp", tc.body, nil), http.StatusBadRequest, tc.code)
		if tc.field != "" && fieldsOf(t, eb)[tc.field] == nil {
			t.Errorf("%s: details %v lack %s", tc.body, eb.Error.Details, tc.field)
		}
	}
	if after := e.get("exp"); after.Version != before.Version {
		t.Fatalf("refused patches changed the experiment: %+v", after)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("exp2", `"primary_metric":"nope"`), nil), http.StatusBadRequest, metric.CodeNotFound)

	// The circuit breaker is opt-in, on create and by PATCH.
	if v.StopOnGuardrail || !e.create("exp3", `"stop_on_guardrail":true`).StopOnGuardrail {
		t.Fatal("stop_on_guardrail not as created")
	}
	e.expect(e.call(routes.AdminUpdate, "exp", `{"version":3,"stop_on_guardrail":true}`, nil), http.StatusOK, &p)
	if !p.StopOnGuardrail || p.Version != 4 {
		t.Fatalf("patched %+v", p)
	}
	eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "exp", `{"version":4,"stop_on_guardrail":"yes"}`, nil), http.StatusBadRequest, fault.CodeValidationFailed)
	if fieldsOf(t, eb)["stop_on_guardrail"] == nil {
		t.Fatalf("details %v", eb.Error.Details)
	}
}
