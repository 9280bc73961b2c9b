package stats

import (
	"math"
	"reflect"
	"testing"
)

// finiteFields reports the first float64 field of v (walking nested
// structs) that is NaN or ±Inf.
func finiteFields(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return path, false
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if p, ok := finiteFields(v.Field(i), path+"."+v.Type().Field(i).Name); !ok {
				return p, false
			}
		}
	}
	return "", true
}

// FuzzCompare: whatever the sums and options, a comparison is either
// defined with every figure finite (encoding/json must never meet a NaN) or
// undefined with nothing but a reason; the same holds for the per-variant
// figures.
func FuzzCompare(f *testing.F) {
	f.Add(int64(3407), 1396.87, 52377.9767, 16.87, 527.9767, 1.0, int64(3461), 2422.7, 134698.29, 22.7, 1348.29, 1.0, uint8(1), uint8(0), 0.05, 5000.0, true)
	f.Add(int64(28), 14.0, 14.0, 0.0, 0.0, 0.0, int64(30), 16.0, 16.0, 0.0, 0.0, 0.0, uint8(0), uint8(2), 0.1, 0.0, false)
	f.Add(int64(2), 1e308, 1e308, 1e308, 1e308, 1e308, int64(2), -1e308, 1e308, 0.0, 0.0, 0.0, uint8(2), uint8(1), 1e-300, 1e-300, true)
	f.Add(int64(math.MaxInt64), 1.0, 1.0, 0.0, 0.0, 0.0, int64(5), 5.0, 5.0, 0.0, 0.0, 0.0, uint8(0), uint8(0), 0.0, 0.0, false)
	f.Fuzz(func(t *testing.T, na int64, sa, qa, pa, ppa, xa float64, nb int64, sb, qb, pb, ppb, xb float64,
		kind, method uint8, alpha, tuning float64, cuped bool) {
		a := Summary{N: na, Sum: sa, SumSq: qa, DenSum: pa, DenSumSq: ppa, SumXY: xa, PreSum: pa, PreSumSq: ppa, SumXPre: xa}
		b := Summary{N: nb, Sum: sb, SumSq: qb, DenSum: pb, DenSumSq: ppb, SumXY: xb, PreSum: pb, PreSumSq: ppb, SumXPre: xb}
		o := Options{Kind: Kind(kind % 4), Method: Method(method % 4), Alpha: alpha, SequentialTuning: tuning, CUPED: cuped}
		o.Theta = CUPEDTheta(o.Kind, a, b)
		c, ok := Compare(a, b, o)
		if !ok {
			if c != (Comparison{Reason: c.Reason}) || c.Reason == Defined {
				t.Fatalf("undefined result with figures or no reason: %+v", c)
			}
			return
		}
		if p, fine := finiteFields(reflect.ValueOf(c), "Comparison"); !fine {
			t.Fatalf("%s is not finite: %+v (a %+v, b %+v, o %+v)", p, c, a, b, o)
		}
		if c.Method != Bayesian && !(c.PValue >= 0 && c.PValue <= 1) {
			t.Fatalf("p-value %v outside [0, 1]", c.PValue)
		}
		for _, s := range []Summary{a, b} {
			if p, fine := finiteFields(reflect.ValueOf(DescribeVariant(s, o.Kind, o.Theta)), "Variant"); !fine && finiteSums(s) {
				t.Fatalf("%s is not finite for %+v", p, s)
			}
		}
	})
}

// finiteSums reports whether every sum of s is finite (a variant whose
// sums already overflowed cannot be described finitely).
func finiteSums(s Summary) bool {
	_, ok := finiteFields(reflect.ValueOf(s), "")
	return ok
}
