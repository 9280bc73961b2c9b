package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
)

func (e *env) getGroup(key string) adminapi.SavedGroupDetail {
	e.t.Helper()
	var v adminapi.SavedGroupDetail
	e.expect(e.call(routes.AdminGetSavedGroup, key, "", nil), http.StatusOK, &v)
	return v
}

// groupItems counts the items of one group in the table: its head and its
// value chunks.
func (e *env) groupItems(key string) (heads, chunks int) {
	e.t.Helper()
	out, err := storetest.Client().Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(e.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "SAVEDGROUPS"}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range out.Items {
		switch sk := it["sk"].(*types.AttributeValueMemberS).Value; {
		case sk == "G#"+key:
			heads++
		case strings.HasPrefix(sk, "V#"+key+"#"):
			chunks++
		}
	}
	return heads, chunks
}

func TestSavedGroupCRUD(t *testing.T) {
	e := newEnv(t)
	var g adminapi.SavedGroupDetail
	e.expect(e.call(routes.AdminCreateSavedGroup, "", `{"key":"beta","name":"Beta testers","values":["u1","u2","u1",3,"3",3.0]}`, nil), http.StatusCreated, &g)
	if g.Key != "beta" || g.Name != "Beta testers" || g.Version != 1 || g.Size != 4 || g.CreatedBy != adminKeyID ||
		!reflect.DeepEqual(g.Values, []any{"u1", "u2", 3.0, "3"}) {
		t.Fatalf("created %+v", g)
	}
	if got := e.getGroup("beta"); !reflect.DeepEqual(got, g) {
		t.Fatalf("get %+v, want %+v", got, g)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminCreateSavedGroup, "", `{"key":"beta","name":"Again","values":[]}`, nil), http.StatusConflict, savedgroup.CodeExists)

	// Replace the values at the version read; a stale version is refused.
	var up adminapi.SavedGroupDetail
	e.expect(e.call(routes.AdminUpdateSavedGroup, "beta", `{"version":1,"values":["u9"]}`, nil), http.StatusOK, &up)
	if up.Version != 2 || up.Size != 1 || up.Name != "Beta testers" || !reflect.DeepEqual(up.Values, []any{"u9"}) || up.CreatedAt != g.CreatedAt {
		t.Fatalf("updated %+v", up)
	}
	eb := httpapitest.ExpectError(t, e.call(routes.AdminUpdateSavedGroup, "beta", `{"version":1,"values":["lost"]}`, nil), http.StatusConflict, experiment.CodeVersionConflict)
	if eb.Error.Details["current_version"] != 2.0 {
		t.Fatalf("details %v", eb.Error.Details)
	}
	e.expect(e.call(routes.AdminUpdateSavedGroup, "beta", `{"version":2,"name":"Renamed"}`, nil), http.StatusOK, &up)
	if got := e.getGroup("beta"); got.Version != 3 || got.Name != "Renamed" || !reflect.DeepEqual(got.Values, []any{"u9"}) {
		t.Fatalf("after rename %+v", got)
	}

	// Listed by key, paged, without values.
	for _, k := range []string{"alpha", "gamma"} {
		e.expect(e.call(routes.AdminCreateSavedGroup, "", `{"key":"`+k+`","name":"n","values":[1]}`, nil), http.StatusCreated, nil)
	}
	var keys []string
	cursor := ""
	for {
		q := map[string]string{"limit": "2"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		var out adminapi.SavedGroupsResponse
		e.expect(e.call(routes.AdminListSavedGroups, "", "", q), http.StatusOK, &out)
		for _, s := range out.SavedGroups {
			keys = append(keys, fmt.Sprintf("%s:%d", s.Key, s.Size))
		}
		if out.NextCursor == nil {
			break
		}
		cursor = *out.NextCursor
	}
	if want := []string{"alpha:1", "beta:1", "gamma:1"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("listed %v, want %v", keys, want)
	}
	resp := e.call(routes.AdminListSavedGroups, "", "", nil)
	if strings.Contains(resp.Body, `"values"`) {
		t.Fatalf("the listing shows values: %s", resp.Body)
	}
	httpapitest.ExpectError(t, e.call(routes.AdminListSavedGroups, "", "", map[string]string{"cursor": "bogus"}), http.StatusBadRequest, fault.CodeInvalidCursor)

	// Delete: gone, and the key free again.
	e.expect(e.call(routes.AdminDeleteSavedGroup, "beta", "", nil), http.StatusNoContent, nil)
	httpapitest.ExpectError(t, e.call(routes.AdminGetSavedGroup, "beta", "", nil), http.StatusNotFound, savedgroup.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminDeleteSavedGroup, "beta", "", nil), http.StatusNotFound, savedgroup.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminUpdateSavedGroup, "beta", `{"version":3,"values":[]}`, nil), http.StatusNotFound, savedgroup.CodeNotFound)
	if heads, chunks := e.groupItems("beta"); heads+chunks != 0 {
		t.Fatalf("delete left %d heads and %d chunks", heads, chunks)
	}
	e.expect(e.call(routes.AdminCreateSavedGroup, "", `{"key":"beta","name":"Anew","values":[]}`, nil), http.StatusCreated, nil)
	if got := e.getGroup("beta"); got.Version != 1 || len(got.Values) != 0 || got.Values == nil {
		t.Fatalf("recreated %+v", got)
	}
}

