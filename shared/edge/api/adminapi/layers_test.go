package adminapi_test

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
)

func (e *env) createLayer(key string) adminapi.LayerView {
	e.t.Helper()
	var v adminapi.LayerView
	e.expect(e.call(routes.AdminCreateLayer, "", fmt.Sprintf(`{"key":%q,"name":"Layer %s"}`, key, key), nil), http.StatusCreated, &v)
	return v
}

func (e *env) getLayer(key string) adminapi.LayerView {
	e.t.Helper()
	var v adminapi.LayerView
	e.expect(e.call(routes.AdminGetLayer, key, "", nil), http.StatusOK, &v)
	return v
}

// inLayer is the extra body of an experiment holding [start, end) of l.
func inLayer(l string, start, end float64) string {
	return fmt.Sprintf(`"layer":{"key":%q,"start":%v,"end":%v}`, l, start, end)
}

func holders(v adminapi.LayerView) []string {
	out := []string{}
	for _, h := range v.Allocation {
		out = append(out, fmt.Sprintf("%s:%s:[%v,%v)", h.Experiment, h.Status, h.Start, h.End))
	}
	return out
}

func TestLayerResource(t *testing.T) {
	e := newEnv(t)
	var v adminapi.LayerView
	e.expect(e.call(routes.AdminCreateLayer, "", `{"key":"checkout","name":"Checkout","description":"one test at a time"}`, nil), http.StatusCreated, &v)
	if v.Key != "checkout" || v.Name != "Checkout" || v.Description != "one test at a time" || v.Version != 1 ||
		v.CreatedBy != adminKeyID || v.UpdatedBy != adminKeyID || v.CreatedAt == "" || len(v.Allocation) != 0 ||
		!reflect.DeepEqual(v.Free, []layer.Range{{Start: 0, End: 1}}) {
		t.Fatalf("created %+v", v)
	}
	if got := e.getLayer("checkout"); !reflect.DeepEqual(got, v) {
		t.Fatalf("get %+v, want %+v", got, v)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreateLayer, "", `{"key":"checkout","name":"Again"}`, nil), http.StatusConflict, layer.CodeExists)

	// Bad input: 4xx with a stable code, and nothing stored.
	for _, tc := range []struct {
		body   string
		status int
		code   string
		field  string
	}{
		{`{"key":"Bad Key","name":"n"}`, http.StatusBadRequest, fault.CodeValidationFailed, "key"},
		{`{"key":"ok","name":"  "}`, http.StatusBadRequest, fault.CodeValidationFailed, "name"},
		{`{"key":"ok","name":"n","extra":1}`, http.StatusBadRequest, fault.CodeValidationFailed, "extra"},
		{`{"key":"ok","name":5}`, http.StatusBadRequest, fault.CodeValidationFailed, "name"},
		{`[]`, http.StatusBadRequest, fault.CodeInvalidJSON, ""},
	} {
		eb := httpapitest.ExpectError(t, e.call(routes.AdminCreateLayer, "", tc.body, nil), tc.status, tc.code)
		if tc.field != "" && fieldsOf(t, eb)[tc.field] == nil {
			t.Errorf("%s: fields %v lack %q", tc.body, eb.Error.Details, tc.field)
		}
	}
	httpapitest.ExpectError(t, e.call(routes.AdminGetLayer, "ok", "", nil), http.StatusNotFound, layer.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminGetLayer, "Bad Key", "", nil), http.StatusBadRequest, fault.CodeInvalidKey)

	// Paged like the experiment list: newest first.
	for _, k := range []string{"l2", "l3", "l4"} {
		e.createLayer(k)
	}
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := map[string]string{"limit": "2"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		var out adminapi.LayersResponse
		e.expect(e.call(routes.AdminListLayers, "", "", q), http.StatusOK, &out)
		for _, l := range out.Layers {
			seen = append(seen, l.Key)
		}
		if out.NextCursor == nil {
			break
		}
		cursor = *out.NextCursor
	}
	if want := []string{"l4", "l3", "l2", "checkout"}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("listed %v, want %v", seen, want)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminListLayers, "", "", map[string]string{"limit": "0"}), http.StatusBadRequest, fault.CodeValidationFailed)
	httpapitest.ExpectError(t, e.call(routes.AdminListLayers, "", "", map[string]string{"cursor": "bogus"}), http.StatusBadRequest, fault.CodeInvalidCursor)

	// Archive: gone from reads and listings, the key never reused.
	e.expect(e.call(routes.AdminArchiveLayer, "l3", "", nil), http.StatusNoContent, nil)
	httpapitest.ExpectError(t, e.call(routes.AdminGetLayer, "l3", "", nil), http.StatusNotFound, layer.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminArchiveLayer, "l3", "", nil), http.StatusNotFound, layer.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminCreateLayer, "", `{"key":"l3","name":"Again"}`, nil), http.StatusConflict, layer.CodeExists)
	var out adminapi.LayersResponse
	e.expect(e.call(routes.AdminListLayers, "", "", nil), http.StatusOK, &out)
	if len(out.Layers) != 3 {
		t.Fatalf("listing after archive: %+v", out.Layers)
	}
}

