package enrolment

import (
	"math"
	"strconv"
	"testing"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// InHoldout is the documented formula, for short and long keys (a long
// seed is hashed without concatenating) and non-ASCII units.
func TestInHoldoutFormula(t *testing.T) {
	keys := []string{"h", "global-holdout", "a-holdout-key-of-sixty-four-characters-for-the-longest-case-0123"}
	for _, key := range keys {
		for _, pct := range []float64{0, 0.01, 5, 33.3, 50, 99.99, 100} {
			h := Holdout{Key: key, Percent: pct}
			for i := range 2000 {
				id := "unit-" + strconv.Itoa(i)
				if i%7 == 0 {
					id = "ü日本😀-" + strconv.Itoa(i)
				}
				n, _ := bucketing.Hash("__holdout_"+key, id, 2)
				if got, want := InHoldout(h, id), n < pct/100; got != want {
					t.Fatalf("InHoldout(%+v, %q) = %v, want %v (hash %v)", h, id, got, want, n)
				}
			}
		}
	}
}

// Raising the percent only adds units; the share held out is the percent.
func TestHoldoutRamp(t *testing.T) {
	const n = 50_000
	steps := []float64{0, 1, 5, 10, 25, 50, 90, 100}
	prev := make([]bool, n)
	for _, pct := range steps {
		h := Holdout{Key: "global", Percent: pct}
		held := 0
		for i := range n {
			in := InHoldout(h, "unit-"+strconv.Itoa(i))
			if prev[i] && !in {
				t.Fatalf("unit-%d held out below %v%% but not at %v%%", i, pct, pct)
			}
			prev[i] = in
			if in {
				held++
			}
		}
		// Binomial sd is at most sqrt(n)/2 ~ 112: allow about 6 sd.
		if want := pct / 100 * n; math.Abs(float64(held)-want) > 700 {
			t.Errorf("%v%%: %d of %d held out, want about %v", pct, held, n, want)
		}
	}
}

// Holdouts of different keys hold out independent sets of units.
func TestHoldoutsAreIndependent(t *testing.T) {
	const n = 50_000
	a, b := Holdout{Key: "a", Percent: 20}, Holdout{Key: "b", Percent: 20}
	both := 0
	for i := range n {
		id := "unit-" + strconv.Itoa(i)
		if InHoldout(a, id) && InHoldout(b, id) {
			both++
		}
	}
	// Independent: 4% of units in both (sd ~ 44).
	if both < 1700 || both > 2300 {
		t.Errorf("%d of %d units in both 20%% holdouts, want about 2000", both, n)
	}
}

func TestHoldoutOutOfRangePercent(t *testing.T) {
	for i := range 1000 {
		id := "unit-" + strconv.Itoa(i)
		if InHoldout(Holdout{Key: "h", Percent: -5}, id) || InHoldout(Holdout{Key: "h", Percent: math.NaN()}, id) {
			t.Fatalf("%s held out by a negative or NaN percent", id)
		}
		if !InHoldout(Holdout{Key: "h", Percent: 250}, id) {
			t.Fatalf("%s not held out at 250%%", id)
		}
	}
}

func TestHoldoutCovers(t *testing.T) {
	layered := newExp(func(e *experiment.Experiment) { e.Layer = &experiment.LayerSlice{Key: "checkout", End: 1} })
	plain := newExp()
	tests := []struct {
		layers        []string
		layered, flat bool
	}{
		{nil, true, true},
		{[]string{}, true, true},
		{[]string{"checkout"}, true, false},
		{[]string{"search", "checkout"}, true, false},
		{[]string{"search"}, false, false},
	}
	for _, tt := range tests {
		h := Holdout{Key: "h", Percent: 10, Layers: tt.layers}
		if got := h.Covers(layered); got != tt.layered {
			t.Errorf("layers %v: covers a checkout experiment = %v, want %v", tt.layers, got, tt.layered)
		}
		if got := h.Covers(plain); got != tt.flat {
			t.Errorf("layers %v: covers an experiment without a layer = %v, want %v", tt.layers, got, tt.flat)
		}
	}
}
