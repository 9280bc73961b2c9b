package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/edge/apispec/apispectest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/snapshot"
	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/holdout"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/holdouts"
)

type holdoutEnv struct {
	*env
	db *dynamodb.Client
}

func newHoldoutEnv(t *testing.T) *holdoutEnv {
	t.Helper()
	st, db, table := storetest.New(t)
	clock := newTicker()
	h := apispectest.Handler(t, routes.Admin, adminapi.Wire(lambdafn.Deps{Logger: quiet, Store: st, Definitions: snapshot.New(st, 0), Now: clock.now}))
	return &holdoutEnv{env: &env{t: t, table: table, st: st, h: h, clock: clock}, db: db}
}

func (e *holdoutEnv) createHoldout(body string) adminapi.HoldoutView {
	e.t.Helper()
	var v adminapi.HoldoutView
	e.expect(e.call(routes.AdminCreateHoldout, "", body, nil), http.StatusCreated, &v)
	return v
}

// items is every item of the table as text, sorted, so a test can show a
// request changed nothing.
func (e *holdoutEnv) items() []string {
	e.t.Helper()
	var out []string
	in := &dynamodb.ScanInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true)}
	for {
		page, err := e.db.Scan(context.Background(), in)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Items {
			out = append(out, fmt.Sprintf("%v", flatten(it)))
		}
		if page.LastEvaluatedKey == nil {
			sort.Strings(out)
			return out
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func flatten(it map[string]types.AttributeValue) map[string]any {
	out := map[string]any{}
	for k, v := range it {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = v.Value
		case *types.AttributeValueMemberN:
			out[k] = "n:" + v.Value
		case *types.AttributeValueMemberBOOL:
			out[k] = v.Value
		case *types.AttributeValueMemberL:
			var l []any
			for _, e := range v.Value {
				l = append(l, flatten(map[string]types.AttributeValue{"": e})[""])
			}
			out[k] = l
		default:
			out[k] = fmt.Sprintf("%T", v)
		}
	}
	return out
}

func TestHoldoutCreateGetList(t *testing.T) {
	e := newHoldoutEnv(t)
	v := e.createHoldout(`{"key":"global","name":"Global holdout","percent":5,"events":["purchase","signup"]}`)
	want := adminapi.HoldoutView{Key: "global", Name: "Global holdout", Percent: 5, Layers: []string{}, Events: []string{"purchase", "signup"},
		Status: holdout.Live, Version: 1, CreatedBy: adminKeyID, UpdatedBy: adminKeyID, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	if !reflect.DeepEqual(v, want) || v.CreatedAt == "" {
		t.Fatalf("created %+v, want %+v", v, want)
	}
	scoped := e.createHoldout(`{"key":"checkout-hold","name":"Checkout","percent":2.5,"layers":["checkout","pricing"]}`)
	if !reflect.DeepEqual(scoped.Layers, []string{"checkout", "pricing"}) || scoped.Percent != 2.5 || len(scoped.Events) != 0 {
		t.Fatalf("scoped %+v", scoped)
	}

	var got adminapi.HoldoutView
	e.expect(e.call(routes.AdminGetHoldout, "global", "", nil), http.StatusOK, &got)
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("get %+v, want %+v", got, v)
	}

	// Newest first, page by page.
	var page1, page2 adminapi.HoldoutsResponse
	e.expect(e.call(routes.AdminListHoldouts, "", "", map[string]string{"limit": "1"}), http.StatusOK, &page1)
	if len(page1.Holdouts) != 1 || page1.Holdouts[0].Key != "checkout-hold" || page1.NextCursor == nil {
		t.Fatalf("page 1 %+v", page1)
	}
	e.expect(e.call(routes.AdminListHoldouts, "", "", map[string]string{"limit": "1", "cursor": *page1.NextCursor}), http.StatusOK, &page2)
	if len(page2.Holdouts) != 1 || page2.Holdouts[0].Key != "global" {
		t.Fatalf("page 2 %+v", page2)
	}
	// Experiments' cursors are not holdouts'.
	var exps adminapi.ListResponse
	e.create("exp-a", "")
	e.create("exp-b", "")
	e.expect(e.call(routes.AdminList, "", "", map[string]string{"limit": "1"}), http.StatusOK, &exps)
	httpapitest.ExpectError(t, e.call(routes.AdminListHoldouts, "", "", map[string]string{"cursor": *exps.NextCursor}), http.StatusBadRequest, fault.CodeInvalidCursor)
	httpapitest.ExpectError(t, e.call(routes.AdminListHoldouts, "", "", map[string]string{"limit": "0"}), http.StatusBadRequest, fault.CodeValidationFailed)

	httpapitest.ExpectError(t, e.call(routes.AdminCreateHoldout, "", `{"key":"global","name":"Again","percent":1}`, nil), http.StatusConflict, holdout.CodeExists)
	httpapitest.ExpectError(t, e.call(routes.AdminGetHoldout, "missing", "", nil), http.StatusNotFound, holdout.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminGetHoldout, "Bad Key", "", nil), http.StatusBadRequest, fault.CodeInvalidKey)
}