// An experiment may only name a live layer.
func TestExperimentNeedsALiveLayer(t *testing.T) {
	e := newEnv(t)
	eb := httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("a", inLayer("nope", 0, 0.5)), nil), http.StatusBadRequest, fault.CodeValidationFailed)
	if fieldsOf(t, eb)["layer.key"] == nil {
		t.Fatalf("fields %v", eb.Error.Details)
	}
	e.createLayer("old")
	e.expect(e.call(routes.AdminArchiveLayer, "old", "", nil), http.StatusNoContent, nil)
	eb = httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("a", inLayer("old", 0, 0.5)), nil), http.StatusBadRequest, fault.CodeValidationFailed)
	if fieldsOf(t, eb)["layer.key"] != "names an archived layer" {
		t.Fatalf("fields %v", eb.Error.Details)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminGet, "a", "", nil), http.StatusNotFound, "EXPERIMENT_NOT_FOUND")

	// Moving a draft into a missing layer is refused too, and changes nothing.
	e.create("b", "")
	httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "b", `{"version":1,`+inLayer("nope", 0, 1)+`}`, nil), http.StatusBadRequest, fault.CodeValidationFailed)
	if v := e.get("b"); v.Version != 1 || v.Layer != nil {
		t.Fatalf("refused patch changed the experiment: %+v", v)
	}
}

