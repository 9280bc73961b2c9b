package bucketing

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestNormalizeWeights(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		want    []float64
		err     error
	}{
		{"1:3:6", []float64{1, 3, 6}, []float64{0.1, 0.3, 0.6}, nil},
		{"50:50", []float64{50, 50}, []float64{0.5, 0.5}, nil},
		{"already normalized", []float64{0.25, 0.75}, []float64{0.25, 0.75}, nil},
		{"zero weight kept", []float64{0, 2, 2}, []float64{0, 0.5, 0.5}, nil},
		{"single positive", []float64{0, 7}, []float64{0, 1}, nil},
		{"NaN", []float64{1, math.NaN()}, nil, ErrInvalidWeight},
		{"+Inf", []float64{1, math.Inf(1)}, nil, ErrInvalidWeight},
		{"-Inf", []float64{math.Inf(-1), 1}, nil, ErrInvalidWeight},
		{"negative", []float64{2, -1}, nil, ErrInvalidWeight},
		{"sum overflows", []float64{math.MaxFloat64, math.MaxFloat64}, nil, ErrInvalidWeight},
		{"all zero", []float64{0, 0}, nil, ErrNoPositiveWeight},
		{"empty", []float64{}, nil, ErrNoPositiveWeight},
		{"nil", nil, nil, ErrNoPositiveWeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeWeights(tt.weights)
			if !errors.Is(err, tt.err) {
				t.Fatalf("NormalizeWeights(%v) error = %v, want %v", tt.weights, err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("NormalizeWeights(%v) = %v, want %v", tt.weights, got, tt.want)
			}
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 1e-12 {
					t.Fatalf("NormalizeWeights(%v) = %v, want %v", tt.weights, got, tt.want)
				}
			}
		})
	}
}

func TestAppendNormalizedWeightsReusesBuffer(t *testing.T) {
	buf := make([]float64, 0, 8)
	weights := []float64{1, 3, 6}
	allocs := testing.AllocsPerRun(100, func() {
		buf, _ = AppendNormalizedWeights(buf[:0], weights)
	})
	if allocs != 0 {
		t.Fatalf("AppendNormalizedWeights allocated %v times with a large enough buffer", allocs)
	}
	if out, err := AppendNormalizedWeights(buf[:1], []float64{1, -1}); err == nil || len(out) != 1 {
		t.Fatalf("on error got len %d, err %v; want dst unchanged and an error", len(out), err)
	}
}

func TestChooseErrors(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		weights  []float64
		coverage float64
		err      error
	}{
		{"one variant", "u", []float64{1}, 1, ErrTooFewVariants},
		{"no variants", "u", nil, 1, ErrTooFewVariants},
		{"NaN weight", "u", []float64{1, math.NaN()}, 1, ErrInvalidWeight},
		{"Inf weight", "u", []float64{math.Inf(1), 1}, 1, ErrInvalidWeight},
		{"negative weight", "u", []float64{-1, 2}, 1, ErrInvalidWeight},
		{"all zero", "u", []float64{0, 0, 0}, 1, ErrNoPositiveWeight},
		{"coverage NaN", "u", []float64{1, 1}, math.NaN(), ErrInvalidCoverage},
		{"coverage negative", "u", []float64{1, 1}, -0.1, ErrInvalidCoverage},
		{"coverage above 1", "u", []float64{1, 1}, 1.1, ErrInvalidCoverage},
		{"empty user", "", []float64{1, 1}, 1, ErrEmptyUserID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Choose("exp", tt.user, tt.weights, tt.coverage, nil)
			if !errors.Is(err, tt.err) || got != -1 {
				t.Fatalf("Choose = %d, %v; want -1, %v", got, err, tt.err)
			}
		})
	}
}

