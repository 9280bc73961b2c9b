package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/allroutes"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/lambdafn"
	"github.com/abtest/abtest/shared/edge/routes"
)

// List prices, us-east-1 (docs/scale.md): per million requests or units,
// and per GB-second of an arm64 function.
const (
	priceHTTPAPI     = 1.00
	priceLambdaReq   = 0.20
	priceLambdaGBSec = 0.0000133334
	priceWriteUnit   = 0.625
	priceReadUnit    = 0.125
	functionGB       = 0.25 // the stack's 256 MB functions
	costRequests     = 300
)

// costRow is one route measured in process, one request at a time: the
// handler's duration stands for the function's billed duration.
type costRow struct {
	name          string
	p50           time.Duration
	reads, writes float64 // units per request
}

// costs measures each route's handler in process at concurrency 1 and
// prices a million requests from the durations and units it measured.
func (b *bench) costs(ctx context.Context, deps lambdafn.Deps) error {
	handler := map[string]httpapi.Handler{}
	for _, fn := range []string{routes.Assignment, routes.Exposure, routes.Events, routes.Results, routes.Evaluate} {
		h, err := allroutes.Handler(deps, fn)
		if err != nil {
			return err
		}
		handler[fn] = h
	}
	if err := deps.Store.CreateExperiment(ctx, benchExperiment("cost")); err != nil {
		return err
	}
	user := func(i int) string { return fmt.Sprintf("cost-%06d", i) }
	client := func(route routes.Route, i int, body string) httpapi.Request {
		req := httpapitest.RouteRequest(route, apikey.RoleClient, user(i), body)
		req.PathParameters["key"] = "cost"
		return req
	}
	evalBody := `{"attributes":{"country":"US","plan":"pro","age":30},"experiments":` + jsonList("eval-%02d", evalExperiments) + `,"flags":` + jsonList("flag-%02d", evalFlags) + `}`
	cases := []struct {
		name string
		fn   string
		req  func(i int) httpapi.Request
	}{
		{"first assignment", routes.Assignment, func(i int) httpapi.Request { return client(routes.ClientAssignment, i, "") }},
		{"repeat assignment", routes.Assignment, func(i int) httpapi.Request { return client(routes.ClientAssignment, i, "") }},
		{"exposure, first", routes.Exposure, func(i int) httpapi.Request { return client(routes.ClientExposure, i, "") }},
		{"exposure, later", routes.Exposure, func(i int) httpapi.Request { return client(routes.ClientExposure, i, "") }},
		{"event batch of 1, counted", routes.Events, func(i int) httpapi.Request {
			return client(routes.ClientEvents, i, `{"events":[{"name":"purchase"}]}`)
		}},
		{"event batch of 1, not counted", routes.Events, func(i int) httpapi.Request {
			return client(routes.ClientEvents, i, `{"events":[{"name":"page_view"}]}`)
		}},
		{"repeat evaluation, 20 experiments + 20 flags", routes.Evaluate, func(i int) httpapi.Request {
			return httpapitest.RouteRequest(routes.ClientEvaluate, apikey.RoleClient, fmt.Sprintf("user-%06d", i%b.n), evalBody)
		}},
		{"results", routes.Results, func(int) httpapi.Request {
			req := httpapitest.RouteRequest(routes.AdminResults, apikey.RoleAdmin, "", "")
			req.PathParameters["key"] = "bench"
			req.QueryStringParameters["event"] = "purchase"
			return req
		}},
	}
	var rows []costRow
	for _, c := range cases {
		r0, w0 := b.meter.split()
		lat := make([]time.Duration, costRequests)
		for i := range costRequests {
			t := time.Now()
			resp, err := handler[c.fn](ctx, c.req(i))
			lat[i] = time.Since(t)
			if err == nil && resp.StatusCode >= 300 {
				err = fmt.Errorf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		r1, w1 := b.meter.split()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		rows = append(rows, costRow{name: c.name, p50: lat[costRequests/2], reads: (r1 - r0) / costRequests, writes: (w1 - w0) / costRequests})
	}
	fmt.Fprintf(b.out, "\n## Cost per million requests (list prices, us-east-1)\n\n"+
		"Each route's handler in process, one request at a time (%d requests): its p50 stands for the function's billed duration (%.0f MB), "+
		"the read and write units are DynamoDB Local's `ReturnConsumedCapacity`, except a transaction's, counted as DynamoDB bills them (2 write units per item of up to 1 KB; DynamoDB Local reports several times that). HTTP API $%.2f and Lambda $%.2f per million requests, "+
		"$%.10f per GB-second, $%.3f per million write and $%.3f per million read units; the authorizer's answer cached (60 s).\n\n",
		costRequests, functionGB*1024, priceHTTPAPI, priceLambdaReq, priceLambdaGBSec, priceWriteUnit, priceReadUnit)
	fmt.Fprintln(b.out, "| route | handler p50 | read units | write units | API GW | Lambda | DynamoDB | total per million |")
	fmt.Fprintln(b.out, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		lambda := priceLambdaReq + functionGB*r.p50.Seconds()*priceLambdaGBSec*1e6
		ddb := r.reads*priceReadUnit + r.writes*priceWriteUnit
		fmt.Fprintf(b.out, "| %s | %s | %.2f | %.2f | $%.2f | $%.2f | $%.2f | $%.2f |\n",
			r.name, ms(r.p50), r.reads, r.writes, priceHTTPAPI, lambda, ddb, priceHTTPAPI+lambda+ddb)
	}
	return nil
}

// jsonList is a JSON array of the keys format gives for 0..n-1.
func jsonList(format string, n int) string {
	s := "["
	for i := range n {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(`"`+format+`"`, i)
	}
	return s + "]"
}