// Slices of one layer are exclusive among experiments that have not ended;
// the allocation shows who holds what, by start, and what is free.
func TestLayerExclusiveSlices(t *testing.T) {
	e := newEnv(t)
	e.createLayer("checkout")
	e.create("a", inLayer("checkout", 0.5, 1))
	e.create("b", inLayer("checkout", 0, 0.25))

	// Overlap refused, naming the holder and its range; nothing stored.
	eb := httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("c", inLayer("checkout", 0.2, 0.6)), nil), http.StatusConflict, layer.CodeRangeOverlap)
	d := eb.Error.Details
	if d["experiment"] != "b" || d["start"] != 0.0 || d["end"] != 0.25 || d["layer"] != "checkout" || d["status"] != "draft" {
		t.Fatalf("overlap details %v", d)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminGet, "c", "", nil), http.StatusNotFound, "EXPERIMENT_NOT_FOUND")
	eb = httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("c", inLayer("checkout", 0.3, 0.75)), nil), http.StatusConflict, layer.CodeRangeOverlap)
	if eb.Error.Details["experiment"] != "a" || eb.Error.Details["start"] != 0.5 || eb.Error.Details["end"] != 1.0 {
		t.Fatalf("overlap details %v", eb.Error.Details)
	}

	// Adjacent is fine (slices are half-open).
	e.create("c", inLayer("checkout", 0.25, 0.4))
	l := e.getLayer("checkout")
	if want := []string{"b:draft:[0,0.25)", "c:draft:[0.25,0.4)", "a:draft:[0.5,1)"}; !reflect.DeepEqual(holders(l), want) {
		t.Fatalf("allocation %v, want %v", holders(l), want)
	}
	if !reflect.DeepEqual(l.Free, []layer.Range{{Start: 0.4, End: 0.5}}) {
		t.Fatalf("free %v", l.Free)
	}

	// A patch into a held range is refused and changes nothing; a draft
	// may move within free space.
	eb = httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "c", `{"version":1,`+inLayer("checkout", 0.3, 0.55)+`}`, nil), http.StatusConflict, layer.CodeRangeOverlap)
	if eb.Error.Details["experiment"] != "a" {
		t.Fatalf("overlap details %v", eb.Error.Details)
	}
	if v := e.get("c"); v.Version != 1 || v.Layer.End != 0.4 {
		t.Fatalf("refused patch changed c: %+v", v)
	}
	e.expect(e.call(routes.AdminUpdate, "c", `{"version":1,`+inLayer("checkout", 0.25, 0.5)+`}`, nil), http.StatusOK, nil)
	if l := e.getLayer("checkout"); len(l.Free) != 0 {
		t.Fatalf("free after growing c: %v", l.Free)
	}

	// The allocation follows the lifecycle; ending frees the range.
	e.act(routes.AdminStart, "a")
	e.act(routes.AdminPause, "a")
	if got := holders(e.getLayer("checkout")); got[2] != "a:paused:[0.5,1)" {
		t.Fatalf("allocation after pause %v", got)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreate, "", body("d", inLayer("checkout", 0.6, 0.7)), nil), http.StatusConflict, layer.CodeRangeOverlap)
	e.act(routes.AdminEnd, "a")
	l = e.getLayer("checkout")
	if want := []string{"b:draft:[0,0.25)", "c:draft:[0.25,0.5)"}; !reflect.DeepEqual(holders(l), want) ||
		!reflect.DeepEqual(l.Free, []layer.Range{{Start: 0.5, End: 1}}) {
		t.Fatalf("after end: allocation %v free %v", holders(l), l.Free)
	}
	e.create("d", inLayer("checkout", 0.6, 0.7)+`,"status":"active"`)

	// Archiving frees the range too.
	e.expect(e.call(routes.AdminArchive, "b", "", nil), http.StatusNoContent, nil)
	e.create("f", inLayer("checkout", 0, 0.2))
	// Clearing a draft's layer frees its range.
	e.expect(e.call(routes.AdminUpdate, "c", `{"version":2,"layer":null}`, nil), http.StatusOK, nil)
	l = e.getLayer("checkout")
	if want := []string{"f:draft:[0,0.2)", "d:active:[0.6,0.7)"}; !reflect.DeepEqual(holders(l), want) {
		t.Fatalf("allocation %v, want %v", holders(l), want)
	}
	if want := []layer.Range{{Start: 0.2, End: 0.6}, {Start: 0.7, End: 1}}; !reflect.DeepEqual(l.Free, want) {
		t.Fatalf("free %v, want %v", l.Free, want)
	}

	// Layers are independent of each other; a draft moving from one to
	// another is checked against the other and frees its first slice.
	e.createLayer("pricing")
	e.create("g", inLayer("pricing", 0, 1))
	httpapitest.ExpectError(t, e.call(routes.AdminUpdate, "f", `{"version":1,`+inLayer("pricing", 0, 0.5)+`}`, nil), http.StatusConflict, layer.CodeRangeOverlap)
	e.expect(e.call(routes.AdminUpdate, "g", `{"version":1,`+inLayer("checkout", 0.2, 0.6)+`}`, nil), http.StatusOK, nil)
	if got := holders(e.getLayer("pricing")); len(got) != 0 {
		t.Fatalf("pricing still holds %v", got)
	}
	if got := holders(e.getLayer("checkout")); len(got) != 3 || got[1] != "g:draft:[0.2,0.6)" {
		t.Fatalf("checkout holds %v", got)
	}
}

// A layer is archived only when no experiment holds a slice of it.
func TestLayerArchiveRefusedWhenHeld(t *testing.T) {
	e := newEnv(t)
	e.createLayer("checkout")
	e.create("a", inLayer("checkout", 0, 0.5)+`,"status":"active"`)
	eb := httpapitest.ExpectError(t, e.call(routes.AdminArchiveLayer, "checkout", "", nil), http.StatusConflict, layer.CodeNotEmpty)
	hs, _ := eb.Error.Details["holders"].([]any)
	if len(hs) != 1 || hs[0].(map[string]any)["experiment"] != "a" {
		t.Fatalf("details %v", eb.Error.Details)
	}
	e.getLayer("checkout")
	e.act(routes.AdminEnd, "a")
	e.expect(e.call(routes.AdminArchiveLayer, "checkout", "", nil), http.StatusNoContent, nil)
	// The ended experiment keeps its definition, slice included.
	if v := e.get("a"); v.Layer == nil || v.Layer.Key != "checkout" {
		t.Fatalf("ended experiment %+v", v)
	}
}

