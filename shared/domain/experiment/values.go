package experiment

// Value is a unit's raw running value of one metric: X (a count, a sum,
// the numerator of a ratio) and Y (the denominator of a ratio).
type Value struct {
	X float64 `json:"x,omitempty"`
	Y float64 `json:"y,omitempty"`
}

// Plus returns v + o.
func (v Value) Plus(o Value) Value { return Value{X: v.X + o.X, Y: v.Y + o.Y} }

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
	x, y := v.X, v.Y
	switch {
	case s.Binary:
		x, y = 0, 0
		if v.X > 0 {
			x = 1
		}
	case s.Cap > 0:
		x, y = min(x, s.Cap), min(y, s.Cap)
	}
	if !s.Ratio {
		y = 0
	}
	return Sums{X: x, XX: x * x, Y: y, YY: y * y, XY: x * y}
}

// Sums are a metric's sufficient statistics over a variant's exposed units
// (their number is the variant's Exposed count): Σx, Σx², and for ratio
// metrics Σy, Σy², Σxy.
type Sums struct {
	X  float64 `json:"x,omitempty"`
	XX float64 `json:"xx,omitempty"`
	Y  float64 `json:"y,omitempty"`
	YY float64 `json:"yy,omitempty"`
	XY float64 `json:"xy,omitempty"`
}

// Plus returns s + o.
func (s Sums) Plus(o Sums) Sums {
	return Sums{X: s.X + o.X, XX: s.XX + o.XX, Y: s.Y + o.Y, YY: s.YY + o.YY, XY: s.XY + o.XY}
}

// Neg returns -s.
func (s Sums) Neg() Sums { return Sums{X: -s.X, XX: -s.XX, Y: -s.Y, YY: -s.YY, XY: -s.XY} }

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
