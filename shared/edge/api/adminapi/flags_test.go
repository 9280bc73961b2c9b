package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
)

const flagBody = `{"key":"new-checkout","description":"the new checkout","type":"boolean","default_value":false,
	"rules":[{"condition":{"country":{"$in":["FR","BE"]}},"value":true},
	         {"coverage":0.2,"value":true},
	         {"experiment":"checkout","values":{"control":false,"treatment":true}}]}`

func (e *holdoutEnv) createFlag(body string) adminapi.FlagView {
	e.t.Helper()
	var v adminapi.FlagView
	e.expect(e.call(routes.AdminCreateFlag, "", body, nil), http.StatusCreated, &v)
	return v
}

func fieldNames(eb httpapitest.ErrorBody) []string {
	fields, _ := eb.Error.Details["fields"].(map[string]any)
	var out []string
	for k := range fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestFlagLifecycle(t *testing.T) {
	e := newHoldoutEnv(t)
	e.create("checkout", "")
	v := e.createFlag(flagBody)
	wantRules := `[{"condition":{"country":{"$in":["FR","BE"]}},"value":true},{"condition":null,"coverage":0.2,"value":true,"hash_attribute":"id"},` +
		`{"experiment":"checkout","values":{"control":false,"treatment":true}}]`
	if v.Key != "new-checkout" || v.Type != flag.Boolean || string(v.DefaultValue) != "false" || !v.Enabled || string(v.Rules) != wantRules ||
		v.Version != 1 || v.CreatedBy != adminKeyID || v.UpdatedBy != adminKeyID || v.Description != "the new checkout" {
		t.Fatalf("created %+v rules %s", v, v.Rules)
	}
	var got adminapi.FlagView
	e.expect(e.call(routes.AdminGetFlag, "new-checkout", "", nil), http.StatusOK, &got)
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("get %+v, want %+v", got, v)
	}

	// A versioned edit; the same version again is a conflict naming the
	// current one, and writes nothing.
	var patched adminapi.FlagView
	e.expect(e.call(routes.AdminUpdateFlag, "new-checkout", `{"version":1,"enabled":false,"rules":[{"coverage":0.5,"value":true,"hash_attribute":"company"}]}`, nil), http.StatusOK, &patched)
	if patched.Version != 2 || patched.Enabled || string(patched.Rules) != `[{"condition":null,"coverage":0.5,"value":true,"hash_attribute":"company"}]` {
		t.Fatalf("patched %+v rules %s", patched, patched.Rules)
	}
	before := e.items()
	eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdateFlag, "new-checkout", `{"version":1,"enabled":true}`, nil), http.StatusConflict, experiment.CodeVersionConflict)
	if eb.Error.Details["current_version"] != float64(2) {
		t.Fatalf("conflict details %v", eb.Error.Details)
	}
	if after := e.items(); !reflect.DeepEqual(after, before) {
		t.Fatal("a conflicting edit wrote")
	}

	// The audit trail: who did what, newest first, with what changed.
	var hist adminapi.HistoryResponse
	e.expect(e.call(routes.AdminFlagHistory, "new-checkout", "", nil), http.StatusOK, &hist)
	if len(hist.History) != 2 || hist.History[0].Action != "update" || hist.History[0].Version != 2 || hist.History[0].By != adminKeyID ||
		hist.History[1].Action != "create" || hist.History[1].Version != 1 {
		t.Fatalf("history %+v", hist.History)
	}
	var details map[string]json.RawMessage
	if err := json.Unmarshal(hist.History[0].Details, &details); err != nil || string(details["enabled"]) != "false" ||
		!strings.Contains(string(details["rules"]), `"company"`) || len(details) != 2 {
		t.Fatalf("update details %s", hist.History[0].Details)
	}

	// Archive: not found anywhere after, the key never reused.
	e.expect(e.call(routes.AdminArchiveFlag, "new-checkout", "", nil), http.StatusNoContent, nil)
	for _, r := range []routes.Route{routes.AdminGetFlag, routes.AdminFlagHistory, routes.AdminArchiveFlag} {
		httpapitest.ExpectError(t, e.call(r, "new-checkout", "", nil), http.StatusNotFound, flag.CodeNotFound)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminUpdateFlag, "new-checkout", `{"version":3,"enabled":true}`, nil), http.StatusNotFound, flag.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminCreateFlag, "", flagBody, nil), http.StatusConflict, flag.CodeExists)
	var list adminapi.FlagsResponse
	e.expect(e.call(routes.AdminListFlags, "", "", nil), http.StatusOK, &list)
	if len(list.Flags) != 0 {
		t.Fatalf("archived flag listed: %+v", list.Flags)
	}
}

