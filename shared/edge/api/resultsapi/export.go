package resultsapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/usecase/results"
)

// Export formats and their content types.
const (
	formatJSONLines = "jsonl"
	formatCSV       = "csv"
)

// HeaderNextCursor carries the cursor of the next export page; absent on
// the last page. The Link header (rel="next") says the same as a URL.
const HeaderNextCursor = "x-next-cursor"

// export serves GET .../export?format=jsonl|csv&limit=&cursor=: one page of
// unit-level facts, one line per unit. A CSV page has its header row only
// on the first page (no cursor), so pages concatenate into one file.
func export(ctx context.Context, uc *results.Service, req httpapi.Request) (httpapi.Result, error) {
	q := req.QueryStringParameters
	format := q["format"]
	if format == "" {
		format = formatJSONLines
	}
	problems := experiment.Problems{}
	if format != formatJSONLines && format != formatCSV {
		problems["format"] = "must be jsonl or csv"
	}
	limit := results.ExportDefaultLimit
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			problems["limit"] = "must be 1-" + strconv.Itoa(results.ExportMaxLimit)
		}
		limit = n // the use case checks the range
	}
	if len(problems) > 0 {
		return httpapi.Result{}, fault.Validation(problems)
	}
	key, cursor := req.PathParameters["key"], q["cursor"]
	page, err := uc.Export(ctx, key, limit, cursor)
	if err != nil {
		return httpapi.Result{}, err
	}
	raw := httpapi.Raw{Headers: map[string]string{}}
	if format == formatCSV {
		raw.ContentType, raw.Body = "text/csv; charset=utf-8", exportCSV(page, cursor == "")
	} else {
		raw.ContentType, raw.Body = "application/x-ndjson", exportLines(page)
	}
	if page.Next != "" {
		raw.Headers[HeaderNextCursor] = page.Next
		next := url.Values{"format": {format}, "limit": {strconv.Itoa(limit)}, "cursor": {page.Next}}
		raw.Headers["link"] = "<" + req.RawPath + "?" + next.Encode() + `>; rel="next"`
	}
	return httpapi.Result{Status: 200, Body: raw}, nil
}

func exportLines(page results.ExportPage) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b) // one object and "\n" per row
	for _, r := range page.Rows {
		_ = enc.Encode(r) // strings, bools and maps of them always encode
	}
	return b.String()
}

// exportCSV writes one row per unit: unit, variant, assigned_at,
// first_exposed_at (empty when not exposed), then converted:<event> as 0/1
// for each declared event.
func exportCSV(page results.ExportPage, header bool) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if header {
		cols := []string{"unit", "variant", "assigned_at", "first_exposed_at"}
		for _, e := range page.Events {
			cols = append(cols, "converted:"+e)
		}
		_ = w.Write(cols)
	}
	for _, r := range page.Rows {
		exposed := ""
		if r.FirstExposedAt != nil {
			exposed = *r.FirstExposedAt
		}
		rec := []string{r.Unit, r.Variant, r.AssignedAt, exposed}
		for _, e := range page.Events {
			rec = append(rec, bit(r.Converted[e]))
		}
		_ = w.Write(rec)
	}
	w.Flush() // writes to a bytes.Buffer cannot fail
	return b.String()
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
