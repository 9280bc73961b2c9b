package adminapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/api/assignmentapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/assignment"
	"github.com/abtest/abtest/shared/usecase/keys"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// adminKeyID is the key id httpapitest.AdminRequest puts in the authorizer
// context; the audit fields must name it.
const adminKeyID = "test-admin-key"

// ticker is a deterministic clock: every reading is one second after the
// previous one, so "newest first" is decided by the order of the calls.
type ticker struct {
	mu sync.Mutex
	t  time.Time
}

func newTicker() *ticker {
	return &ticker{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *ticker) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type env struct {
	t     *testing.T
	table string
	st    *store.Store
	h     httpapi.Handler
	clock *ticker
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, _, table := storetest.New(t)
	clock := newTicker()
	return &env{t: t, table: table, st: st, h: apispectest.Handler(t, routes.Admin, adminapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: clock.now})), clock: clock}
}

// call runs one admin request; query may be nil.
func (e *env) call(route routes.Route, key, body string, query map[string]string) httpapi.Response {
	e.t.Helper()
	req := httpapitest.AdminRequest(route, key, body)
	req.QueryStringParameters = query
	return e.serve(req)
}

func (e *env) serve(req httpapi.Request) httpapi.Response {
	e.t.Helper()
	resp, err := e.h(context.Background(), req)
	if err != nil {
		e.t.Fatalf("%s: handler returned an error: %v", req.RouteKey, err)
	}
	return resp
}

// expect checks the status of a response and decodes a JSON body into dst
// (when dst is not nil).
func (e *env) expect(resp httpapi.Response, status int, dst any) {
	e.t.Helper()
	if resp.StatusCode != status {
		e.t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
	}
	if dst != nil {
		httpapitest.Decode(e.t, resp, dst)
	}
}

func body(key string, extra string) string {
	b := fmt.Sprintf(`{"key":%q,"name":"Name of %s","variants":[{"key":"control","weight":1},{"key":"treatment","weight":1}]`, key, key)
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

// create creates an experiment through the API and returns its view.
func (e *env) create(key, extra string) adminapi.ExperimentView {
	e.t.Helper()
	var v adminapi.ExperimentView
	e.expect(e.call(routes.AdminCreate, "", body(key, extra), nil), http.StatusCreated, &v)
	return v
}

func (e *env) get(key string) adminapi.ExperimentView {
	e.t.Helper()
	var v adminapi.ExperimentView
	e.expect(e.call(routes.AdminGet, key, "", nil), http.StatusOK, &v)
	return v
}

func (e *env) act(route routes.Route, key string) adminapi.ExperimentView {
	e.t.Helper()
	var v adminapi.ExperimentView
	e.expect(e.call(route, key, "", nil), http.StatusOK, &v)
	return v
}

func (e *env) assign(key, user, variant string) {
	e.t.Helper()
	if _, _, err := e.st.CreateAssignment(context.Background(), key, experiment.UserUnit(user), variant); err != nil {
		e.t.Fatalf("assign %s/%s: %v", key, user, err)
	}
}

func fieldsOf(t *testing.T, eb httpapitest.ErrorBody) map[string]any {
	t.Helper()
	f, ok := eb.Error.Details["fields"].(map[string]any)
	if !ok {
		t.Fatalf("details lack a fields object: %v", eb.Error.Details)
	}
	return f
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func variantKeys(v adminapi.ExperimentView) []string {
	var out []string
	for _, vr := range v.Variants {
		out = append(out, vr.Key)
	}
	return out
}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	resp := e.call(routes.AdminCreate, "", `{"key":"checkout_v2","name":"Checkout","description":"new flow",
		"variants":[{"key":"control","weight":1},{"key":"green","weight":2.5,"payload":{"color": "green", "n": [1, 2]}},{"key":"blue","weight":0,"payload":null}]}`, nil)
	var raw map[string]any
	e.expect(resp, http.StatusCreated, &raw)
	for name, want := range map[string]any{
		"key": "checkout_v2", "name": "Checkout", "description": "new flow", "status": "draft",
		"version": float64(1), "created_by": adminKeyID, "updated_by": adminKeyID,
	} {
		if raw[name] != want {
			t.Errorf("%s = %#v, want %#v", name, raw[name], want)
		}
	}
	for _, name := range []string{"created_at", "updated_at"} {
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(raw[name])); err != nil {
			t.Errorf("%s = %v: %v", name, raw[name], err)
		}
	}
	variants, _ := raw["variants"].([]any)
	if len(variants) != 3 {
		t.Fatalf("variants = %v", raw["variants"])
	}
	want := []struct {
		key     string
		weight  float64
		payload string
		control bool
	}{
		{"control", 1, "null", true},
		{"green", 2.5, `{"color":"green","n":[1,2]}`, false},
		{"blue", 0, "null", false},
	}
	for i, w := range want {
		v := variants[i].(map[string]any)
		payload, _ := json.Marshal(v["payload"])
		if _, ok := v["payload"]; !ok {
			t.Errorf("variant %d has no payload field: %v", i, v)
		}
		if v["key"] != w.key || v["weight"] != w.weight || v["is_control"] != w.control || string(payload) != w.payload {
			t.Errorf("variant %d = %v, want %+v", i, v, w)
		}
		if _, ok := v["assigned_count"]; ok {
			t.Errorf("variant %d of a create response carries assigned_count: %v", i, v)
		}
	}
	// The stored payload is served back as given (compacted) on reads.
	var got map[string]any
	e.expect(e.call(routes.AdminGet, "checkout_v2", "", nil), http.StatusOK, &got)
	if p, _ := json.Marshal(got["variants"].([]any)[1].(map[string]any)["payload"]); string(p) != want[1].payload {
		t.Errorf("payload read back as %s", p)
	}

	t.Run("active accepted", func(t *testing.T) {
		if v := e.create("born-active", `"status":"active"`); v.Status != "active" || v.Version != 1 {
			t.Fatalf("created %+v", v)
		}
		if v := e.create("explicit-draft", `"status":"draft"`); v.Status != "draft" {
			t.Fatalf("created %+v", v)
		}
	})
	t.Run("repeated key", func(t *testing.T) {
		httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("checkout_v2", ""), nil), http.StatusConflict, experiment.CodeExists)
		// The first definition is untouched.
		if v := e.get("checkout_v2"); v.Name != "Checkout" || len(v.Variants) != 3 {
			t.Fatalf("after a repeated create: %+v", v)
		}
	})
}