func TestFlagListPages(t *testing.T) {
	e := newHoldoutEnv(t)
	for _, k := range []string{"f1", "f2", "f3"} {
		e.createFlag(`{"key":"` + k + `","type":"string","default_value":"x"}`)
	}
	var first, second adminapi.FlagsResponse
	e.expect(e.call(routes.AdminListFlags, "", "", map[string]string{"limit": "2"}), http.StatusOK, &first)
	if len(first.Flags) != 2 || first.Flags[0].Key != "f3" || first.Flags[1].Key != "f2" || first.NextCursor == nil {
		t.Fatalf("first page %+v", first)
	}
	e.expect(e.call(routes.AdminListFlags, "", "", map[string]string{"limit": "2", "cursor": *first.NextCursor}), http.StatusOK, &second)
	if len(second.Flags) != 1 || second.Flags[0].Key != "f1" || second.NextCursor != nil {
		t.Fatalf("second page %+v", second)
	}
	if string(second.Flags[0].Rules) != "[]" || !second.Flags[0].Enabled {
		t.Fatalf("defaults: %+v", second.Flags[0])
	}
	httpapitest.ExpectError(t, e.call(routes.AdminListFlags, "", "", map[string]string{"cursor": "nope"}), http.StatusBadRequest, fault.CodeInvalidCursor)
	httpapitest.ExpectError(t, e.call(routes.AdminListFlags, "", "", map[string]string{"limit": "0"}), http.StatusBadRequest, fault.CodeValidationFailed)
}

// Bad input is a 400 naming every bad field, the rule among them, and
// changes nothing.
func TestFlagBadInputChangesNothing(t *testing.T) {
	e := newHoldoutEnv(t)
	e.create("checkout", "")
	e.createFlag(`{"key":"banner","type":"string","default_value":"off"}`)
	before := e.items()
	tests := []struct {
		name   string
		route  routes.Route
		key    string
		body   string
		code   string
		fields []string
	}{
		{"not JSON", routes.AdminCreateFlag, "", `{"key":`, fault.CodeInvalidJSON, nil},
		{"array body", routes.AdminCreateFlag, "", `[]`, fault.CodeInvalidJSON, nil},
		{"missing fields", routes.AdminCreateFlag, "", `{}`, fault.CodeValidationFailed, []string{"default_value", "key", "type"}},
		{"bad key and type", routes.AdminCreateFlag, "", `{"key":"Bad Key","type":"int","default_value":1}`, fault.CodeValidationFailed, []string{"key", "type"}},
		{"default of another type", routes.AdminCreateFlag, "", `{"key":"x1","type":"number","default_value":"1"}`, fault.CodeValidationFailed, []string{"default_value"}},
		{"rule value of another type", routes.AdminCreateFlag, "", `{"key":"x2","type":"boolean","default_value":false,"rules":[{"value":true},{"value":true},{"value":"yes"}]}`, fault.CodeValidationFailed, []string{"rules[2].value"}},
		{"bad condition", routes.AdminCreateFlag, "", `{"key":"x3","type":"boolean","default_value":false,"rules":[{"condition":{"a":{"$bogus":1}},"value":true}]}`, fault.CodeValidationFailed, []string{"rules[0].condition.a.$bogus"}},
		{"coverage out of range", routes.AdminCreateFlag, "", `{"key":"x4","type":"boolean","default_value":false,"rules":[{"coverage":2,"value":true}]}`, fault.CodeValidationFailed, []string{"rules[0].coverage"}},
		{"unknown experiment", routes.AdminCreateFlag, "", `{"key":"x5","type":"boolean","default_value":false,"rules":[{"value":true},{"experiment":"nope","values":{"control":true}}]}`, fault.CodeValidationFailed, []string{"rules[1].experiment"}},
		{"not a variant", routes.AdminCreateFlag, "", `{"key":"x6","type":"boolean","default_value":false,"rules":[{"experiment":"checkout","values":{"control":false,"treatment":true,"other":true}}]}`, fault.CodeValidationFailed, []string{"rules[0].values.other"}},
		{"variant left out", routes.AdminCreateFlag, "", `{"key":"x7","type":"boolean","default_value":false,"rules":[{"experiment":"checkout","values":{"control":false}}]}`, fault.CodeValidationFailed, []string{"rules[0].values"}},
		{"unknown field", routes.AdminCreateFlag, "", `{"key":"x8","type":"boolean","default_value":false,"name":"x"}`, fault.CodeValidationFailed, []string{"name"}},
		{"enabled not a boolean", routes.AdminCreateFlag, "", `{"key":"x9","type":"boolean","default_value":false,"enabled":"yes"}`, fault.CodeValidationFailed, []string{"enabled"}},
		{"existing key", routes.AdminCreateFlag, "", `{"key":"banner","type":"string","default_value":"on"}`, flag.CodeExists, nil},
		{"patch without version", routes.AdminUpdateFlag, "banner", `{"enabled":false}`, fault.CodeValidationFailed, []string{"version"}},
		{"patch of nothing", routes.AdminUpdateFlag, "banner", `{"version":1}`, fault.CodeValidationFailed, []string{"enabled"}},
		{"patch of the type", routes.AdminUpdateFlag, "banner", `{"version":1,"type":"boolean"}`, fault.CodeValidationFailed, []string{"type"}},
		{"patch of the key", routes.AdminUpdateFlag, "banner", `{"version":1,"key":"b2"}`, fault.CodeValidationFailed, []string{"key"}},
		{"patched default of another type", routes.AdminUpdateFlag, "banner", `{"version":1,"default_value":true}`, fault.CodeValidationFailed, []string{"default_value"}},
		{"patched rule of another type", routes.AdminUpdateFlag, "banner", `{"version":1,"rules":[{"value":"on"},{"coverage":0.5,"value":5}]}`, fault.CodeValidationFailed, []string{"rules[1].value"}},
		{"patched unknown experiment", routes.AdminUpdateFlag, "banner", `{"version":1,"rules":[{"experiment":"gone","values":{"a":"x"}}]}`, fault.CodeValidationFailed, []string{"rules[0].experiment"}},
		{"patch of an unknown flag", routes.AdminUpdateFlag, "nope", `{"version":1,"enabled":false}`, flag.CodeNotFound, nil},
		{"patch of a bad key", routes.AdminUpdateFlag, "Bad Key", `{"version":1,"enabled":false}`, fault.CodeInvalidKey, nil},
		{"get of an unknown flag", routes.AdminGetFlag, "nope", ``, flag.CodeNotFound, nil},
		{"get of a bad key", routes.AdminGetFlag, "a b", ``, fault.CodeInvalidKey, nil},
		{"archive of an unknown flag", routes.AdminArchiveFlag, "nope", ``, flag.CodeNotFound, nil},
	}
	status := map[string]int{fault.CodeInvalidJSON: 400, fault.CodeValidationFailed: 400, fault.CodeInvalidKey: 400, flag.CodeExists: 409, flag.CodeNotFound: 404}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, e.call(tt.route, tt.key, tt.body, nil), status[tt.code], tt.code)
			if tt.fields != nil && !reflect.DeepEqual(fieldNames(eb), tt.fields) {
				t.Fatalf("fields %v, want %v", eb.Error.Details["fields"], tt.fields)
			}
		})
	}
	if after := e.items(); !reflect.DeepEqual(after, before) {
		t.Fatal("a refused request wrote")
	}
}

