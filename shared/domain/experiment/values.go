package experiment

// Value is a unit's raw running value of one metric: X (a count, a sum,
// the numerator of a ratio) and Y (the denominator of a ratio); and Pre,
// the CUPED covariate: the same metric's raw value over the lookback
// window before the unit's first exposure (see PreWindow), set once by
// the first exposure (ratio metrics have none).
type Value struct {
	X   float64 `json:"x,omitempty"`
	Y   float64 `json:"y,omitempty"`
	Pre float64 `json:"pre,omitempty"`
}

// Plus returns v + o.
func (v Value) Plus(o Value) Value { return Value{X: v.X + o.X, Y: v.Y + o.Y, Pre: v.Pre + o.Pre} }

// Shape is what turns a unit's raw value of a metric into its statistic:
// a binomial metric is 1 once the raw count is above 0; the others are
// capped at Cap (each side of a ratio), when Cap is set. It is fixed at
// the metric's creation, so sums kept under it stay consistent.
type Shape struct {
	Binary bool    // binomial
	Ratio  bool    // ratio: Y is the denominator
	Cap    float64 // 0: none
}

// Shapes are the shapes of metrics by key.
type Shapes map[string]Shape

// Of is the sufficient statistics one unit of raw value v adds.
func (s Shape) Of(v Value) Sums {
	x, y, pre := v.X, v.Y, v.Pre
	switch {
	case s.Binary:
		x, y, pre = binary(v.X), 0, binary(v.Pre)
	case s.Cap > 0:
		x, y, pre = min(x, s.Cap), min(y, s.Cap), min(pre, s.Cap)
	}
	if s.Ratio {
		pre = 0 // CUPED does not adjust ratio metrics
	} else {
		y = 0
	}
	return Sums{X: x, XX: x * x, Y: y, YY: y * y, XY: x * y, P: pre, PP: pre * pre, XP: x * pre}
}

// binary is a binomial metric's statistic of a raw count: 1 once above 0.
func binary(raw float64) float64 {
	if raw > 0 {
		return 1
	}
	return 0
}

// Sums are a metric's sufficient statistics over a variant's exposed units
// (their number is the variant's Exposed count): Σx, Σx², for ratio
// metrics Σy, Σy², Σxy, and for the others the CUPED covariate's Σpre,
// Σpre², Σx·pre.
type Sums struct {
	X  float64 `json:"x,omitempty"`
	XX float64 `json:"xx,omitempty"`
	Y  float64 `json:"y,omitempty"`
	YY float64 `json:"yy,omitempty"`
	XY float64 `json:"xy,omitempty"`
	P  float64 `json:"p,omitempty"`
	PP float64 `json:"pp,omitempty"`
	XP float64 `json:"xp,omitempty"`
}

// Plus returns s + o.
func (s Sums) Plus(o Sums) Sums {
	return Sums{X: s.X + o.X, XX: s.XX + o.XX, Y: s.Y + o.Y, YY: s.YY + o.YY, XY: s.XY + o.XY,
		P: s.P + o.P, PP: s.PP + o.PP, XP: s.XP + o.XP}
}

// Neg returns -s.
func (s Sums) Neg() Sums {
	return Sums{X: -s.X, XX: -s.XX, Y: -s.Y, YY: -s.YY, XY: -s.XY, P: -s.P, PP: -s.PP, XP: -s.XP}
}

// AddSums adds s to variant's sums of metric key.
func (g Aggregates) AddSums(variant, key string, s Sums) {
	if s == (Sums{}) {
		return
	}
	m := g.Sums[variant]
	if m == nil {
		m = map[string]Sums{}
		g.Sums[variant] = m
	}
	m[key] = m[key].Plus(s)
}
