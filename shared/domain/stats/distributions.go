package stats

import "math"

// This file holds the distribution functions the tests need: the standard
// normal, Student's t (through the regularized incomplete beta function) and
// the chi-square (through the regularized incomplete gamma function). They
// are written here, not imported, so the package stays dependency-free and
// allocation-free; each is checked against SciPy in distributions_test.go.

const (
	// maxIterations bounds every continued fraction and series below. The
	// inputs that reach them converge in far fewer steps (see the tests);
	// the bound only stops a NaN or a pathological argument from looping.
	maxIterations = 10000
	// convergence is the relative size of the last term at which a series or
	// continued fraction is taken as converged: a few ulps of float64.
	convergence = 1e-15
	// tiny replaces a zero denominator in Lentz's method.
	tiny = 1e-300
)

// normalCDF returns Φ(x), the standard normal distribution function, with
// full relative precision in both tails (erfc, not 1 + erf).
func normalCDF(x float64) float64 {
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// normalPDF returns φ(x), the standard normal density.
func normalPDF(x float64) float64 {
	return math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
}

// normalQuantile returns Φ⁻¹(p) for p in (0, 1). math.Erfcinv computes
// erfinv(1-x) and so loses the small p that intervals use (1e-10 comes back
// wrong in the ninth digit); instead Acklam's rational approximation (relative
// error 1.15e-9) is refined by one Halley step on the erfc-based Φ, which
// brings it to full double precision.
func normalQuantile(p float64) float64 {
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	case p > 0.5:
		return -normalQuantile(1 - p)
	}
	var x float64
	if p < 0.02425 {
		q := math.Sqrt(-2 * math.Log(p))
		x = (((((-7.784894002430293e-03*q-3.223964580411365e-01)*q-2.400758277161838e+00)*q-
			2.549732539343734e+00)*q+4.374664141464968e+00)*q + 2.938163982698783e+00) /
			((((7.784695709041462e-03*q+3.224671290700398e-01)*q+2.445134137142996e+00)*q+
				3.754408661907416e+00)*q + 1)
	} else {
		q := p - 0.5
		r := q * q
		x = (((((-3.969683028665376e+01*r+2.209460984245205e+02)*r-2.759285104469687e+02)*r+
			1.383577518672690e+02)*r-3.066479806614716e+01)*r + 2.506628277459239e+00) * q /
			(((((-5.447609879822406e+01*r+1.615858368580409e+02)*r-1.556989798598866e+02)*r+
				6.680131188771972e+01)*r-1.328068155288572e+01)*r + 1)
	}
	// Halley: e = Φ(x) - p, u = e/φ(x), x -= u/(1 + x·u/2).
	e := normalCDF(x) - p
	u := e * math.Sqrt(2*math.Pi) * math.Exp(x*x/2)
	return x - u/(1+x*u/2)
}

// regIncBeta returns the regularized incomplete beta function I_x(a, b) for
// a, b > 0 and 0 <= x <= 1, from its continued fraction (Abramowitz & Stegun
// 26.5.8) evaluated by the modified Lentz method. The fraction converges fast
// for x < (a+1)/(a+b+2); above that the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
// is used.
func regIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	if x > (a+1)/(a+b+2) {
		return 1 - regIncBeta(1-x, b, a)
	}
	lbeta := lgamma(a+b) - lgamma(a) - lgamma(b)
	front := math.Exp(a*math.Log(x)+b*math.Log1p(-x)+lbeta) / a
	return front * betaContinuedFraction(x, a, b)
}

// betaContinuedFraction evaluates the continued fraction of I_x(a, b)
// (Numerical Recipes §6.4, "betacf").
func betaContinuedFraction(x, a, b float64) float64 {
	qab, qap, qam := a+b, a+1, a-1
	c := 1.0
	d := 1 - qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIterations; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < convergence {
			break
		}
	}
	return h
}

// lgamma is log|Γ(x)|.
func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// NormalApproxDF is the number of degrees of freedom above which Student's t
// is replaced by the standard normal. At 100,000 degrees of freedom the two
// 97.5% quantiles differ by 2.4e-5 (1.959988 against 1.959964, 1.2e-5
// relative), below every figure the results show. Beyond it the t would also
// lose accuracy: the prefactor of the incomplete beta subtracts log-gammas of
// about df/2, whose rounding grows like df·ε (1e-6 relative at 1e9).
const NormalApproxDF = 100000

