package stats

import "math"

// Prior is a Gaussian prior on the relative lift (gbstats' GaussianPrior).
// The zero value is gbstats' default: improper (flat), so the posterior is
// the normal likelihood of the estimate itself. A proper prior shrinks the
// estimate towards Mean with weight 1/Variance.
type Prior struct {
	Proper   bool
	Mean     float64 // prior mean of the lift (0.1 = +10%)
	Variance float64 // prior variance of the lift; > 0 when Proper
}

// bayesian returns gbstats' Gaussian reading of the effect
// (EffectBayesianABTest): with the estimate δ̂ ~ N(δ, se²) and the prior
// δ ~ N(μ₀, σ₀²), the posterior is normal with
//
//	precision  = 1/se² + 1/σ₀²            (the second term only if proper)
//	mean       = (δ̂/se² + μ₀/σ₀²)/precision (δ̂ if improper)
//
// and, for the posterior N(μ, σ²) of the lift oriented so positive is good,
//
//	chance to beat control = Φ(μ/σ)
//	risk (of the treatment) = E[max(0, -δ)] = σφ(μ/σ) - μΦ(-μ/σ)
//	control risk            = E[max(0, δ)]  = σφ(μ/σ) + μΦ(μ/σ)
//
// which equal gbstats' truncated-normal expressions in closed form. The
// absolute effect gets the same prior scaled by the control mean
// (mean·|x̄_c|, variance·x̄_c²), as gbstats does for an absolute reading.
// ok is false when a proper prior has a variance that is not positive.
func bayesian(m moments, alpha float64, prior Prior, lowerIsBetter bool) (Comparison, bool) {
	if prior.Proper && !(prior.Variance > 0) {
		return Comparison{}, false
	}
	abs := Prior{Proper: prior.Proper, Mean: prior.Mean * math.Abs(m.controlRawMean),
		Variance: prior.Variance * m.controlRawMean * m.controlRawMean}
	if abs.Proper && !(abs.Variance > 0) {
		abs = Prior{} // a zero control mean leaves nothing to scale by
	}
	c := Comparison{Absolute: posterior(m.absEst, m.absVar, abs, alpha)}
	head := c.Absolute
	if m.relOK {
		c.Relative = posterior(m.relEst, m.relVar, prior, alpha)
		c.RelativeDefined = true
		head = c.Relative
	}
	mu, sigma := head.Estimate, head.StdErr
	if lowerIsBetter {
		mu = -mu
	}
	c.ChanceToBeatControl = normalCDF(mu / sigma)
	c.Risk, c.ControlRisk = expectedLoss(mu, sigma)
	return c, true
}

// posterior returns the normal posterior of an effect with the estimate est
// of variance v under the prior p, and its central credible interval.
func posterior(est, v float64, p Prior, alpha float64) Effect {
	mean, prec := est, 1/v
	if p.Proper {
		prec += 1 / p.Variance
		mean = (est/v + p.Mean/p.Variance) / prec
	}
	sd := math.Sqrt(1 / prec)
	q := -normalQuantile(alpha / 2)
	return Effect{Estimate: mean, StdErr: sd, CI: Interval{mean - q*sd, mean + q*sd}}
}

// expectedLoss returns E[max(0, -δ)] and E[max(0, δ)] for δ ~ N(mu, sigma²).
// Far in the tails (|mu/sigma| > 37, where Φ is exactly 0 or 1 in float64)
// the loss of the winning side is 0 and the other is |mu|, as in gbstats.
func expectedLoss(mu, sigma float64) (treatment, control float64) {
	z := mu / sigma
	if math.Abs(z) > 37 {
		return math.Max(-mu, 0), math.Max(mu, 0)
	}
	phi := sigma * normalPDF(z)
	return phi - mu*normalCDF(-z), phi + mu*normalCDF(z)
}
