package bucketing

import (
	"context"
	"strconv"
	"testing"

	gb "github.com/growthbook/growthbook-golang"
)

// gbVariation runs the experiment in growthbook-golang for one user and
// returns the variation index, or -1 when the user is not in the experiment.
func gbVariation(t testing.TB, client *gb.Client, exp *gb.Experiment, userID string) int {
	t.Helper()
	child, err := client.WithAttributes(gb.Attributes{"id": userID})
	if err != nil {
		t.Fatal(err)
	}
	res := child.RunExperiment(context.Background(), exp)
	if !res.InExperiment {
		return -1
	}
	return res.VariationId
}

// The strongest compatibility check: GrowthBook's own Go SDK, given the same
// experiment (key as seed, hash version 2, normalized weights, coverage,
// namespace), puts every user where Choose does.
func TestChooseMatchesGrowthBookSDK(t *testing.T) {
	client, err := gb.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	tests := []struct {
		name     string
		key      string
		weights  []float64
		coverage float64
		ns       *Namespace
	}{
		{"50/50", "exp-checkout", []float64{50, 50}, 1, nil},
		{"10/30/60 coverage 0.8", "exp-pricing", []float64{1, 3, 6}, 0.8, nil},
		{"zero weight", "exp-zero", []float64{2, 0, 1, 1}, 1, nil},
		{"namespace", "exp-layered", []float64{1, 1}, 0.5, &Namespace{ID: "layer-1", Start: 0.2, End: 0.7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			normalized, err := NormalizeWeights(tt.weights)
			if err != nil {
				t.Fatal(err)
			}
			coverage := tt.coverage
			exp := &gb.Experiment{
				Key:         tt.key,
				Variations:  make([]gb.FeatureValue, len(tt.weights)),
				Weights:     normalized,
				Coverage:    &coverage,
				HashVersion: 2,
			}
			for i := range exp.Variations {
				exp.Variations[i] = i
			}
			if tt.ns != nil {
				exp.Namespace = &gb.Namespace{Id: tt.ns.ID, Start: tt.ns.Start, End: tt.ns.End}
			}
			enrolled := 0
			for i := 0; i < 10_000; i++ {
				id := "user-" + strconv.Itoa(i)
				if i%10 == 0 {
					id = "ü日本😀-" + strconv.Itoa(i) // exercise UTF-16 hashing too
				}
				got, err := Choose(tt.key, id, tt.weights, tt.coverage, tt.ns)
				if err != nil {
					t.Fatal(err)
				}
				if want := gbVariation(t, client, exp, id); got != want {
					t.Fatalf("user %q: Choose = %d, growthbook-golang = %d", id, got, want)
				}
				if got >= 0 {
					enrolled++
				}
			}
			if enrolled == 0 {
				t.Fatal("no user enrolled: the comparison proved nothing")
			}
		})
	}
}