// studentTSurvival returns P(T > t) for Student's t with df degrees of
// freedom: ½·I_{df/(df+t²)}(df/2, ½) for t >= 0. df above [NormalApproxDF]
// (or +Inf) uses the normal.
func studentTSurvival(t, df float64) float64 {
	if df > NormalApproxDF {
		return normalCDF(-t)
	}
	if t < 0 {
		return 1 - studentTSurvival(-t, df)
	}
	// df/(df+t²) loses nothing for small t; for large t it is computed as
	// 1/(1+t²/df) to avoid t² overflowing first.
	x := 1 / (1 + (t/df)*t)
	return 0.5 * regIncBeta(x, df/2, 0.5)
}

// twoSidedTPValue returns P(|T| >= |t|) for Student's t with df degrees of
// freedom, computed from the tail so it stays accurate when tiny.
func twoSidedTPValue(t, df float64) float64 {
	if math.IsInf(t, 0) {
		return 0
	}
	return 2 * studentTSurvival(math.Abs(t), df)
}

// studentTPDF returns the density of Student's t with df degrees of freedom.
func studentTPDF(t, df float64) float64 {
	lc := lgamma((df+1)/2) - lgamma(df/2) - 0.5*math.Log(df*math.Pi)
	return math.Exp(lc - (df+1)/2*math.Log1p(t*t/df))
}

// studentTQuantile returns the p-quantile of Student's t with df degrees of
// freedom, for p in (0, 1). It starts from the Cornish-Fisher expansion
// around the normal quantile (Abramowitz & Stegun 26.7.5) and refines it by
// Newton's method on the tail probability, which converges in a few steps
// for the probabilities confidence intervals use.
func studentTQuantile(p, df float64) float64 {
	if df > NormalApproxDF {
		return normalQuantile(p)
	}
	if p > 0.5 {
		return -studentTQuantile(1-p, df)
	}
	if p == 0.5 {
		return 0
	}
	// Lower tail: solve P(T > -t) = p for t = -quantile > 0 on the upper tail.
	z := -normalQuantile(p)
	z2 := z * z
	g1 := (z2 + 1) * z / 4
	g2 := ((5*z2+16)*z2 + 3) * z / 96
	g3 := (((3*z2+19)*z2+17)*z2 - 15) * z / 384
	t := z + g1/df + g2/(df*df) + g3/(df*df*df)
	if df < 3 || !(t > 0) || math.IsInf(t, 0) {
		t = z // the expansion is poor for very few degrees of freedom
	}
	// The tail probability is good to about 1e-13 relative, so steps
	// below 1e-12·t are noise: stop there. From the Cornish-Fisher start
	// that takes two or three steps; from z (df < 3) about twenty.
	for range 60 {
		dens := studentTPDF(t, df)
		if dens == 0 {
			break
		}
		step := (studentTSurvival(t, df) - p) / dens // survival falls with slope -pdf
		next := t + step
		if next <= 0 {
			next = t / 2
		}
		done := math.Abs(next-t) <= 1e-12*next
		t = next
		if done {
			break
		}
	}
	return -t
}

// regIncGammaUpper returns Q(a, x) = Γ(a, x)/Γ(a), the regularized upper
// incomplete gamma function, for a > 0 and x >= 0: a series for P when
// x < a+1, and a continued fraction for Q otherwise (Numerical Recipes §6.2).
func regIncGammaUpper(a, x float64) float64 {
	switch {
	case x <= 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	}
	if x < a+1 {
		return 1 - gammaSeries(a, x)
	}
	return gammaContinuedFraction(a, x)
}

// gammaSeries returns P(a, x) from its power series.
func gammaSeries(a, x float64) float64 {
	ap := a
	sum := 1 / a
	del := sum
	for range maxIterations {
		ap++
		del *= x / ap
		sum += del
		if math.Abs(del) < math.Abs(sum)*convergence {
			break
		}
	}
	return sum * math.Exp(-x+a*math.Log(x)-lgamma(a))
}

// gammaContinuedFraction returns Q(a, x) from its continued fraction by the
// modified Lentz method.
func gammaContinuedFraction(a, x float64) float64 {
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i <= maxIterations; i++ {
		fi := float64(i)
		an := -fi * (fi - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < convergence {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lgamma(a)) * h
}

// chiSquareSurvival returns P(X > x) for a chi-square variable X with df
// degrees of freedom: Q(df/2, x/2).
func chiSquareSurvival(x, df float64) float64 {
	return regIncGammaUpper(df/2, x/2)
}
