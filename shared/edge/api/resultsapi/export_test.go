package resultsapi_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/api/resultsapi"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

// exportAll follows the export's cursors to the end and returns each page.
func exportAll(t *testing.T, f flow, format string, limit string) []httpapi.Response {
	t.Helper()
	var pages []httpapi.Response
	q := map[string]string{"format": format, "limit": limit}
	for {
		resp := f.call(t, routes.AdminExport, "checkout", q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d %s", resp.StatusCode, resp.Body)
		}
		pages = append(pages, resp)
		next := resp.Headers[resultsapi.HeaderNextCursor]
		if next == "" {
			return pages
		}
		if !strings.Contains(resp.Headers["link"], `rel="next"`) {
			t.Errorf("page without a Link header: %v", resp.Headers)
		}
		q = map[string]string{"format": format, "limit": limit, "cursor": next}
		if len(pages) > 20 {
			t.Fatal("the export does not end")
		}
	}
}

// The export's rows add up to exactly the results' counts (a data team's
// check in its own warehouse), in JSON lines and in CSV, page by page.
func TestExportAddsUpToTheResults(t *testing.T) {
	f := newFlow(t)
	var rows []results.ExportRow
	pages := exportAll(t, f, "jsonl", "4")
	if len(pages) < 2 {
		t.Fatalf("%d pages of 4 for 6 units", len(pages))
	}
	for _, p := range pages {
		if p.Headers["content-type"] != "application/x-ndjson" {
			t.Errorf("content type %q", p.Headers["content-type"])
		}
		sc := bufio.NewScanner(strings.NewReader(p.Body))
		for sc.Scan() {
			var r results.ExportRow
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			rows = append(rows, r)
		}
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 6 units", len(rows))
	}
	type count struct{ a, x, c int64 }
	fromRows := map[string]map[string]*count{} // event -> variant -> counts
	for _, event := range []string{"purchase", "signup", "never-sent"} {
		fromRows[event] = map[string]*count{"control": {}, "treatment": {}}
		for _, r := range rows {
			c := fromRows[event][r.Variant]
			c.a++
			if r.FirstExposedAt != nil {
				c.x++
				if r.Converted[event] {
					c.c++
				}
			}
		}
		resp := f.call(t, routes.AdminResults, "checkout", map[string]string{"event": event})
		var rep results.Report
		httpapitest.Decode(t, resp, &rep)
		for _, v := range rep.Variants {
			if got := fromRows[event][v.Variant]; *got != (count{v.AssignedCount, v.ExposedCount, v.ConvertedCount}) {
				t.Errorf("%s/%s: export adds up to %+v, results say %d/%d/%d", event, v.Variant, *got, v.AssignedCount, v.ExposedCount, v.ConvertedCount)
			}
		}
	}

	// CSV: the header once, on the first page, then the same rows.
	var records [][]string
	for i, p := range exportAll(t, f, "csv", "4") {
		recs, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			want := []string{"unit", "variant", "assigned_at", "first_exposed_at", "converted:purchase", "converted:signup", "converted:never-sent"}
			if !reflect.DeepEqual(recs[0], want) {
				t.Fatalf("header %v, want %v", recs[0], want)
			}
			recs = recs[1:]
		}
		records = append(records, recs...)
	}
	if len(records) != len(rows) {
		t.Fatalf("%d CSV rows, %d JSON lines", len(records), len(rows))
	}
	for i, rec := range records {
		r := rows[i]
		exposed := ""
		if r.FirstExposedAt != nil {
			exposed = *r.FirstExposedAt
		}
		if rec[0] != r.Unit || rec[1] != r.Variant || rec[2] != r.AssignedAt || rec[3] != exposed ||
			rec[4] != map[bool]string{false: "0", true: "1"}[r.Converted["purchase"]] {
			t.Errorf("CSV row %v, JSON row %+v", rec, r)
		}
	}
}

func TestExportRefusesBadInput(t *testing.T) {
	f := newFlow(t)
	for _, q := range []map[string]string{{"format": "xml"}, {"limit": "0"}, {"limit": "5001"}, {"limit": "ten"}} {
		httpapitest.ExpectError(t, f.call(t, routes.AdminExport, "checkout", q), http.StatusBadRequest, fault.CodeValidationFailed)
	}
	httpapitest.ExpectError(t, f.call(t, routes.AdminExport, "checkout", map[string]string{"cursor": "bm90LWEtY3Vyc29y"}), http.StatusBadRequest, fault.CodeInvalidCursor)
	httpapitest.ExpectError(t, f.call(t, routes.AdminExport, "nope", nil), http.StatusNotFound, "EXPERIMENT_NOT_FOUND")
}
