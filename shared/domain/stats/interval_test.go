package stats

import (
	"math"
	"testing"
)

// Expected bounds computed independently with Python's math module:
// d ± 1.959963984540054·sqrt(p1(1-p1)/n1 + p2(1-p2)/n2).
func TestDifferenceInterval(t *testing.T) {
	cases := []struct {
		x1, n1, x2, n2 int64
		lo, hi         float64
		ok             bool
	}{
		{100, 1000, 130, 1000, 0.0020679344393763656, 0.057932065560623636, true},
		{0, 10, 5, 10, 0.19010248384771922, 0.8098975161522808, true},
		{1, 1, 0, 1, -1, -1, true},
		{50, 500, 50, 500, -0.03718770193827369, 0.03718770193827369, true},
		{3, 7, 11, 13, 0.0018155309160526323, 0.8333493042487825, true},
		{0, 0, 1, 10, 0, 0, false},
		{1, 10, 0, 0, 0, 0, false},
		{11, 10, 1, 10, 0, 0, false},
		{-1, 10, 1, 10, 0, 0, false},
	}
	for _, c := range cases {
		lo, hi, ok := DifferenceInterval(c.x1, c.n1, c.x2, c.n2, Z95)
		if ok != c.ok || math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 {
			t.Errorf("DifferenceInterval(%d/%d, %d/%d) = [%v, %v] %v, want [%v, %v] %v", c.x1, c.n1, c.x2, c.n2, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
	if _, _, ok := DifferenceInterval(1, 10, 2, 10, math.NaN()); ok {
		t.Error("a NaN z gave an interval")
	}
}

func BenchmarkDifferenceInterval(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = DifferenceInterval(100, 1000, 130, 1000, Z95)
	}
}
