package conditions

import (
	"context"
	"encoding/json"
	"testing"

	gb "github.com/growthbook/growthbook-golang"
)

// benchCondition is a typical experiment targeting condition.
const benchCondition = `{"country":{"$in":["US","CA"]},"plan":"pro","version":{"$vgte":"2.1.0"}}`

func benchAttrs() map[string]any {
	return map[string]any{"id": "user-123", "country": "CA", "plan": "pro", "version": "2.4.1", "browser": "firefox"}
}

func BenchmarkEval(b *testing.B) {
	c, err := Compile(json.RawMessage(benchCondition))
	if err != nil {
		b.Fatal(err)
	}
	attrs := benchAttrs()
	if !c.Eval(attrs, nil) {
		b.Fatal("the benchmark attributes do not match")
	}
	b.ReportAllocs()
	for b.Loop() {
		if !c.Eval(attrs, nil) {
			b.Fatal("no match")
		}
	}
}

// BenchmarkEvalMiss fails on the last clause evaluated ($vgte), so it
// pays for every clause.
func BenchmarkEvalMiss(b *testing.B) {
	c, err := Compile(json.RawMessage(benchCondition))
	if err != nil {
		b.Fatal(err)
	}
	attrs := benchAttrs()
	attrs["version"] = "2.0.9"
	b.ReportAllocs()
	for b.Loop() {
		if c.Eval(attrs, nil) {
			b.Fatal("match")
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(json.RawMessage(benchCondition)); err != nil {
			b.Fatal(err)
		}
	}
}

// growthBookClient is growthbook-golang with one feature whose only rule
// is guarded by condition (none when empty). Its condition evaluator is
// internal, so the feature evaluation that runs it is what can be measured;
// BenchmarkGrowthBookNoCondition measures the same call without a
// condition, and the difference is the condition's share.
func growthBookClient(b *testing.B, condition string) *gb.Client {
	b.Helper()
	rule := `{"force":true}`
	if condition != "" {
		rule = `{"condition":` + condition + `,"force":true}`
	}
	client, err := gb.NewClient(context.Background(),
		gb.WithJsonFeatures(`{"f":{"defaultValue":false,"rules":[`+rule+`]}}`),
		gb.WithAttributes(benchAttrs()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	return client
}

func benchGrowthBook(b *testing.B, condition string) {
	client := growthBookClient(b, condition)
	ctx := context.Background()
	if res := client.EvalFeature(ctx, "f"); res.Value != true {
		b.Fatalf("growthbook-golang: %+v, want the forced value", res)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !client.EvalFeature(ctx, "f").On {
			b.Fatal("no match")
		}
	}
}

func BenchmarkGrowthBookEvalFeature(b *testing.B) { benchGrowthBook(b, benchCondition) }

func BenchmarkGrowthBookNoCondition(b *testing.B) { benchGrowthBook(b, "") }

// A server sees new attributes with every request; growthbook-golang takes
// them through a child client, as its docs show.
func BenchmarkGrowthBookPerRequest(b *testing.B) {
	client := growthBookClient(b, benchCondition)
	ctx := context.Background()
	attrs := gb.Attributes(benchAttrs())
	b.ReportAllocs()
	for b.Loop() {
		child, err := client.WithAttributes(attrs)
		if err != nil {
			b.Fatal(err)
		}
		if !child.EvalFeature(ctx, "f").On {
			b.Fatal("no match")
		}
	}
}

// Both evaluators agree on the benchmark condition for string versions, so
// the figures compare like with like. (growthbook-golang v0.7.0 follows a
// later spec than sdk-js mongrule.ts, our reference: it refuses a numeric
// attribute as a version, where paddedVersionString reads 3 as "3".)
func TestBenchmarkConditionAgreesWithGrowthBook(t *testing.T) {
	c, err := Compile(json.RawMessage(benchCondition))
	if err != nil {
		t.Fatal(err)
	}
	client, err := gb.NewClient(context.Background(),
		gb.WithJsonFeatures(`{"f":{"defaultValue":false,"rules":[{"condition":`+benchCondition+`,"force":true}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, change := range []map[string]any{
		{}, {"country": "US"}, {"country": "MX"}, {"plan": "free"}, {"version": "2.0.9"}, {"version": "v2.1.0"},
		{"version": "2.1.0-rc.1"}, {"version": "10.0"}, {"country": nil}, {"plan": nil},
	} {
		attrs := benchAttrs()
		for k, v := range change {
			attrs[k] = v
		}
		child, err := client.WithAttributes(attrs)
		if err != nil {
			t.Fatal(err)
		}
		want := child.EvalFeature(context.Background(), "f").On
		if got := c.Eval(attrs, nil); got != want {
			t.Errorf("attributes %v: Eval = %v, growthbook-golang %v", attrs, got, want)
		}
	}
}