// Bad input is a 4xx with a stable code, naming the fields, and stores
// nothing.
func TestSavedGroupValidation(t *testing.T) {
	e := newEnv(t)
	e.expect(e.call(routes.AdminCreateSavedGroup, "", `{"key":"beta","name":"Beta","values":["u1"]}`, nil), http.StatusCreated, nil)
	for _, tc := range []struct {
		route  routes.Route
		body   string
		status int
		code   string
		field  string
	}{
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":[true]}`, 400, fault.CodeValidationFailed, "values[0]"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":["ok",null,{"a":1}]}`, 400, fault.CodeValidationFailed, "values[2]"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":[1e400]}`, 400, fault.CodeValidationFailed, "values[0]"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":[""]}`, 400, fault.CodeValidationFailed, "values[0]"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":["` + strings.Repeat("v", savedgroup.MaxValueBytes+1) + `"]}`, 400, fault.CodeValidationFailed, "values[0]"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":"u1"}`, 400, fault.CodeValidationFailed, "values"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n"}`, 400, fault.CodeValidationFailed, "values"},
		{routes.AdminCreateSavedGroup, `{"key":"Not A Key","name":"n","values":[]}`, 400, fault.CodeValidationFailed, "key"},
		{routes.AdminCreateSavedGroup, `{"key":"x","name":"n","values":[],"id":"x"}`, 400, fault.CodeValidationFailed, "id"},
		{routes.AdminCreateSavedGroup, `["x"]`, 400, fault.CodeInvalidJSON, ""},
		{routes.AdminUpdateSavedGroup, `{"values":["a"]}`, 400, fault.CodeValidationFailed, "version"},
		{routes.AdminUpdateSavedGroup, `{"version":1}`, 400, fault.CodeValidationFailed, "values"},
		{routes.AdminUpdateSavedGroup, `{"version":1,"values":[false]}`, 400, fault.CodeValidationFailed, "values[0]"},
		{routes.AdminUpdateSavedGroup, `{"version":1,"name":""}`, 400, fault.CodeValidationFailed, "name"},
	} {
		eb := httpapitest.ExpectError(t, e.call(tc.route, "beta", tc.body, nil), tc.status, tc.code)
		if tc.field != "" && fieldsOf(t, eb)[tc.field] == nil {
			t.Errorf("%s: fields %v lack %q", tc.body, eb.Error.Details["fields"], tc.field)
		}
	}
	httpapitest.ExpectError(t, e.call(routes.AdminGetSavedGroup, "x", "", nil), http.StatusNotFound, savedgroup.CodeNotFound)
	httpapitest.ExpectError(t, e.call(routes.AdminGetSavedGroup, "Bad Key", "", nil), http.StatusBadRequest, fault.CodeInvalidKey)
	if g := e.getGroup("beta"); g.Version != 1 || !reflect.DeepEqual(g.Values, []any{"u1"}) {
		t.Fatalf("refused patches changed the group: %+v", g)
	}
}