// The flag routes are admin routes: a client key is refused before any
// of them runs, and nothing is written.
func TestFlagRoutesNeedAdmin(t *testing.T) {
	e := newHoldoutEnv(t)
	e.createFlag(`{"key":"banner","type":"string","default_value":"off"}`)
	before := e.items()
	for _, r := range []routes.Route{
		routes.AdminCreateFlag, routes.AdminListFlags, routes.AdminGetFlag, routes.AdminUpdateFlag, routes.AdminArchiveFlag, routes.AdminFlagHistory,
	} {
		req := httpapitest.Request("banner", "alice", `{"key":"other","type":"string","default_value":"x","version":1,"enabled":false}`)
		req.RouteKey = r.Key()
		httpapitest.ExpectError(t, e.serve(req), http.StatusForbidden, fault.CodeForbidden)
	}
	if after := e.items(); !reflect.DeepEqual(after, before) {
		t.Fatal("a refused request wrote")
	}
}

// Concurrent edits of one version: exactly one wins, the others are 409
// VERSION_CONFLICT, and the audit trail has one entry per version.
func TestFlagConcurrentEdits(t *testing.T) {
	e := newHoldoutEnv(t)
	e.createFlag(`{"key":"banner","type":"number","default_value":0}`)
	const n = 8
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"version":1,"default_value":` + strconv.Itoa(i+1) + `}`
			resp, err := e.h(context.Background(), httpapitest.AdminRequest(routes.AdminUpdateFlag, "banner", body))
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusConflict:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	if won != 1 {
		t.Fatalf("%d edits of version 1 won: %v", won, statuses)
	}
	var hist adminapi.HistoryResponse
	e.expect(e.call(routes.AdminFlagHistory, "banner", "", nil), http.StatusOK, &hist)
	if len(hist.History) != 2 {
		t.Fatalf("history %+v", hist.History)
	}
}