func TestCreateInvalidJSON(t *testing.T) {
	e := newEnv(t)
	for _, b := range []string{"", "  ", "null", "[]", `[{"key":"a"}]`, `"x"`, "1", "true", `{"key":`, `{"key":"a"} {}`, "{'key':'a'}"} {
		t.Run(b, func(t *testing.T) {
			httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", b, nil), http.StatusBadRequest, fault.CodeInvalidJSON)
		})
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	two := `[{"key":"control","weight":1},{"key":"treatment","weight":1}]`
	withVariants := func(v string) string { return `{"key":"exp","name":"N","variants":` + v + `}` }
	big := `"` + strings.Repeat("x", experiment.MaxPayloadBytes) + `"` // 2 bytes over
	cases := []struct {
		name string
		body string
		want []string // exactly these paths in details.fields
	}{
		{"every problem at once", `{"key":"Bad Key","name":"","variants":[{"key":"control","weight":1}],"colour":"red"}`,
			[]string{"colour", "key", "name", "variants"}},
		{"missing everything", `{}`, []string{"key", "name", "variants"}},
		{"key pattern", `{"key":"-a","name":"N","variants":` + two + `}`, []string{"key"}},
		{"key too long", `{"key":"` + strings.Repeat("k", 65) + `","name":"N","variants":` + two + `}`, []string{"key"}},
		{"key not a string", `{"key":5,"name":"N","variants":` + two + `}`, []string{"key"}},
		{"blank name", `{"key":"exp","name":"   ","variants":` + two + `}`, []string{"name"}},
		{"name too long", `{"key":"exp","name":"` + strings.Repeat("n", experiment.MaxNameLen+1) + `","variants":` + two + `}`, []string{"name"}},
		{"description too long", `{"key":"exp","name":"N","description":"` + strings.Repeat("d", experiment.MaxDescriptionLen+1) + `","variants":` + two + `}`, []string{"description"}},
		{"variants not an array", withVariants(`{"key":"control"}`), []string{"variants"}},
		{"no variants", withVariants(`[]`), []string{"variants"}},
		{"too many variants", withVariants(func() string {
			var vs []string
			for i := 0; i <= experiment.MaxVariants; i++ {
				vs = append(vs, fmt.Sprintf(`{"key":"v%d","weight":1}`, i))
			}
			return "[" + strings.Join(vs, ",") + "]"
		}()), []string{"variants"}},
		{"negative weight", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":-1}]`), []string{"variants[1].weight"}},
		{"string weight", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":"1"}]`), []string{"variants[1].weight"}},
		{"NaN as string", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":"NaN"}]`), []string{"variants[1].weight"}},
		{"Infinity as string", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":"Infinity"}]`), []string{"variants[1].weight"}},
		{"weight out of float range", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":1e400}]`), []string{"variants[1].weight"}},
		{"missing weight", withVariants(`[{"key":"control","weight":1},{"key":"t"}]`), []string{"variants[1].weight"}},
		{"bad variant key", withVariants(`[{"key":"control","weight":1},{"key":"T!","weight":1}]`), []string{"variants[1].key"}},
		{"duplicate variant keys", withVariants(`[{"key":"control","weight":1},{"key":"control","weight":2}]`), []string{"variants[1].key"}},
		{"unknown variant field", withVariants(`[{"key":"control","weight":1,"colour":"red"},{"key":"t","weight":1}]`), []string{"variants[0].colour"}},
		{"variant not an object", withVariants(`[{"key":"control","weight":1},"t"]`), []string{"variants[1]"}},
		{"two bad variants", withVariants(`[{"key":"control","weight":-1},{"key":"","weight":1}]`), []string{"variants[0].weight", "variants[1].key"}},
		{"payload over 16 KiB", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":1,"payload":` + big + `}]`), []string{"variants[1].payload"}},
		{"status paused", `{"key":"exp","name":"N","variants":` + two + `,"status":"paused"}`, []string{"status"}},
		{"status archived", `{"key":"exp","name":"N","variants":` + two + `,"status":"archived"}`, []string{"status"}},
		{"status unknown", `{"key":"exp","name":"N","variants":` + two + `,"status":"running"}`, []string{"status"}},
		{"status not a string", `{"key":"exp","name":"N","variants":` + two + `,"status":1}`, []string{"status"}},
		{"unknown top-level field", `{"key":"exp","name":"N","variants":` + two + `,"colour":"blue"}`, []string{"colour"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.call(routes.AdminCreate, "", tc.body, nil)
			eb := httpapitest.ExpectError(t, resp, http.StatusBadRequest, fault.CodeValidationFailed)
			fields := fieldsOf(t, eb)
			if got := keysOf(fields); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields %v, want exactly %v (%s)", got, tc.want, resp.Body)
			}
			for k, msg := range fields {
				if s, _ := msg.(string); s == "" {
					t.Errorf("field %s has no message", k)
				}
			}
		})
	}
	// Nothing was stored by a refused create.
	httpapitest.ExpectError(t, e.call(routes.AdminGet, "exp", "", nil), http.StatusNotFound, experiment.CodeNotFound)

	t.Run("payload at 16 KiB accepted", func(t *testing.T) {
		atLimit := `"` + strings.Repeat("x", experiment.MaxPayloadBytes-2) + `"`
		e.expect(e.call(routes.AdminCreate, "", withVariants(`[{"key":"control","weight":1},{"key":"t","weight":1,"payload":`+atLimit+`}]`), nil), http.StatusCreated, nil)
	})
}

type listPage struct {
	Experiments []adminapi.ExperimentView `json:"experiments"`
	NextCursor  *string                   `json:"next_cursor"`
	Totals      map[string]int64          `json:"totals"`
}

func (e *env) list(query map[string]string) listPage {
	e.t.Helper()
	var p listPage
	e.expect(e.call(routes.AdminList, "", "", query), http.StatusOK, &p)
	return p
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	// Empty listing first: an empty array, no cursor, zero totals.
	if p := e.list(nil); p.Experiments == nil || len(p.Experiments) != 0 || p.NextCursor != nil {
		t.Fatalf("empty listing %+v", p)
	}
	var created []string // oldest first
	for i := 0; i < 25; i++ {
		// Keys in an order unrelated to creation time, so the test sees
		// the listing sorted by time and not by key.
		key := fmt.Sprintf("exp-%02d", (i*7)%25)
		e.create(key, "")
		created = append(created, key)
	}
	newestFirst := make([]string, len(created))
	for i, k := range created {
		newestFirst[len(created)-1-i] = k
	}

	t.Run("default limit", func(t *testing.T) {
		p := e.list(nil)
		if len(p.Experiments) != adminapi.DefaultLimit || p.NextCursor == nil {
			t.Fatalf("default page: %d items, cursor %v", len(p.Experiments), p.NextCursor)
		}
		for i, v := range p.Experiments {
			if v.Key != newestFirst[i] {
				t.Fatalf("item %d = %s, want %s (newest first)", i, v.Key, newestFirst[i])
			}
			if len(v.Variants) != 2 || v.Variants[0].AssignedCount != nil {
				t.Fatalf("list item variants %+v", v.Variants)
			}
		}
	})
	for _, limit := range []int{1, 7, 10, 25, 100} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var seen []string
			var cursor string
			for pages := 0; ; pages++ {
				if pages > 30 {
					t.Fatalf("paging does not end")
				}
				q := map[string]string{"limit": fmt.Sprint(limit)}
				if cursor != "" {
					q["cursor"] = cursor
				}
				p := e.list(q)
				if len(p.Experiments) > limit {
					t.Fatalf("page of %d items for limit %d", len(p.Experiments), limit)
				}
				for _, v := range p.Experiments {
					seen = append(seen, v.Key)
				}
				if p.NextCursor == nil {
					break
				}
				if *p.NextCursor == "" {
					t.Fatalf("empty next_cursor instead of null")
				}
				cursor = *p.NextCursor
			}
			if !reflect.DeepEqual(seen, newestFirst) {
				t.Fatalf("visited %v,\nwant %v", seen, newestFirst)
			}
		})
	}
}

func TestListValidation(t *testing.T) {
	e := newEnv(t)
	e.create("one", "")
	for _, tc := range []struct {
		name   string
		query  map[string]string
		fields []string
	}{
		{"limit 0", map[string]string{"limit": "0"}, []string{"limit"}},
		{"limit 101", map[string]string{"limit": "101"}, []string{"limit"}},
		{"limit x", map[string]string{"limit": "x"}, []string{"limit"}},
		{"limit negative", map[string]string{"limit": "-1"}, []string{"limit"}},
		{"limit fraction", map[string]string{"limit": "1.5"}, []string{"limit"}},
		{"limit empty", map[string]string{"limit": ""}, []string{"limit"}},
		{"status unknown", map[string]string{"status": "running"}, []string{"status"}},
		{"status archived", map[string]string{"status": "archived"}, []string{"status"}},
		{"status upper case", map[string]string{"status": "ACTIVE"}, []string{"status"}},
		{"both", map[string]string{"status": "x", "limit": "0"}, []string{"limit", "status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, e.call(routes.AdminList, "", "", tc.query), http.StatusBadRequest, fault.CodeValidationFailed)
			if got := keysOf(fieldsOf(t, eb)); !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
		})
	}
	for _, limit := range []string{"1", "100"} {
		if p := e.list(map[string]string{"limit": limit}); len(p.Experiments) != 1 {
			t.Fatalf("limit %s: %+v", limit, p)
		}
	}
	forged := func(m map[string]string) string {
		b, _ := json.Marshal(m)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, cursor := range []string{
		"!!!",
		"not-base64-json",
		base64.RawURLEncoding.EncodeToString([]byte("[]")),
		forged(map[string]string{}),
		forged(map[string]string{"pk": "EXP#one", "sk": "DEF", "gsi1pk": "EXPERIMENTS"}), // a key attribute missing
		forged(map[string]string{"pk": "EXP#one", "sk": "DEF", "gsi1pk": "EXPERIMENTS", "gsi1sk": ""}),
	} {
		t.Run("cursor "+cursor, func(t *testing.T) {
			httpapitest.ExpectError(t, e.call(routes.AdminList, "", "", map[string]string{"cursor": cursor}), http.StatusBadRequest, fault.CodeInvalidCursor)
		})
	}
	// A cursor of the unfiltered listing does not fit the status listing.
	for i := 0; i < 2; i++ {
		e.create(fmt.Sprintf("more-%d", i), "")
	}
	p := e.list(map[string]string{"limit": "1"})
	if p.NextCursor == nil {
		t.Fatalf("no cursor")
	}
	httpapitest.ExpectError(t, e.call(routes.AdminList, "", "", map[string]string{"cursor": *p.NextCursor, "status": "draft"}), http.StatusBadRequest, fault.CodeInvalidCursor)
	// A cursor of the same shape issued by another listing (the API keys'
	// gsi1 partition) or made up for another partition is refused too.
	e.call(routes.AdminCreateKey, "", `{"name":"k1","role":"client"}`, nil)
	e.call(routes.AdminCreateKey, "", `{"name":"k2","role":"client"}`, nil)
	var keys adminapi.KeysResponse
	httpapitest.Decode(t, e.call(routes.AdminListKeys, "", "", map[string]string{"limit": "1"}), &keys)
	if keys.NextCursor == nil {
		t.Fatal("no key cursor")
	}
	httpapitest.ExpectError(t, e.call(routes.AdminList, "", "", map[string]string{"cursor": *keys.NextCursor}), http.StatusBadRequest, fault.CodeInvalidCursor)
	httpapitest.ExpectError(t, e.call(routes.AdminListKeys, "", "", map[string]string{"cursor": *p.NextCursor}), http.StatusBadRequest, fault.CodeInvalidCursor)
	made := forged(map[string]string{"pk": "APIKEY#x", "sk": "KEY", "gsi1pk": "APIKEYS", "gsi1sk": "z"})
	httpapitest.ExpectError(t, e.call(routes.AdminList, "", "", map[string]string{"cursor": made}), http.StatusBadRequest, fault.CodeInvalidCursor)
	otherHistory := forged(map[string]string{"pk": "EXP#more-0", "sk": "HIST#000000000001"})
	httpapitest.ExpectError(t, e.call(routes.AdminHistory, "more-1", "", map[string]string{"cursor": otherHistory}), http.StatusBadRequest, fault.CodeInvalidCursor)
}

func TestListStatusAndTotals(t *testing.T) {
	e := newEnv(t)
	totals := func() map[string]int64 {
		t.Helper()
		return e.list(nil).Totals
	}
	want := func(d, a, p, en int64) map[string]int64 {
		return map[string]int64{"draft": d, "active": a, "paused": p, "ended": en}
	}
	if got := totals(); !reflect.DeepEqual(got, want(0, 0, 0, 0)) {
		t.Fatalf("totals of an empty table %v", got)
	}
	e.create("d1", "")
	e.create("d2", "")
	e.create("d3", "")
	e.create("a1", `"status":"active"`)
	if got := totals(); !reflect.DeepEqual(got, want(3, 1, 0, 0)) {
		t.Fatalf("after creates %v", got)
	}
	e.act(routes.AdminStart, "d1")
	e.act(routes.AdminStart, "d2")
	e.act(routes.AdminPause, "d2")
	e.act(routes.AdminEnd, "a1")
	if got := totals(); !reflect.DeepEqual(got, want(1, 1, 1, 1)) {
		t.Fatalf("after transitions %v", got)
	}
	e.expect(e.call(routes.AdminArchive, "d3", "", nil), http.StatusNoContent, nil)
	e.expect(e.call(routes.AdminArchive, "a1", "", nil), http.StatusNoContent, nil)
	if got := totals(); !reflect.DeepEqual(got, want(0, 1, 1, 0)) {
		t.Fatalf("after archiving (archived must not be counted) %v", got)
	}
	e.create("d4", "")

	keys := func(p listPage) []string {
		var out []string
		for _, v := range p.Experiments {
			out = append(out, v.Key)
		}
		return out
	}
	for _, tc := range []struct {
		status string
		want   []string
	}{
		{"", []string{"d4", "d2", "d1"}}, // newest first; archived d3 and a1 absent
		{"draft", []string{"d4"}},
		{"active", []string{"d1"}},
		{"paused", []string{"d2"}},
		{"ended", nil},
	} {
		t.Run("status="+tc.status, func(t *testing.T) {
			q := map[string]string{}
			if tc.status != "" {
				q["status"] = tc.status
			}
			p := e.list(q)
			if got := keys(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
			for _, v := range p.Experiments {
				if tc.status != "" && string(v.Status) != tc.status {
					t.Fatalf("%s has status %s", v.Key, v.Status)
				}
			}
			if !reflect.DeepEqual(p.Totals, want(1, 1, 1, 0)) {
				t.Fatalf("totals %v", p.Totals)
			}
		})
	}
	// Paging inside one status.
	e.create("d5", "")
	e.create("d6", "")
	var seen []string
	q := map[string]string{"status": "draft", "limit": "2"}
	for i := 0; i < 5; i++ {
		p := e.list(q)
		seen = append(seen, keys(p)...)
		if p.NextCursor == nil {
			break
		}
		q["cursor"] = *p.NextCursor
	}
	if want := []string{"d6", "d5", "d4"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("draft pages %v, want %v", seen, want)
	}
}

func TestGet(t *testing.T) {
	e := newEnv(t)
	e.create("counted", `"status":"active"`)
	e.create("empty", "")
	e.assign("counted", "u1", "control")
	e.assign("counted", "u2", "treatment")
	e.assign("counted", "u3", "treatment")
	e.assign("counted", "u4", "treatment")
	e.assign("counted", "u4", "control") // already assigned: no change

	for _, tc := range []struct {
		key  string
		want map[string]int64
	}{
		{"counted", map[string]int64{"control": 1, "treatment": 3}},
		{"empty", map[string]int64{"control": 0, "treatment": 0}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			var raw map[string]any
			storetest.Drain(t, e.table) // counts follow from the change stream
			e.expect(e.call(routes.AdminGet, tc.key, "", nil), http.StatusOK, &raw)
			if raw["key"] != tc.key || raw["created_by"] != adminKeyID {
				t.Fatalf("read %v", raw)
			}
			got := map[string]int64{}
			for _, v := range raw["variants"].([]any) {
				m := v.(map[string]any)
				n, ok := m["assigned_count"].(float64)
				if !ok {
					t.Fatalf("variant %v lacks assigned_count", m)
				}
				got[m["key"].(string)] = int64(n)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("assigned counts %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		httpapitest.ExpectError(t, e.call(routes.AdminGet, "nope", "", nil), http.StatusNotFound, experiment.CodeNotFound)
	})
	for _, bad := range []string{"Bad Key", "", "-x", strings.Repeat("k", 65)} {
		t.Run("invalid key "+bad, func(t *testing.T) {
			httpapitest.ExpectError(t, e.call(routes.AdminGet, bad, "", nil), http.StatusBadRequest, fault.CodeInvalidKey)
		})
	}
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	patch := func(key, b string) httpapi.Response {
		t.Helper()
		return e.call(routes.AdminUpdate, key, b, nil)
	}
	three := `{"key":"control","weight":1},{"key":"treatment","weight":1},{"key":"extra","weight":1}`

	t.Run("version required", func(t *testing.T) {
		e.create("p-ver", "")
		for _, b := range []string{`{"name":"x"}`, `{"version":0,"name":"x"}`, `{"version":"1","name":"x"}`, `{"version":1.5,"name":"x"}`} {
			eb := httpapitest.ExpectError(t, patch("p-ver", b), http.StatusBadRequest, fault.CodeValidationFailed)
			if _, ok := fieldsOf(t, eb)["version"]; !ok {
				t.Errorf("%s: fields %v lack version", b, eb.Error.Details)
			}
		}
	})
	t.Run("only version", func(t *testing.T) {
		e.create("p-only", "")
		httpapitest.ExpectError(t, patch("p-only", `{"version":1}`), http.StatusBadRequest, fault.CodeValidationFailed)
		if v := e.get("p-only"); v.Version != 1 {
			t.Fatalf("version moved to %d", v.Version)
		}
	})
	t.Run("invalid json and fields", func(t *testing.T) {
		e.create("p-bad", "")
		httpapitest.ExpectError(t, patch("p-bad", `[1]`), http.StatusBadRequest, fault.CodeInvalidJSON)
		eb := httpapitest.ExpectError(t, patch("p-bad", `{"version":1,"name":"","status":"active","variants":[{"key":"control","weight":-1}]}`), http.StatusBadRequest, fault.CodeValidationFailed)
		if got := keysOf(fieldsOf(t, eb)); !reflect.DeepEqual(got, []string{"name", "status", "variants"}) {
			t.Fatalf("fields %v", got)
		}
	})
	t.Run("stale version", func(t *testing.T) {
		e.create("p-stale", "")
		var v adminapi.ExperimentView
		e.expect(patch("p-stale", `{"version":1,"name":"renamed"}`), http.StatusOK, &v)
		if v.Version != 2 || v.Name != "renamed" || v.UpdatedBy != adminKeyID {
			t.Fatalf("patched %+v", v)
		}
		for _, stale := range []int{1, 3, 99} {
			eb := httpapitest.ExpectError(t, patch("p-stale", fmt.Sprintf(`{"version":%d,"name":"again"}`, stale)), http.StatusConflict, experiment.CodeVersionConflict)
			if eb.Error.Details["current_version"] != float64(2) {
				t.Fatalf("details %v, want current_version 2", eb.Error.Details)
			}
		}
		if v := e.get("p-stale"); v.Name != "renamed" || v.Version != 2 {
			t.Fatalf("after conflicts %+v", v)
		}
	})
	t.Run("re-weight", func(t *testing.T) {
		e.create("p-weight", `"status":"active"`)
		e.assign("p-weight", "u1", "treatment")
		var v adminapi.ExperimentView
		e.expect(patch("p-weight", `{"version":1,"variants":[{"key":"control","weight":0},{"key":"treatment","weight":3,"payload":{"a":1}}]}`), http.StatusOK, &v)
		storetest.Drain(t, e.table)
		got := e.get("p-weight")
		if got.Version != 2 || got.Variants[0].Weight != 0 || got.Variants[1].Weight != 3 || string(got.Variants[1].Payload) != `{"a":1}` {
			t.Fatalf("after re-weight %+v", got)
		}
		if got.Status != "active" || *got.Variants[1].AssignedCount != 1 {
			t.Fatalf("re-weight changed status or counts: %+v", got)
		}
	})
	t.Run("name and description", func(t *testing.T) {
		e.create("p-desc", "")
		e.expect(patch("p-desc", `{"version":1,"description":"why"}`), http.StatusOK, nil)
		e.expect(patch("p-desc", `{"version":2,"description":""}`), http.StatusOK, nil)
		if v := e.get("p-desc"); v.Version != 3 || v.Description != "" || v.Name != "Name of p-desc" {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("add variant", func(t *testing.T) {
		e.create("p-add", `"status":"active"`)
		e.expect(patch("p-add", `{"version":1,"variants":[`+three+`]}`), http.StatusOK, nil)
		v := e.get("p-add")
		if !reflect.DeepEqual(variantKeys(v), []string{"control", "treatment", "extra"}) || v.Version != 2 {
			t.Fatalf("%+v", v)
		}
		// The new variant can be assigned to.
		e.assign("p-add", "u1", "extra")
	})
	t.Run("remove assigned variant", func(t *testing.T) {
		e.create("p-inuse", `"status":"active"`)
		e.expect(patch("p-inuse", `{"version":1,"variants":[`+three+`]}`), http.StatusOK, nil)
		e.assign("p-inuse", "u1", "extra")
		httpapitest.ExpectError(t, patch("p-inuse", `{"version":2,"variants":[{"key":"control","weight":1},{"key":"treatment","weight":1}]}`), http.StatusConflict, experiment.CodeVariantInUse)
		v := e.get("p-inuse")
		if !reflect.DeepEqual(variantKeys(v), []string{"control", "treatment", "extra"}) || v.Version != 2 {
			t.Fatalf("a refused removal changed the experiment: %+v", v)
		}
		// Weight 0 is the way out.
		e.expect(patch("p-inuse", `{"version":2,"variants":[{"key":"control","weight":1},{"key":"treatment","weight":1},{"key":"extra","weight":0}]}`), http.StatusOK, nil)
	})
	t.Run("remove variant before start", func(t *testing.T) {
		// A draft has no assignments: its variants can be removed. Once
		// started, assignments are unit-local writes that no shared item
		// tracks, so removal is refused (weight 0 instead).
		e.create("p-rm", "")
		e.expect(patch("p-rm", `{"version":1,"variants":[`+three+`]}`), http.StatusOK, nil)
		e.expect(patch("p-rm", `{"version":2,"variants":[{"key":"control","weight":1},{"key":"treatment","weight":1}]}`), http.StatusOK, nil)
		v := e.get("p-rm")
		if !reflect.DeepEqual(variantKeys(v), []string{"control", "treatment"}) || v.Version != 3 {
			t.Fatalf("%+v", v)
		}
		e.act(routes.AdminStart, "p-rm")
		e.expect(patch("p-rm", `{"version":4,"variants":[`+three+`]}`), http.StatusOK, nil)
		httpapitest.ExpectError(t, patch("p-rm", `{"version":5,"variants":[{"key":"control","weight":1},{"key":"treatment","weight":1}]}`), http.StatusConflict, experiment.CodeVariantInUse)
	})
	t.Run("control changed", func(t *testing.T) {
		e.create("p-ctl", "")
		for _, vs := range []string{
			`[{"key":"treatment","weight":1},{"key":"control","weight":1}]`,
			`[{"key":"baseline","weight":1},{"key":"treatment","weight":1}]`,
		} {
			eb := httpapitest.ExpectError(t, patch("p-ctl", `{"version":1,"variants":`+vs+`}`), http.StatusConflict, experiment.CodeControlChanged)
			if eb.Error.Details["control"] != "control" {
				t.Errorf("details %v", eb.Error.Details)
			}
		}
		if v := e.get("p-ctl"); v.Version != 1 || v.Variants[0].Key != "control" {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("unknown experiment", func(t *testing.T) {
		httpapitest.ExpectError(t, patch("p-none", `{"version":1,"name":"x"}`), http.StatusNotFound, experiment.CodeNotFound)
	})
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	actions := []struct {
		name  string
		route routes.Route
	}{
		{"start", routes.AdminStart},
		{"pause", routes.AdminPause},
		{"resume", routes.AdminResume},
		{"end", routes.AdminEnd},
	}
	// How to reach each status from a new draft.
	reach := map[string][]routes.Route{
		"draft":  nil,
		"active": {routes.AdminStart},
		"paused": {routes.AdminStart, routes.AdminPause},
		"ended":  {routes.AdminStart, routes.AdminEnd},
	}
	allowed := map[string]map[string]string{ // status -> action -> new status
		"draft":  {"start": "active"},
		"active": {"pause": "paused", "end": "ended"},
		"paused": {"resume": "active", "end": "ended"},
		"ended":  {},
	}
	for _, status := range []string{"draft", "active", "paused", "ended"} {
		for _, a := range actions {
			t.Run(status+"/"+a.name, func(t *testing.T) {
				key := "lc-" + status + "-" + a.name
				e.create(key, "")
				for _, r := range reach[status] {
					e.act(r, key)
				}
				before := e.get(key)
				if string(before.Status) != status || (before.StartedAt == nil) != (status == "draft") {
					t.Fatalf("set-up reached %s, started at %v", before.Status, before.StartedAt)
				}
				resp := e.call(a.route, key, "", nil)
				if to, ok := allowed[status][a.name]; ok {
					var v adminapi.ExperimentView
					e.expect(resp, http.StatusOK, &v)
					if string(v.Status) != to || v.Version != before.Version+1 || v.UpdatedBy != adminKeyID {
						t.Fatalf("%s from %s: %+v, want status %s version %d", a.name, status, v, to, before.Version+1)
					}
					if got := e.get(key); string(got.Status) != to {
						t.Fatalf("stored status %s, want %s", got.Status, to)
					}
					// The first start is recorded, and kept by later moves.
					if v.StartedAt == nil || (before.StartedAt != nil && *v.StartedAt != *before.StartedAt) {
						t.Fatalf("%s from %s: started_at %v, before %v", a.name, status, v.StartedAt, before.StartedAt)
					}
					return
				}
				eb := httpapitest.ExpectError(t, resp, http.StatusConflict, experiment.CodeInvalidTransition)
				if eb.Error.Details["status"] != status || eb.Error.Details["action"] != a.name {
					t.Fatalf("details %v, want status %s action %s", eb.Error.Details, status, a.name)
				}
				if got := e.get(key); string(got.Status) != status || got.Version != before.Version {
					t.Fatalf("a refused transition changed the experiment: %+v", got)
				}
			})
		}
	}
	t.Run("unknown experiment", func(t *testing.T) {
		for _, a := range actions {
			httpapitest.ExpectError(t, e.call(a.route, "lc-none", "", nil), http.StatusNotFound, experiment.CodeNotFound)
		}
	})
	t.Run("invalid key", func(t *testing.T) {
		httpapitest.ExpectError(t, e.call(routes.AdminStart, "Bad", "", nil), http.StatusBadRequest, fault.CodeInvalidKey)
	})
}

func TestArchive(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.create("gone", `"status":"active"`)
	e.create("kept", "")
	assign := assignmentapi.New(quiet, assignment.New(snapshot.New(e.st, 0), e.st))
	client := func(user string) httpapi.Response {
		t.Helper()
		resp, err := assign(ctx, httpapitest.Request("gone", user, ""))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var first assignmentapi.Response
	resp := client("alice")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("assignment before archive: %d %s", resp.StatusCode, resp.Body)
	}
	httpapitest.Decode(t, resp, &first)

	resp = e.call(routes.AdminArchive, "gone", "", nil)
	e.expect(resp, http.StatusNoContent, nil)
	if resp.Body != "" {
		t.Fatalf("204 with a body %q", resp.Body)
	}

	for _, tc := range []struct {
		name  string
		route routes.Route
		body  string
	}{
		{"get", routes.AdminGet, ""},
		{"patch", routes.AdminUpdate, `{"version":2,"name":"x"}`},
		{"start", routes.AdminStart, ""},
		{"pause", routes.AdminPause, ""},
		{"resume", routes.AdminResume, ""},
		{"end", routes.AdminEnd, ""},
		{"history", routes.AdminHistory, ""},
		{"archive again", routes.AdminArchive, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			httpapitest.ExpectError(t, e.call(tc.route, "gone", tc.body, nil), http.StatusNotFound, experiment.CodeNotFound)
		})
	}
	t.Run("key never reused", func(t *testing.T) {
		httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("gone", ""), nil), http.StatusConflict, experiment.CodeExists)
	})
	t.Run("client assignment", func(t *testing.T) {
		for _, user := range []string{"alice", "bob"} {
			httpapitest.ExpectError(t, client(user), http.StatusNotFound, experiment.CodeNotFound)
		}
	})
	t.Run("assignment items kept", func(t *testing.T) {
		a, err := e.st.GetAssignment(ctx, "gone", experiment.UserUnit("alice"), true)
		if err != nil {
			t.Fatalf("assignment of alice after archive: %v", err)
		}
		if a.Variant != first.Variant {
			t.Fatalf("stored variant %s, served %s", a.Variant, first.Variant)
		}
	})
	t.Run("not listed", func(t *testing.T) {
		p := e.list(nil)
		if len(p.Experiments) != 1 || p.Experiments[0].Key != "kept" {
			t.Fatalf("listing %+v", p.Experiments)
		}
		if p.Totals["active"] != 0 || p.Totals["draft"] != 1 {
			t.Fatalf("totals %v", p.Totals)
		}
		if _, ok := p.Totals["archived"]; ok {
			t.Fatalf("totals show archived: %v", p.Totals)
		}
		if len(e.list(map[string]string{"status": "active"}).Experiments) != 0 {
			t.Fatalf("archived experiment listed as active")
		}
	})
	t.Run("unknown", func(t *testing.T) {
		httpapitest.ExpectError(t, e.call(routes.AdminArchive, "never", "", nil), http.StatusNotFound, experiment.CodeNotFound)
	})
}

type historyPage struct {
	History []struct {
		Version int64           `json:"version"`
		Action  string          `json:"action"`
		By      string          `json:"by"`
		At      string          `json:"at"`
		Details json.RawMessage `json:"details"`
	} `json:"history"`
	NextCursor *string `json:"next_cursor"`
}

func TestHistory(t *testing.T) {
	e := newEnv(t)
	e.create("h", "")
	e.expect(e.call(routes.AdminUpdate, "h", `{"version":1,"name":"renamed"}`, nil), http.StatusOK, nil)
	e.act(routes.AdminStart, "h")
	e.act(routes.AdminPause, "h")
	e.act(routes.AdminEnd, "h")

	var all historyPage
	e.expect(e.call(routes.AdminHistory, "h", "", nil), http.StatusOK, &all)
	wantActions := []string{"end", "pause", "start", "update", "create"}
	var actions []string
	for i, c := range all.History {
		actions = append(actions, c.Action)
		if c.By != adminKeyID {
			t.Errorf("entry %d by %q", i, c.By)
		}
		if c.Version != int64(5-i) {
			t.Errorf("entry %d version %d, want %d", i, c.Version, 5-i)
		}
		if i > 0 && c.At >= all.History[i-1].At {
			t.Errorf("entry %d at %s is not older than %s", i, c.At, all.History[i-1].At)
		}
	}
	if !reflect.DeepEqual(actions, wantActions) || all.NextCursor != nil {
		t.Fatalf("actions %v (cursor %v), want %v", actions, all.NextCursor, wantActions)
	}
	details := func(i int) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(all.History[i].Details, &m); err != nil {
			t.Fatalf("details of %d: %s: %v", i, all.History[i].Details, err)
		}
		return m
	}
	for i, want := range []map[string]any{
		{"from": "paused", "to": "ended"},
		{"from": "active", "to": "paused"},
		{"from": "draft", "to": "active"},
		{"name": "renamed"},
		{},
	} {
		if got := details(i); !reflect.DeepEqual(got, want) {
			t.Errorf("details of %s = %v, want %v", all.History[i].Action, got, want)
		}
	}

	t.Run("paging", func(t *testing.T) {
		var seen []string
		q := map[string]string{"limit": "2"}
		for pages := 0; pages < 10; pages++ {
			var p historyPage
			e.expect(e.call(routes.AdminHistory, "h", "", q), http.StatusOK, &p)
			if len(p.History) > 2 {
				t.Fatalf("page of %d", len(p.History))
			}
			for _, c := range p.History {
				seen = append(seen, c.Action)
			}
			if p.NextCursor == nil {
				break
			}
			q["cursor"] = *p.NextCursor
		}
		if !reflect.DeepEqual(seen, wantActions) {
			t.Fatalf("paged %v, want %v", seen, wantActions)
		}
	})
	t.Run("errors", func(t *testing.T) {
		httpapitest.ExpectError(t, e.call(routes.AdminHistory, "h", "", map[string]string{"limit": "0"}), http.StatusBadRequest, fault.CodeValidationFailed)
		httpapitest.ExpectError(t, e.call(routes.AdminHistory, "h", "", map[string]string{"cursor": "%%"}), http.StatusBadRequest, fault.CodeInvalidCursor)
		httpapitest.ExpectError(t, e.call(routes.AdminHistory, "none", "", nil), http.StatusNotFound, experiment.CodeNotFound)
	})
	t.Run("archive is recorded", func(t *testing.T) {
		e.create("h2", "")
		e.expect(e.call(routes.AdminArchive, "h2", "", nil), http.StatusNoContent, nil)
		h, err := e.st.History(context.Background(), "h2", 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Items) != 2 || h.Items[0].Action != "archive" || h.Items[0].By != adminKeyID || string(h.Items[0].Details) != `{"from":"draft"}` {
			t.Fatalf("history %+v", h.Items)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	revoke := func(id string) httpapi.Response {
		t.Helper()
		req := httpapitest.AdminRequest(routes.AdminRevokeKey, "", "")
		req.PathParameters["id"] = id
		return e.serve(req)
	}
	type listed struct {
		APIKeys    []map[string]any `json:"api_keys"`
		NextCursor *string          `json:"next_cursor"`
	}
	list := func(q map[string]string) (listed, string) {
		t.Helper()
		var l listed
		resp := e.call(routes.AdminListKeys, "", "", q)
		e.expect(resp, http.StatusOK, &l)
		return l, resp.Body
	}

	var created []adminapi.KeyView
	for _, tc := range []struct{ name, role string }{{"ios app", "client"}, {"ops", "admin"}, {"web", "client"}} {
		var k adminapi.KeyView
		e.expect(e.call(routes.AdminCreateKey, "", fmt.Sprintf(`{"name":%q,"role":%q}`, tc.name, tc.role), nil), http.StatusCreated, &k)
		if !apikey.ValidKeyID(k.ID) || k.Name != tc.name || k.Role != tc.role || k.CreatedBy != adminKeyID || k.LastUsedAt != nil || k.RevokedAt != nil {
			t.Fatalf("created %+v", k)
		}
		if id, ok := apikey.ParseKeyID(k.Key); !ok || id != k.ID {
			t.Fatalf("key %q does not carry id %s", k.Key, k.ID)
		}
		created = append(created, k)
	}

	l, raw := list(nil)
	if len(l.APIKeys) != 3 || l.NextCursor != nil {
		t.Fatalf("listing %s", raw)
	}
	for i, k := range l.APIKeys {
		if _, ok := k["key"]; ok {
			t.Fatalf("listing shows a key secret: %v", k)
		}
		if want := created[len(created)-1-i]; k["id"] != want.ID || k["name"] != want.Name {
			t.Errorf("item %d = %v, want %s (newest first)", i, k, want.ID)
		}
	}
	for _, k := range created {
		if strings.Contains(raw, k.Key) {
			t.Fatalf("listing contains the secret of %s", k.ID)
		}
	}
	l, _ = list(map[string]string{"limit": "2"})
	if len(l.APIKeys) != 2 || l.NextCursor == nil {
		t.Fatalf("limited listing %+v", l)
	}
	l, _ = list(map[string]string{"limit": "2", "cursor": *l.NextCursor})
	if len(l.APIKeys) != 1 || l.APIKeys[0]["id"] != created[0].ID {
		t.Fatalf("second page %+v", l)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminListKeys, "", "", map[string]string{"limit": "101"}), http.StatusBadRequest, fault.CodeValidationFailed)
	httpapitest.ExpectError(t, e.call(routes.AdminListKeys, "", "", map[string]string{"cursor": "zzz"}), http.StatusBadRequest, fault.CodeInvalidCursor)

	t.Run("revoke", func(t *testing.T) {
		resp := revoke(created[1].ID)
		e.expect(resp, http.StatusNoContent, nil)
		l, _ := list(nil)
		var revokedAt any
		for _, k := range l.APIKeys {
			if k["id"] == created[1].ID {
				revokedAt = k["revoked_at"]
			} else if k["revoked_at"] != nil {
				t.Errorf("%v revoked too", k)
			}
		}
		if s, _ := revokedAt.(string); s == "" {
			t.Fatalf("revoked key shows revoked_at %v", revokedAt)
		}
		// Revoking again is harmless and keeps the first time.
		e.expect(revoke(created[1].ID), http.StatusNoContent, nil)
		l, _ = list(nil)
		for _, k := range l.APIKeys {
			if k["id"] == created[1].ID && k["revoked_at"] != revokedAt {
				t.Fatalf("revoked_at moved from %v to %v", revokedAt, k["revoked_at"])
			}
		}
	})
	for _, id := range []string{"aaaaaaaaaaaaaaaa", "nope", "", strings.ToUpper(created[0].ID), created[0].ID + "a", "abk_" + created[0].ID} {
		t.Run("revoke unknown "+id, func(t *testing.T) {
			httpapitest.ExpectError(t, revoke(id), http.StatusNotFound, keys.CodeKeyNotFound)
		})
	}
	for _, tc := range []struct {
		body   string
		code   string
		fields []string
	}{
		{`{"name":"x","role":"root"}`, fault.CodeValidationFailed, []string{"role"}},
		{`{"name":"x","role":"Admin"}`, fault.CodeValidationFailed, []string{"role"}},
		{`{"name":"x"}`, fault.CodeValidationFailed, []string{"role"}},
		{`{"role":"client"}`, fault.CodeValidationFailed, []string{"name"}},
		{`{"name":"","role":""}`, fault.CodeValidationFailed, []string{"name", "role"}},
		{`{"name":"x","role":"client","scope":"all"}`, fault.CodeValidationFailed, []string{"scope"}},
		{`[]`, fault.CodeInvalidJSON, nil},
		{``, fault.CodeInvalidJSON, nil},
	} {
		t.Run("create "+tc.body, func(t *testing.T) {
			eb := httpapitest.ExpectError(t, e.call(routes.AdminCreateKey, "", tc.body, nil), http.StatusBadRequest, tc.code)
			if tc.fields != nil {
				if got := keysOf(fieldsOf(t, eb)); !reflect.DeepEqual(got, tc.fields) {
					t.Fatalf("fields %v, want %v", got, tc.fields)
				}
			}
		})
	}
	if l, _ := list(nil); len(l.APIKeys) != 3 {
		t.Fatalf("refused creates stored keys: %d", len(l.APIKeys))
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	for _, r := range []routes.Route{routes.AdminResults, routes.AdminRecount, routes.ClientEvents, {Method: "PUT", Path: "/v1/admin/experiments"}} {
		t.Run(r.Key(), func(t *testing.T) {
			httpapitest.ExpectError(t, e.call(r, "x", "", nil), http.StatusNotFound, fault.CodeNotFound)
		})
	}
	t.Run("client key refused", func(t *testing.T) {
		req := httpapitest.Request("x", "alice", "")
		req.RouteKey = routes.AdminGet.Key()
		resp := e.serve(req)
		httpapitest.ExpectError(t, resp, http.StatusForbidden, fault.CodeForbidden)
	})
	t.Run("no credentials", func(t *testing.T) {
		req := httpapitest.AdminRequest(routes.AdminList, "", "")
		req.RequestContext.Authorizer = nil
		httpapitest.ExpectError(t, e.serve(req), http.StatusUnauthorized, fault.CodeUnauthenticated)
	})
}

// TestNullWeightRefused: null is not a weight (it would decode as 0).
func TestNullWeightRefused(t *testing.T) {
	e := newEnv(t)
	resp := e.call(routes.AdminCreate, "", `{"key":"nw","name":"n","variants":[{"key":"a","weight":null},{"key":"b","weight":1}]}`, nil)
	body := httpapitest.ExpectError(t, resp, http.StatusBadRequest, fault.CodeValidationFailed)
	if _, ok := body.Error.Details["fields"].(map[string]any)["variants[0].weight"]; !ok {
		t.Fatalf("fields %v", body.Error.Details["fields"])
	}
}

// TestBodiesMustBeJSONInUTF8: invalid UTF-8 would be stored altered (as
// U+FFFD) and non-JSON white space is not JSON: both are refused.
func TestBodiesMustBeJSONInUTF8(t *testing.T) {
	e := newEnv(t)
	for _, body := range []string{
		"{\"key\":\"u8\",\"name\":\"n\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"payload\":\"\xff\xfe\"},{\"key\":\"b\",\"weight\":1}]}",
		"{\"key\":\"u8\",\"name\":\"n\",\"variants\":[{\"key\":\"a\",\"weight\":1},{\"key\":\"b\",\"weight\":1}]}\v",
	} {
		httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body, nil), http.StatusBadRequest, fault.CodeInvalidJSON)
	}
}

// TestWeightsDynamoDBCannotStore: weights outside DynamoDB's number range
// (once a 500 ADMIN_FAILED) and all-zero weights are refused at definition
// time with a message that says why, on create and on PATCH.
func TestWeightsDynamoDBCannotStore(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ weights, field, msg string }{
		{`1e308, 1e308`, "variants[0].weight", "must be 0 or between 1e-130 and 1e125"},
		{`5e-324, 1`, "variants[0].weight", "must be 0 or between 1e-130 and 1e125"},
		{`1, 1e126`, "variants[1].weight", "must be 0 or between 1e-130 and 1e125"},
		{`0, 0`, "variants", "at least one weight must be positive: with all weights 0 no unit can be assigned"},
	} {
		w := strings.Split(tc.weights, ", ")
		resp := e.call(routes.AdminCreate, "", `{"key":"big","name":"n","variants":[{"key":"a","weight":`+w[0]+`},{"key":"b","weight":`+w[1]+`}]}`, nil)
		body := httpapitest.ExpectError(t, resp, http.StatusBadRequest, fault.CodeValidationFailed)
		if got := body.Error.Details["fields"].(map[string]any)[tc.field]; got != tc.msg {
			t.Fatalf("weights %s: fields %v", tc.weights, body.Error.Details["fields"])
		}
	}
	e.create("ok", "")
	resp := e.call(routes.AdminUpdate, "ok", `{"version":1,"variants":[{"key":"control","weight":1e-131},{"key":"treatment","weight":1}]}`, nil)
	httpapitest.ExpectError(t, resp, http.StatusBadRequest, fault.CodeValidationFailed)
}

// TestPrimaryEvent: an experiment may name the event it is judged on, one
// of its events, on create and by PATCH (in any status; "" clears it).
func TestPrimaryEvent(t *testing.T) {
	e := newEnv(t)
	v := e.create("pe", `"events":["signup","purchase"],"primary_event":"purchase"`)
	if v.PrimaryEvent == nil || *v.PrimaryEvent != "purchase" {
		t.Fatalf("created %+v", v.PrimaryEvent)
	}
	if got := e.get("pe"); got.PrimaryEvent == nil || *got.PrimaryEvent != "purchase" {
		t.Fatalf("read back %+v", got.PrimaryEvent)
	}
	eb := httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("pe-bad", `"events":["signup"],"primary_event":"purchase"`), nil), http.StatusBadRequest, fault.CodeValidationFailed)
	if _, ok := fieldsOf(t, eb)["primary_event"]; !ok {
		t.Fatalf("fields %v", eb.Error.Details)
	}
	e.act(routes.AdminStart, "pe")
	// Dropping the primary event from the events is refused; moving it is not.
	httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "pe", `{"version":2,"events":["signup"]}`, nil), http.StatusBadRequest, fault.CodeValidationFailed)
	e.expect(e.call(routes.AdminUpdate, "pe", `{"version":2,"primary_event":"signup"}`, nil), http.StatusOK, &v)
	if v.PrimaryEvent == nil || *v.PrimaryEvent != "signup" {
		t.Fatalf("patched %+v", v.PrimaryEvent)
	}
	e.expect(e.call(routes.AdminUpdate, "pe", `{"version":3,"primary_event":""}`, nil), http.StatusOK, &v)
	if v.PrimaryEvent != nil {
		t.Fatalf("cleared %+v", *v.PrimaryEvent)
	}
	if _, err := e.st.GetExperiment(context.Background(), "pe-bad"); err == nil {
		t.Fatal("the refused create wrote")
	}
}
