package stats

import "strconv"

// Correction is a multiple-testing correction of p-values.
type Correction uint8

const (
	// Holm is the Holm-Bonferroni step-down procedure: it controls the
	// family-wise error rate (the chance of any false positive) at alpha
	// under any dependence. The default.
	Holm Correction = iota
	// BH is the Benjamini-Hochberg step-up procedure: it controls the false
	// discovery rate (the expected share of false positives among the
	// significant results) for independent or positively dependent tests.
	BH
	// NoCorrection leaves the p-values as they are.
	NoCorrection
)

// String returns the correction's name as the results API spells it.
func (c Correction) String() string {
	switch c {
	case Holm:
		return "holm"
	case BH:
		return "bh"
	case NoCorrection:
		return "none"
	}
	return "Correction(" + strconv.Itoa(int(c)) + ")"
}

// ParseCorrection reads a correction name as [Correction.String] writes it.
func ParseCorrection(s string) (Correction, bool) {
	for c := Holm; c <= NoCorrection; c++ {
		if c.String() == s {
			return c, true
		}
	}
	return 0, false
}

// stackOrder is how many p-values AdjustPValues sorts without allocating;
// a results call corrects over (variants-1) × metrics p-values, far fewer.
const stackOrder = 64

// AdjustPValues writes to adjusted the p-values of p corrected for testing
// them together (len(adjusted) must be len(p); it may be p itself). With
// p₍₁₎ <= ... <= p₍ₘ₎ the sorted p-values:
//
//	Holm: adj₍ᵢ₎ = min(1, max_{j<=i} (m-j+1)·p₍ⱼ₎)
//	BH:   adj₍ᵢ₎ = min(1, min_{j>=i} m/j·p₍ⱼ₎)
//
// the definitions of statsmodels' multipletests ("holm", "fdr_bh") and of
// GrowthBook's adjustPValuesHolmBonferroni and adjustPValuesBenjaminiHochberg.
// A result is significant at alpha after correction when adj < alpha.
//
// Pass only the p-values of defined comparisons. Up to 64 p-values are
// sorted on the stack; more cost one allocation. It panics when the lengths
// differ or the correction is unknown, both programming errors.
func AdjustPValues(c Correction, p, adjusted []float64) {
	if len(adjusted) != len(p) {
		panic("stats: AdjustPValues: len(adjusted) != len(p)")
	}
	if c > NoCorrection {
		panic("stats: AdjustPValues: unknown correction " + c.String())
	}
	m := len(p)
	var buf [stackOrder]int
	var order []int
	if m <= stackOrder {
		order = buf[:m]
	} else {
		order = make([]int, m)
	}
	for i := range order {
		order[i] = i
	}
	// Insertion sort: stable, allocation-free, and m is small.
	for i := 1; i < m; i++ {
		for j := i; j > 0 && p[order[j]] < p[order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	fm := float64(m)
	switch c {
	case NoCorrection:
		copy(adjusted, p)
	case Holm:
		// order holds indices, so reading p[order[i]] after writing
		// adjusted[order[i]] is safe even when adjusted aliases p: each
		// index is read before it is written.
		running := 0.0
		for i, idx := range order {
			running = max(running, min(1, (fm-float64(i))*p[idx]))
			adjusted[idx] = running
		}
	case BH:
		running := 1.0
		for i := m - 1; i >= 0; i-- {
			idx := order[i]
			running = min(running, fm/float64(i+1)*p[idx])
			adjusted[idx] = running
		}
	}
}
