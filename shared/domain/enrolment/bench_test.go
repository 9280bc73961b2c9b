package enrolment

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	gb "github.com/growthbook/growthbook-golang"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// benchCondition is a five-clause targeting condition every benchmark unit
// passes, so each clause is evaluated.
const benchCondition = `{"country":{"$in":["US","CA"]},"plan":"pro","version":{"$vgte":"2.1.0"},"age":{"$gte":18},"address.city":{"$regex":"^Mont"}}`

func benchUserAttrs() map[string]any {
	return map[string]any{"country": "CA", "plan": "pro", "version": "2.4.1", "age": 31.0,
		"address": map[string]any{"city": "Montréal"}, "browser": "firefox"}
}

// benchDefinition enrols every unit: 5 clauses, the whole of a layer (so
// its hash is paid) and full coverage, three variants.
func benchDefinition(b testing.TB) *experiment.Experiment {
	return newExp(func(e *experiment.Experiment) {
		e.Variants = []experiment.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 3}, {Key: "c", Weight: 6}}
		e.Condition = compile(b, benchCondition)
		e.Layer = &experiment.LayerSlice{Key: "checkout", Start: 0, End: 1}
		e.Overrides = map[string]string{"qa-1": "b"}
	})
}

// benchUnits and their attributes are built once, so the loops vary the
// unit without allocating.
var benchUnits, benchAttrs = func() ([]string, []map[string]any) {
	ids := make([]string, 1024)
	attrs := make([]map[string]any, len(ids))
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(100000+i)
		attrs[i] = Attributes(benchUserAttrs(), ids[i], ids[i], "")
	}
	return ids, attrs
}()

func BenchmarkDecide(b *testing.B) {
	e := benchDefinition(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d, err := Decide(e, benchUnits[i&1023], benchAttrs[i&1023], nil, nil)
		if err != nil || !d.InExperiment {
			b.Fatal(d, err)
		}
		i++
	}
}

// With two holdouts covering the experiment that hold out no one, so the
// rest of the decision still runs.
func BenchmarkDecideWithHoldouts(b *testing.B) {
	e := benchDefinition(b)
	holdouts := []Holdout{{Key: "global", Percent: 0}, {Key: "checkout-2026", Percent: 0, Layers: []string{"checkout"}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d, err := Decide(e, benchUnits[i&1023], benchAttrs[i&1023], nil, holdouts)
		if err != nil || !d.InExperiment {
			b.Fatal(d, err)
		}
		i++
	}
}

// Attributes copies the caller's map once per request.
func BenchmarkAttributes(b *testing.B) {
	user := benchUserAttrs()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if a := Attributes(user, benchUnits[i&1023], benchUnits[i&1023], ""); len(a) != len(user)+2 {
			b.Fatal(a)
		}
		i++
	}
}

// benchGrowthBook is the benchmark definition for growthbook-golang.
func benchGrowthBook(b testing.TB) (*gb.Client, *gb.Experiment) {
	e := benchDefinition(b)
	weights, err := bucketing.NormalizeWeights(e.Weights())
	if err != nil {
		b.Fatal(err)
	}
	coverage := e.Coverage
	g := &gb.Experiment{Key: e.Key, Variations: []gb.FeatureValue{0, 1, 2}, Weights: weights, Coverage: &coverage, HashVersion: 2,
		Namespace: &gb.Namespace{Id: e.Layer.Key, Start: e.Layer.Start, End: e.Layer.End}}
	if err := json.Unmarshal([]byte(benchCondition), &g.Condition); err != nil {
		b.Fatal(err)
	}
	client, err := gb.NewClient(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close() })
	return client, g
}

// growthbook-golang per request: a child client with the unit's attributes,
// then RunExperiment, as its docs show for a server.
func BenchmarkGrowthBookRunExperiment(b *testing.B) {
	client, g := benchGrowthBook(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		child, err := client.WithAttributes(benchAttrs[i&1023])
		if err != nil {
			b.Fatal(err)
		}
		if res := child.RunExperiment(ctx, g); !res.InExperiment {
			b.Fatal("not in experiment")
		}
		i++
	}
}

// RunExperiment alone, on child clients built before timing: the figure
// to set against BenchmarkDecide.
func BenchmarkGrowthBookRunExperimentPrebuiltClients(b *testing.B) {
	client, g := benchGrowthBook(b)
	children := make([]*gb.Client, len(benchAttrs))
	for i, a := range benchAttrs {
		var err error
		if children[i], err = client.WithAttributes(a); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if res := children[i&1023].RunExperiment(ctx, g); !res.InExperiment {
			b.Fatal("not in experiment")
		}
		i++
	}
}

// The benchmark compares like with like: both enrol each unit in the same
// variant.
func TestBenchmarkDefinitionAgreesWithGrowthBook(t *testing.T) {
	e := benchDefinition(t)
	client, g := benchGrowthBook(t)
	for i, id := range benchUnits {
		d, err := Decide(e, id, benchAttrs[i], nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := gbRun(t, client, g, benchAttrs[i]); variantOf(d) != want {
			t.Fatalf("%s: Decide %+v, growthbook-golang %d", id, d, want)
		}
	}
}

// Decide allocates nothing on any branch; the hot path of every assignment
// runs it.
func TestDecideDoesNotAllocate(t *testing.T) {
	e := benchDefinition(t)
	e.Coverage = 0.5
	e.Layer = &experiment.LayerSlice{Key: "checkout", Start: 0, End: 0.5}
	long := "a-holdout-key-of-sixty-four-characters-for-the-longest-case-0123"
	holdouts := []Holdout{{Key: long, Percent: 20, Layers: []string{"search", "checkout"}}}
	untargeted := Attributes(map[string]any{"country": "FR"}, "u", "u", "")
	cases := map[Reason]bool{}
	for i, id := range benchUnits[:200] {
		for _, attrs := range []map[string]any{benchAttrs[i], untargeted} {
			d, err := Decide(e, id, attrs, nil, holdouts)
			if err != nil {
				t.Fatal(err)
			}
			cases[d.Reason] = true
			if n := testing.AllocsPerRun(20, func() { _, _ = Decide(e, id, attrs, nil, holdouts) }); n != 0 {
				t.Fatalf("Decide (%s) allocates %v times", d.Reason, n)
			}
		}
	}
	for _, f := range []func(){
		func() { _, _ = Decide(e, "qa-1", benchAttrs[0], nil, holdouts) },
		func() { _, _ = Decide(e, "", benchAttrs[0], nil, holdouts) },
		func() { _, _, _ = Override(e, "qa-1") },
		func() { _, _ = Sticky(e, "b") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Fatalf("override, error, sticky: %v allocations", n)
		}
	}
	for _, r := range []Reason{ReasonHoldout, ReasonNotTargeted, ReasonNotInLayer, ReasonNotInCoverage, ReasonAssigned} {
		if !cases[r] {
			t.Errorf("no unit took the %s branch: %v", r, cases)
		}
	}
}