// Concurrent admin requests claiming overlapping slices: exactly one wins,
// whatever the interleaving, and the allocation never holds an overlap.
func TestLayerConcurrentClaims(t *testing.T) {
	e := newEnv(t)
	e.createLayer("race")
	const n = 8
	run := func(req func(i int) httpapi.Response) []httpapi.Response {
		out := make([]httpapi.Response, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out[i] = req(i)
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	count := func(resps []httpapi.Response, status int, code string) int {
		c := 0
		for _, r := range resps {
			if r.StatusCode == status && (code == "" || httpapitest.ExpectError(t, r, status, code).Error.Code == code) {
				c++
			}
		}
		return c
	}

	// Creates: each overlaps every other.
	resps := run(func(i int) httpapi.Response {
		return e.call(routes.AdminCreate, "", body(fmt.Sprintf("c%d", i), inLayer("race", float64(i)/100, 0.5+float64(i)/100)), nil)
	})
	if won, lost := count(resps, http.StatusCreated, ""), count(resps, http.StatusConflict, layer.CodeRangeOverlap); won != 1 || lost != n-1 {
		t.Fatalf("creates: %d won, %d refused as overlaps: %v", won, lost, resps)
	}
	if got := holders(e.getLayer("race")); len(got) != 1 {
		t.Fatalf("allocation %v", got)
	}

	// Patches of drafts into the same free range: one wins.
	e2 := newEnv(t)
	e2.createLayer("race")
	for i := range n {
		e2.create(fmt.Sprintf("p%d", i), "")
	}
	resps = run(func(i int) httpapi.Response {
		return e2.call(routes.AdminUpdate, fmt.Sprintf("p%d", i), `{"version":1,`+inLayer("race", 0.4, 0.6)+`}`, nil)
	})
	if won, lost := count(resps, http.StatusOK, ""), count(resps, http.StatusConflict, layer.CodeRangeOverlap); won != 1 || lost != n-1 {
		t.Fatalf("patches: %d won, %d refused as overlaps", won, lost)
	}

	// Disjoint claims at the same moment all land (the losers of each
	// round decide again on the allocation that moved).
	e3 := newEnv(t)
	e3.createLayer("race")
	resps = run(func(i int) httpapi.Response {
		return e3.call(routes.AdminCreate, "", body(fmt.Sprintf("d%d", i), inLayer("race", float64(i)/n, float64(i+1)/n)), nil)
	})
	if won := count(resps, http.StatusCreated, ""); won != n {
		t.Fatalf("disjoint creates: %d of %d landed: %v", won, n, resps)
	}
	if l := e3.getLayer("race"); len(l.Allocation) != n || len(l.Free) != 0 {
		t.Fatalf("allocation %v free %v", holders(l), l.Free)
	}

	// An archive racing a claim: either the claim lands and the archive is
	// refused, or the archive lands and the claim is refused.
	for i := range 6 {
		e4 := newEnv(t)
		e4.createLayer("race")
		var claim, archive httpapi.Response
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			claim = e4.call(routes.AdminCreate, "", body("x", inLayer("race", 0, 1)), nil)
		}()
		go func() { defer wg.Done(); archive = e4.call(routes.AdminArchiveLayer, "race", "", nil) }()
		wg.Wait()
		switch {
		case claim.StatusCode == http.StatusCreated && archive.StatusCode == http.StatusConflict:
			httpapitest.ExpectError(t, archive, http.StatusConflict, layer.CodeNotEmpty)
		case archive.StatusCode == http.StatusNoContent && claim.StatusCode == http.StatusBadRequest:
			httpapitest.ExpectError(t, claim, http.StatusBadRequest, fault.CodeValidationFailed)
		default:
			t.Fatalf("round %d: claim %d %s, archive %d %s", i, claim.StatusCode, claim.Body, archive.StatusCode, archive.Body)
		}
	}
}
