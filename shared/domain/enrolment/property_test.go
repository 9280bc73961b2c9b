package enrolment

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// A coverage ramp, up or down, with every other step in play: at any
// coverage the units enrolled are a subset of those at any higher coverage,
// each in the variant it gets at full coverage, so raising coverage never
// moves an enrolled unit nor changes the variant a unit will get, and
// lowering it turns away exactly the units above it (not_in_coverage).
func TestCoverageRamp(t *testing.T) {
	const n = 20_000
	steps := []float64{0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1}
	e := newExp(func(e *experiment.Experiment) {
		e.Variants = []experiment.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 3}, {Key: "c", Weight: 6}}
		e.Condition = compile(t, `{"country":{"$in":["US","CA"]}}`)
		e.Layer = &experiment.LayerSlice{Key: "checkout", Start: 0.1, End: 0.9}
	})
	holdouts := []Holdout{{Key: "global", Percent: 10}}
	rng := rand.New(rand.NewPCG(1, 2))
	countries := []string{"US", "CA", "FR"}
	enrolled := make([]int, len(steps))
	eligible := 0
	for i := range n {
		id := "unit-" + strconv.Itoa(i)
		attrs := Attributes(map[string]any{"country": countries[rng.IntN(len(countries))]}, id, id, "")
		e.Coverage = 1
		full, err := Decide(e, id, attrs, nil, holdouts)
		if err != nil {
			t.Fatal(err)
		}
		if full.InExperiment {
			eligible++
		}
		var at [8]Decision
		for s, c := range steps {
			e.Coverage = c
			if at[s], err = Decide(e, id, attrs, nil, holdouts); err != nil {
				t.Fatal(err)
			}
			d := at[s]
			switch {
			case d.InExperiment:
				enrolled[s]++
				if d != full {
					t.Fatalf("%s: %+v at coverage %v, %+v at full coverage", id, d, c, full)
				}
			case full.InExperiment:
				// Turned away only by coverage.
				if d.Reason != ReasonNotInCoverage {
					t.Fatalf("%s: %+v at coverage %v, enrolled at full coverage", id, d, c)
				}
			case d != full:
				// The other steps do not depend on coverage.
				t.Fatalf("%s: %+v at coverage %v, %+v at full coverage", id, d, c, full)
			}
			if s > 0 && at[s-1].InExperiment && !d.InExperiment {
				t.Fatalf("%s: enrolled at coverage %v, not at %v", id, steps[s-1], c)
			}
		}
	}
	if eligible < n/4 {
		t.Fatalf("only %d of %d units eligible: the ramp proves little", eligible, n)
	}
	for s, c := range steps {
		want := c * float64(eligible)
		if sd := math.Sqrt(want * (1 - c)); math.Abs(float64(enrolled[s])-want) > 6*sd+1 {
			t.Errorf("coverage %v: %d of %d eligible units enrolled, want about %.0f", c, enrolled[s], eligible, want)
		}
	}
}

// Experiments with disjoint slices of one layer never share a unit; with
// slices that tile the layer, every unit is in exactly one slice. A second
// layer is independent of the first.
func TestLayerExclusion(t *testing.T) {
	const n = 20_000
	slices := [][2]float64{{0, 0.3}, {0.3, 0.55}, {0.55, 0.6}, {0.6, 1}}
	var exps []*experiment.Experiment
	for i, s := range slices {
		exps = append(exps, newExp(func(e *experiment.Experiment) {
			e.Key = "exp-" + strconv.Itoa(i)
			e.Layer = &experiment.LayerSlice{Key: "checkout", Start: s[0], End: s[1]}
			e.Coverage = []float64{1, 0.5, 1, 0.8}[i]
			e.Variants = []experiment.Variant{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}, {Key: "c", Weight: 2}}
		}))
	}
	other := newExp(func(e *experiment.Experiment) {
		e.Key = "exp-search"
		e.Layer = &experiment.LayerSlice{Key: "search", Start: 0, End: 0.5}
	})
	counts := make([]int, len(exps))
	inOther, inBoth := 0, 0
	for i := range n {
		id := "unit-" + strconv.Itoa(i)
		if i%10 == 0 {
			id = "ü日本😀-" + strconv.Itoa(i)
		}
		attrs := Attributes(nil, id, id, "")
		enrolled, layers := -1, 0
		for j, e := range exps {
			d, err := Decide(e, id, attrs, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != ReasonNotInLayer {
				layers++
			}
			if d.InExperiment {
				if enrolled >= 0 {
					t.Fatalf("%s enrolled in %s and %s, disjoint slices of one layer", id, exps[enrolled].Key, e.Key)
				}
				enrolled = j
				counts[j]++
			}
		}
		if layers != 1 {
			t.Fatalf("%s is in %d slices of a tiled layer, want 1", id, layers)
		}
		d, err := Decide(other, id, attrs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.InExperiment {
			inOther++
			if enrolled >= 0 {
				inBoth++
			}
		}
	}
	for j, e := range exps {
		// Shares are approximate: the layer hash has 1/1000 resolution.
		want := (e.Layer.End - e.Layer.Start) * e.Coverage * n
		if math.Abs(float64(counts[j])-want) > 6*math.Sqrt(want)+0.01*n {
			t.Errorf("%s: %d of %d units enrolled, want about %.0f", e.Key, counts[j], n, want)
		}
	}
	if inOther == 0 || inBoth == 0 {
		t.Errorf("the other layer enrolled %d units, %d of them also in the first layer: want both > 0", inOther, inBoth)
	}
}