// counts runs Choose for n synthetic users and returns how many landed in
// each variant; index len(weights) counts users not enrolled.
func counts(t *testing.T, key string, n int, weights []float64, coverage float64, ns *Namespace) []int {
	t.Helper()
	c := make([]int, len(weights)+1)
	for i := 0; i < n; i++ {
		v, err := Choose(key, "user-"+strconv.Itoa(i), weights, coverage, ns)
		if err != nil {
			t.Fatal(err)
		}
		if v < 0 {
			c[len(weights)]++
		} else {
			c[v]++
		}
	}
	return c
}

func TestZeroWeightNeverChosen(t *testing.T) {
	for _, weights := range [][]float64{{1, 0, 1}, {0, 1}, {1, 0}, {3, 0, 0, 7}} {
		c := counts(t, "exp-zero", 100_000, weights, 1, nil)
		for i, w := range weights {
			if w == 0 && c[i] != 0 {
				t.Errorf("weights %v: zero-weight variant %d got %d users", weights, i, c[i])
			}
			if w > 0 && c[i] == 0 {
				t.Errorf("weights %v: variant %d got no users", weights, i)
			}
		}
		if c[len(weights)] != 0 {
			t.Errorf("weights %v: %d users unenrolled at full coverage", weights, c[len(weights)])
		}
	}
}

func TestCoverage(t *testing.T) {
	const n = 100_000
	if c := counts(t, "exp-cov", n, []float64{1, 1}, 0, nil); c[2] != n {
		t.Errorf("coverage 0: %d of %d users enrolled, want none", n-c[2], n)
	}
	if c := counts(t, "exp-cov", n, []float64{1, 1}, 1, nil); c[2] != 0 {
		t.Errorf("coverage 1: %d users not enrolled, want 0", c[2])
	}
	c := counts(t, "exp-cov", n, []float64{1, 1}, 0.5, nil)
	enrolled := n - c[2]
	// Binomial sd is sqrt(n/4) ~ 158: allow about 6 sd.
	if enrolled < n/2-1000 || enrolled > n/2+1000 {
		t.Errorf("coverage 0.5: %d of %d enrolled, want about half", enrolled, n)
	}
	if diff := c[0] - c[1]; diff < -1000 || diff > 1000 {
		t.Errorf("coverage 0.5: variants got %d and %d, want about equal", c[0], c[1])
	}
}

// A coverage ramp must only add users: anyone enrolled at a lower coverage
// keeps the same variant at a higher one.
func TestCoverageRampKeepsAssignments(t *testing.T) {
	weights := []float64{1, 3, 6}
	steps := []float64{0, 0.05, 0.1, 0.25, 0.5, 0.9, 1}
	for i := 0; i < 20_000; i++ {
		id := "user-" + strconv.Itoa(i)
		prev := -1
		for _, cov := range steps {
			v, err := Choose("exp-ramp", id, weights, cov, nil)
			if err != nil {
				t.Fatal(err)
			}
			if prev >= 0 && v != prev {
				t.Fatalf("%s: variant %d at lower coverage became %d at coverage %v", id, prev, v, cov)
			}
			if v >= 0 {
				prev = v
			}
		}
		if prev < 0 {
			t.Fatalf("%s not enrolled at coverage 1", id)
		}
	}
}

func TestNamespaceExclusion(t *testing.T) {
	a := &Namespace{ID: "checkout-layer", Start: 0, End: 0.5}
	b := &Namespace{ID: "checkout-layer", Start: 0.5, End: 1}
	inA, inB := 0, 0
	for i := 0; i < 20_000; i++ {
		id := "user-" + strconv.Itoa(i)
		va, err := Choose("exp-a", id, []float64{1, 1}, 1, a)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := Choose("exp-b", id, []float64{1, 1}, 1, b)
		if err != nil {
			t.Fatal(err)
		}
		if va >= 0 && vb >= 0 {
			t.Fatalf("%s enrolled in both mutually exclusive experiments", id)
		}
		if va < 0 && vb < 0 {
			t.Fatalf("%s enrolled in neither half of the namespace", id)
		}
		if va >= 0 {
			inA++
			// Inside the namespace the variant is the one without it.
			if v, _ := Choose("exp-a", id, []float64{1, 1}, 1, nil); v != va {
				t.Fatalf("%s: variant %d in namespace, %d without", id, va, v)
			}
		} else {
			inB++
		}
	}
	if inA < 9000 || inB < 9000 {
		t.Errorf("namespace halves got %d and %d users, want about 10000 each", inA, inB)
	}
}

