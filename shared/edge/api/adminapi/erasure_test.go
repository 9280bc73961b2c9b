package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/data/store/storetest"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/api/adminapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/erasure"
)

func eraseRequest(unit string) httpapi.Request {
	req := httpapitest.AdminRequest(routes.AdminEraseUnit, "", "")
	req.PathParameters["id"] = unit
	return req
}

// DELETE /v1/admin/units/{id}: the unit's items go, the counters follow
// (through the stream), the answer counts what went, and a retry deletes
// nothing. Bad ids are 400; only an admin may erase.
func TestEraseUnit(t *testing.T) {
	e := newEnv(t)
	e.create("erase-exp", `"status":"active"`)
	e.assign("erase-exp", "u-1", "control")
	e.assign("erase-exp", "u-2", "treatment")
	storetest.Drain(t, e.table)
	if got := count(e.get("erase-exp").Variants[0].AssignedCount); got != 1 {
		t.Fatalf("control assigned %d before the erasure", got)
	}

	var r erasure.Report
	e.expect(e.serve(eraseRequest("u-1")), http.StatusOK, &r)
	if r.Erased.Assignments != 1 || r.Erased.Total() != 1 || r.AuditID == "" || r.At == "" {
		t.Fatalf("erasure report %+v", r)
	}
	storetest.Drain(t, e.table)
	v := e.get("erase-exp")
	if count(v.Variants[0].AssignedCount) != 0 || count(v.Variants[1].AssignedCount) != 1 {
		t.Errorf("counts after erasing u-1: %+v", v.Variants)
	}
	e.expect(e.serve(eraseRequest("u-1")), http.StatusOK, &r)
	if r.Erased.Total() != 0 {
		t.Errorf("a repeated erasure deleted %+v", r.Erased)
	}

	for _, bad := range []string{"", strings.Repeat("u", 257), "a\u202eb", "a\nb"} {
		httpapitest.ExpectError(t, e.serve(eraseRequest(bad)), http.StatusBadRequest, erasure.CodeInvalidUnitID)
	}
	// The audit trail lists both erasures, newest first, without the unit.
	var audit adminapi.ErasuresResponse
	e.expect(e.serve(httpapitest.AdminRequest(routes.AdminListErasures, "", "")), http.StatusOK, &audit)
	if len(audit.Erasures) != 2 || audit.Erasures[0].Erased.Total() != 0 || audit.Erasures[1].Erased.Assignments != 1 ||
		audit.Erasures[1].By != adminKeyID || audit.Erasures[1].At == "" || !audit.Erasures[1].Complete {
		t.Fatalf("audit %+v", audit)
	}
	if raw := e.serve(httpapitest.AdminRequest(routes.AdminListErasures, "", "")).Body; strings.Contains(raw, "u-1") {
		t.Fatalf("the audit shows the unit: %s", raw)
	}
	client := eraseRequest("u-2")
	client.RequestContext.Authorizer.Lambda = map[string]any{httpapi.CtxRole: string(apikey.RoleClient), httpapi.CtxKeyID: "k", httpapi.CtxUserID: "u-2"}
	httpapitest.ExpectError(t, e.serve(client), http.StatusForbidden, fault.CodeForbidden)
	storetest.Drain(t, e.table)
	if got := count(e.get("erase-exp").Variants[1].AssignedCount); got != 1 {
		t.Errorf("a refused erasure changed the counts: %d", got)
	}
}

func count(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