// TestHoldoutBadInput: every bad field is named at once, and nothing is
// written.
func TestHoldoutBadInput(t *testing.T) {
	e := newHoldoutEnv(t)
	e.createHoldout(`{"key":"h","name":"H","percent":10}`)
	before := e.items()
	cases := []struct {
		route  routes.Route
		key    string
		body   string
		status int
		code   string
		fields []string
	}{
		{routes.AdminCreateHoldout, "", `{}`, 400, fault.CodeValidationFailed, []string{"key", "name", "percent"}},
		{routes.AdminCreateHoldout, "", `{"key":"Bad","name":" ","percent":0,"layers":["ok","ok","Bad"],"events":["a:b"],"extra":1}`, 400, fault.CodeValidationFailed,
			[]string{"events[0]", "extra", "key", "layers[1]", "layers[2]", "name", "percent"}},
		{routes.AdminCreateHoldout, "", `{"key":"over","name":"Over","percent":50.5}`, 400, fault.CodeValidationFailed, []string{"percent"}},
		{routes.AdminCreateHoldout, "", `{"key":"nan","name":"N","percent":"5","layers":"checkout","events":null}`, 400, fault.CodeValidationFailed, []string{"events", "layers", "percent"}},
		{routes.AdminCreateHoldout, "", `[1]`, 400, fault.CodeInvalidJSON, nil},
		{routes.AdminCreateHoldout, "", `{"key":"h","name":"Taken","percent":1}`, 409, holdout.CodeExists, nil},
		{routes.AdminUpdateHoldout, "h", `{}`, 400, fault.CodeValidationFailed, []string{"name"}},
		{routes.AdminUpdateHoldout, "h", `{"layers":["x"],"events":[],"key":"z","version":1}`, 400, fault.CodeValidationFailed, []string{"events", "key", "layers", "version"}},
		{routes.AdminUpdateHoldout, "h", `{"percent":51,"name":""}`, 400, fault.CodeValidationFailed, []string{"name", "percent"}},
		{routes.AdminUpdateHoldout, "h", `{"percent":9.99}`, 409, holdout.CodePercentLowered, nil},
		{routes.AdminUpdateHoldout, "missing", `{"percent":20}`, 404, holdout.CodeNotFound, nil},
		{routes.AdminArchiveHoldout, "missing", ``, 404, holdout.CodeNotFound, nil},
		{routes.AdminHoldoutUnit, "missing", ``, 404, holdout.CodeNotFound, nil},
	}
	for _, tc := range cases {
		req := httpapitest.AdminRequest(tc.route, tc.key, tc.body)
		req.PathParameters["id"] = "alice"
		eb := httpapitest.ExpectError(t, e.serve(req), tc.status, tc.code)
		if tc.fields != nil {
			if got := keysOf(fieldsOf(t, eb)); !reflect.DeepEqual(got, tc.fields) {
				t.Errorf("%s %s: fields %v, want %v", tc.route.Key(), tc.body, got, tc.fields)
			}
		}
	}
	if after := e.items(); !reflect.DeepEqual(after, before) {
		t.Fatalf("bad requests changed the table:\nbefore %v\nafter  %v", before, after)
	}
	// A client key may not use the routes.
	req := httpapitest.AdminRequest(routes.AdminCreateHoldout, "", `{"key":"c","name":"C","percent":1}`)
	req.RequestContext.Authorizer.Lambda[httpapi.CtxRole] = "client"
	httpapitest.ExpectError(t, e.serve(req), http.StatusForbidden, fault.CodeForbidden)
}

