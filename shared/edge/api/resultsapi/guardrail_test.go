package resultsapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/edge/httpapi/httpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/results"
)

// TestGuardrailTheControlNeverEmitted: a guardrail on an event no control
// unit emitted (0% of 30) against 60% of 30 treatment units is breached,
// though the comparison has no variance in the control, and the breaker
// (tuned to the experiment's 60 units) pauses the experiment.
func TestGuardrailTheControlNeverEmitted(t *testing.T) {
	f := newFlow(t)
	ctx := context.Background()
	m := &metric.Metric{Key: "sign-up-errors", Name: "Sign-up errors", Type: metric.Binomial, Event: "signup",
		Direction: metric.Decrease, Status: metric.Live, Version: 1}
	if err := f.st.CreateMetric(ctx, m); err != nil {
		t.Fatal(err)
	}
	save := func(change func(*experiment.Experiment)) {
		t.Helper()
		prev, err := f.st.GetExperiment(ctx, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		next := *prev
		next.Version++
		change(&next)
		if err := f.st.SaveExperiment(ctx, &next, prev, store.Change{Version: next.Version, Action: "update", At: generatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	save(func(e *experiment.Experiment) { e.Metrics.Guardrails = []string{"sign-up-errors"} })
	// The flow has 2 exposed units per arm, one treatment unit signed up:
	// make it 0 of 30 against 18 of 30.
	f.addCounters(t, map[string]int{"x:control": 28, "x:treatment": 28, "c:treatment:signup": 17})
	read := func(query map[string]string) results.Report { t.Helper(); return f.report(t, query) }
	r := read(map[string]string{"event": "signup"})
	if row := r.Variants[1]; row.ConvertedCount != 18 || r.Variants[0].ConvertedCount != 0 || row.Undefined != "zero_variance" ||
		row.GuardrailBreached == nil || !*row.GuardrailBreached {
		t.Fatalf("0%% -> 60%%: %+v", r.Variants)
	}
	save(func(e *experiment.Experiment) { e.StopOnGuardrail, e.Analysis.SequentialTuning = true, 60 })
	if r := read(map[string]string{"event": "purchase"}); !r.StoppedByGuardrail || r.Status != experiment.Paused {
		t.Fatalf("the breaker did not trip: %+v", r)
	}
}

// addCounters adds n to counter attributes of one of checkout's counter
// shards, as the aggregator would have.
func (f flow) addCounters(t *testing.T, counters map[string]int) {
	t.Helper()
	for attr, n := range counters {
		if _, err := f.db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
			TableName: aws.String(f.table),
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "EXP#checkout#AGG#03"}, "sk": &types.AttributeValueMemberS{Value: "AGG"},
			},
			UpdateExpression:          aws.String("ADD #a :n"),
			ExpressionAttributeNames:  map[string]string{"#a": attr},
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: fmt.Sprint(n)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// report reads checkout's results as query asks, answered 200.
func (f flow) report(t *testing.T, query map[string]string) results.Report {
	t.Helper()
	resp := f.call(t, routes.AdminResults, "checkout", query)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%v: %d %s", query, resp.StatusCode, resp.Body)
	}
	var r results.Report
	httpapitest.Decode(t, resp, &r)
	return r
}