// 10,000 long ids fit: stored in several items under DynamoDB's item
// limit, served back whole and in order; past the limits is a 4xx.
func TestSavedGroupSizeLimits(t *testing.T) {
	e := newEnv(t)
	ids := make([]string, savedgroup.MaxValues)
	for i := range ids {
		s := strconv.Itoa(i)
		ids[i] = "user-" + strings.Repeat("x", 95-len(s)) + s // 100 bytes each
	}
	body := func(key string, values []string) string {
		b, _ := json.Marshal(map[string]any{"key": key, "name": "Big", "values": values})
		return string(b)
	}
	var g adminapi.SavedGroupDetail
	e.expect(e.call(routes.AdminCreateSavedGroup, "", body("big", ids), nil), http.StatusCreated, &g)
	if g.Size != savedgroup.MaxValues {
		t.Fatalf("size %d", g.Size)
	}
	got := e.getGroup("big")
	if len(got.Values) != len(ids) {
		t.Fatalf("%d values back", len(got.Values))
	}
	for i, v := range got.Values {
		if v != ids[i] {
			t.Fatalf("value %d = %v, want %s", i, v, ids[i])
		}
	}
	heads, chunks := e.groupItems("big")
	if heads != 1 || chunks < 4 {
		t.Fatalf("%d heads and %d chunks: 1 MB of values should span several items", heads, chunks)
	}
	// Shrinking deletes the chunks no longer needed.
	e.expect(e.call(routes.AdminUpdateSavedGroup, "big", `{"version":1,"values":["only"]}`, nil), http.StatusOK, nil)
	if heads, chunks = e.groupItems("big"); heads != 1 || chunks != 1 {
		t.Fatalf("after shrinking: %d heads and %d chunks", heads, chunks)
	}
	// And growing again works at the next version.
	e.expect(e.call(routes.AdminUpdateSavedGroup, "big", `{"version":2,"values":`+mustJSON(ids)+`}`, nil), http.StatusOK, nil)
	if got := e.getGroup("big"); len(got.Values) != len(ids) || got.Version != 3 {
		t.Fatalf("after growing: %d values, version %d", len(got.Values), got.Version)
	}

	// One distinct value too many.
	eb := httpapitest.ExpectError(t, e.call(routes.AdminCreateSavedGroup, "", body("over", append(ids[:9000:9000], shortIDs(1001)...)), nil),
		http.StatusBadRequest, fault.CodeValidationFailed)
	if f := fieldsOf(t, eb); !strings.Contains(fmt.Sprint(f["values"]), "at most 10000") {
		t.Fatalf("fields %v", f)
	}
	// A body past the limit is 413 before it is parsed.
	huge := `{"key":"huge","name":"n","values":["` + strings.Repeat("x", savedgroup.MaxBodyBytes) + `"]}`
	httpapitest.ExpectError(t, e.call(routes.AdminCreateSavedGroup, "", huge, nil), http.StatusRequestEntityTooLarge, fault.CodePayloadTooLarge)
	// Other admin bodies keep their 64 KiB limit.
	httpapitest.ExpectError(t, e.call(routes.AdminCreateLayer, "", `{"key":"l","name":"`+strings.Repeat("n", 70<<10)+`"}`, nil), http.StatusRequestEntityTooLarge, fault.CodePayloadTooLarge)
	for _, k := range []string{"over", "huge"} {
		httpapitest.ExpectError(t, e.call(routes.AdminGetSavedGroup, k, "", nil), http.StatusNotFound, savedgroup.CodeNotFound)
	}
}

func shortIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "s" + strconv.Itoa(i)
	}
	return out
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