func TestHoldoutPatchAndArchive(t *testing.T) {
	e := newHoldoutEnv(t)
	e.createHoldout(`{"key":"h","name":"H","percent":10,"layers":["checkout"],"events":["purchase"]}`)
	var v adminapi.HoldoutView
	e.expect(e.call(routes.AdminUpdateHoldout, "h", `{"name":"Renamed"}`, nil), http.StatusOK, &v)
	if v.Name != "Renamed" || v.Percent != 10 || v.Version != 2 || !reflect.DeepEqual(v.Layers, []string{"checkout"}) {
		t.Fatalf("renamed %+v", v)
	}
	e.expect(e.call(routes.AdminUpdateHoldout, "h", `{"percent":10}`, nil), http.StatusOK, &v) // the same percent is allowed
	e.expect(e.call(routes.AdminUpdateHoldout, "h", `{"percent":12.5}`, nil), http.StatusOK, &v)
	if v.Percent != 12.5 || v.Version != 4 || v.Name != "Renamed" {
		t.Fatalf("raised %+v", v)
	}
	eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdateHoldout, "h", `{"percent":10}`, nil), http.StatusConflict, holdout.CodePercentLowered)
	if eb.Error.Details["current_percent"] != 12.5 {
		t.Fatalf("details %v", eb.Error.Details)
	}

	e.expect(e.call(routes.AdminArchiveHoldout, "h", "", nil), http.StatusNoContent, nil)
	for _, r := range []routes.Route{routes.AdminGetHoldout, routes.AdminArchiveHoldout, routes.AdminHoldoutUnit} {
		req := httpapitest.AdminRequest(r, "h", "")
		req.PathParameters["id"] = "alice"
		httpapitest.ExpectError(t, e.serve(req), http.StatusNotFound, holdout.CodeNotFound)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminUpdateHoldout, "h", `{"percent":20}`, nil), http.StatusNotFound, holdout.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminCreateHoldout, "", `{"key":"h","name":"Again","percent":1}`, nil), http.StatusConflict, holdout.CodeExists)
	var list adminapi.HoldoutsResponse
	e.expect(e.call(routes.AdminListHoldouts, "", "", nil), http.StatusOK, &list)
	if len(list.Holdouts) != 0 {
		t.Fatalf("an archived holdout is listed: %+v", list)
	}
}

// TestHoldoutLimit: at most holdout.MaxLive are live; archiving frees a
// place.
func TestHoldoutLimit(t *testing.T) {
	e := newHoldoutEnv(t)
	for i := 0; i < holdout.MaxLive; i++ {
		e.createHoldout(fmt.Sprintf(`{"key":"h%d","name":"H","percent":1}`, i))
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreateHoldout, "", `{"key":"one-more","name":"H","percent":1}`, nil), http.StatusConflict, holdout.CodeLimit)
	httpapitest.ExpectError(t, e.call(routes.AdminGetHoldout, "one-more", "", nil), http.StatusNotFound, holdout.CodeNotFound)
	e.expect(e.call(routes.AdminArchiveHoldout, "h3", "", nil), http.StatusNoContent, nil)
	e.createHoldout(`{"key":"one-more","name":"H","percent":1}`)
}

// TestHoldoutMembership: the membership route answers the pure rule, for
// any unit, and raising the percent only adds units.
func TestHoldoutMembership(t *testing.T) {
	e := newHoldoutEnv(t)
	e.createHoldout(`{"key":"h","name":"H","percent":10}`)
	member := func(unit string) holdouts.Membership {
		t.Helper()
		req := httpapitest.AdminRequest(routes.AdminHoldoutUnit, "h", "")
		req.PathParameters["id"] = unit
		var m holdouts.Membership
		e.expect(e.serve(req), http.StatusOK, &m)
		return m
	}
	held := map[string]bool{}
	for i := 0; i < 200; i++ {
		unit := fmt.Sprintf("unit-%d", i)
		m := member(unit)
		if m.Holdout != "h" || m.Unit != unit || m.HeldOut != enrolment.InHoldout(enrolment.Holdout{Key: "h", Percent: 10}, unit) {
			t.Fatalf("%s: %+v", unit, m)
		}
		held[unit] = m.HeldOut
	}
	if n := heldCount(held); n < 8 || n > 40 {
		t.Fatalf("%d of 200 held out at 10%%", n)
	}
	e.expect(e.call(routes.AdminUpdateHoldout, "h", `{"percent":30}`, nil), http.StatusOK, nil)
	added := 0
	for unit, was := range held {
		now := member(unit).HeldOut
		if was && !now {
			t.Fatalf("%s left the holdout when its percent was raised", unit)
		}
		if now && !was {
			added++
		}
	}
	if added == 0 {
		t.Fatal("raising the percent added no unit")
	}
	req := httpapitest.AdminRequest(routes.AdminHoldoutUnit, "h", "")
	req.PathParameters["id"] = "bad\nid"
	httpapitest.ExpectError(t, e.serve(req), http.StatusBadRequest, holdouts.CodeInvalidUnitID)
	req.PathParameters["id"] = strings.Repeat("x", 257)
	httpapitest.ExpectError(t, e.serve(req), http.StatusBadRequest, holdouts.CodeInvalidUnitID)
}

func heldCount(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}
