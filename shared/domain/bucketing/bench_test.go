package bucketing

import (
	"context"
	"strconv"
	"testing"

	gb "github.com/growthbook/growthbook-golang"
)

// benchIDs are built once so the loops vary the user without allocating.
var benchIDs = func() []string {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(100000+i)
	}
	return ids
}()

func BenchmarkChoose2Variants(b *testing.B) {
	weights := []float64{50, 50}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v, err := Choose("exp-checkout", benchIDs[i&1023], weights, 1, nil)
		if err != nil || v < 0 {
			b.Fatal(v, err)
		}
		i++
	}
}

func benchExperiment() *gb.Experiment {
	coverage := 1.0
	return &gb.Experiment{
		Key:         "exp-checkout",
		Variations:  []gb.FeatureValue{0, 1},
		Weights:     []float64{0.5, 0.5},
		Coverage:    &coverage,
		HashVersion: 2,
	}
}

// The same job with GrowthBook's Go SDK: a child client carrying the user id
// attribute, then RunExperiment, as a server does per request.
func BenchmarkGrowthBookRunExperiment(b *testing.B) {
	client, err := gb.NewClient(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	exp := benchExperiment()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		child, err := client.WithAttributes(gb.Attributes{"id": benchIDs[i&1023]})
		if err != nil {
			b.Fatal(err)
		}
		if res := child.RunExperiment(ctx, exp); !res.InExperiment {
			b.Fatal("not in experiment")
		}
		i++
	}
}

// RunExperiment alone, on child clients built before timing, to separate
// the evaluation cost from the per-user client cost.
func BenchmarkGrowthBookRunExperimentPrebuiltClients(b *testing.B) {
	client, err := gb.NewClient(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	children := make([]*gb.Client, len(benchIDs))
	for i, id := range benchIDs {
		if children[i], err = client.WithAttributes(gb.Attributes{"id": id}); err != nil {
			b.Fatal(err)
		}
	}
	exp := benchExperiment()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if res := children[i&1023].RunExperiment(ctx, exp); !res.InExperiment {
			b.Fatal("not in experiment")
		}
		i++
	}
}