// randomID returns ASCII or non-ASCII ids so both hashing paths are covered.
func randomID(r *rand.Rand) string {
	switch r.IntN(4) {
	case 0:
		return "user-" + strconv.FormatUint(r.Uint64(), 36)
	case 1:
		return strconv.Itoa(r.IntN(1_000_000))
	case 2:
		return "ü" + strconv.Itoa(r.IntN(1_000_000)) + "日本"
	default:
		return string([]rune{rune('a' + r.IntN(26)), rune(0x1F600 + r.IntN(80)), rune(0x4E00 + r.IntN(20000))})
	}
}

// Choose walks the ranges without building them; it must agree with the
// GrowthBook functions composed the long way round on every input.
func TestChooseEquivalentToBucketRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	scales := []float64{1, 100, 1e-6, 1e9}
	for iter := 0; iter < 200_000; iter++ {
		nv := 2 + r.IntN(7)
		weights := make([]float64, nv)
		scale := scales[r.IntN(len(scales))]
		for i := range weights {
			if r.IntN(5) == 0 {
				continue // zero weight
			}
			if r.IntN(2) == 0 {
				weights[i] = float64(1+r.IntN(100)) * scale
			} else {
				weights[i] = r.Float64() * scale
			}
		}
		if _, err := WeightSum(weights); err != nil {
			weights[r.IntN(nv)] = scale
		}
		var coverage float64
		switch r.IntN(4) {
		case 0:
			coverage = 1
		case 1:
			coverage = float64(r.IntN(101)) / 100
		default:
			coverage = r.Float64()
		}
		var ns *Namespace
		if r.IntN(4) == 0 {
			start := r.Float64()
			ns = &Namespace{ID: "ns-" + strconv.Itoa(r.IntN(5)), Start: start, End: start + r.Float64()*(1-start)}
		}
		key := "exp-" + strconv.Itoa(r.IntN(1000))
		id := randomID(r)

		got, err := Choose(key, id, weights, coverage, ns)
		if err != nil {
			t.Fatalf("Choose(%q, %q, %v, %v): %v", key, id, weights, coverage, err)
		}
		normalized, err := NormalizeWeights(weights)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := Hash(key, id, 2)
		want := ChooseVariation(n, BucketRanges(nv, coverage, normalized))
		if ns != nil && !InNamespace(id, *ns) {
			want = -1
		}
		if got != want {
			t.Fatalf("Choose(%q, %q, %v, %v, %+v) = %d, want %d (n=%v, ranges %v)",
				key, id, weights, coverage, ns, got, want, n, BucketRanges(nv, coverage, normalized))
		}
	}
}

// Boundary hash values must fall on the same side in both computations.
func TestChooseEquivalentAtBoundaries(t *testing.T) {
	// Find users whose hash lands exactly on a 1:3:6 boundary (0.1 and 0.4).
	weights := []float64{1, 3, 6}
	normalized, _ := NormalizeWeights(weights)
	ranges := BucketRanges(3, 1, normalized)
	found := map[float64]bool{}
	for i := 0; i < 200_000 && len(found) < 2; i++ {
		id := "user-" + strconv.Itoa(i)
		n, _ := Hash("exp-boundary", id, 2)
		if n != 0.1 && n != 0.4 {
			continue
		}
		found[n] = true
		got, _ := Choose("exp-boundary", id, weights, 1, nil)
		if want := ChooseVariation(n, ranges); got != want {
			t.Fatalf("n=%v: Choose = %d, ChooseVariation = %d", n, got, want)
		}
	}
	if len(found) < 2 {
		t.Fatalf("found users on only %d of 2 boundaries", len(found))
	}
}
