package adminapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/savedgroup"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
)

var fzGroupSeeds = []string{
	`{"key":"beta","name":"Beta","values":["u1","u2",3,"3",3.0,-0,0]}`,
	`{"key":"beta","name":"Beta","values":[]}`, `{"key":"fz-group","name":"Taken","values":["x"]}`,
	`{"key":"beta","name":"Beta","values":[null,true,{},[],1e400,"","\u0000"]}`,
	`{"key":"beta","name":"Beta","values":"u1"}`, `{"key":"beta","name":"Beta","values":null}`, `{"key":"beta","name":"Beta"}`,
	`{"key":"beta","name":"Beta","values":["` + strings.Repeat("x", savedgroup.MaxValueBytes+1) + `"]}`,
	`{"key":"Beta Group","name":"","values":[1],"extra":1}`,
	"{\"key\":\"beta\",\"name\":\"b\",\"values\":[\"\xff\"]}",
	`{"version":2,"values":["a","a"]}`, `{"version":2,"name":"Renamed"}`, `{"version":1,"values":[]}`, `{"version":2}`,
	`{"version":2,"values":[1e400]}`, `{"version":0,"values":[]}`, `{"version":2,"key":"x"}`,
	``, `null`, `[]`, `{`, `{}`,
}

// FuzzAdminSavedGroups: POST /v1/admin/saved-groups and PATCH .../{key}
// end to end: refused with a 4xx, or stored within the documented limits
// with its values distinct (the fake store checks every write).
func FuzzAdminSavedGroups(f *testing.F) {
	for _, s := range fzGroupSeeds {
		f.Add(s, false, "fz-group")
		f.Add(s, true, "fz-group")
	}
	f.Add(`{"version":2,"values":[1]}`, true, "missing")
	f.Add(`{"version":2,"values":[1]}`, true, "Bad Key")
	f.Fuzz(func(t *testing.T, body string, patch bool, key string) {
		req := httpapitest.AdminRequest(routes.AdminCreateSavedGroup, "", body)
		allowed := []int{http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge}
		if patch {
			req = httpapitest.AdminRequest(routes.AdminUpdateSavedGroup, key, body)
			allowed = []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge}
		}
		resp, st := fzServe(t, req)
		fzCheckResponse(t, req, resp, allowed...)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return
		}
		var v SavedGroupDetail
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || st.groups[v.Key] == nil || v.Size != len(v.Values) {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		seen := map[string]bool{}
		for _, x := range v.Values {
			b, _ := json.Marshal(x)
			if seen[string(b)] {
				t.Fatalf("duplicate value %s in %s", b, resp.Body)
			}
			seen[string(b)] = true
		}
	})
}
