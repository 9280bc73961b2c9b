package stats

import "math"

// frequentist returns the fixed-horizon reading of the effect: Welch's t
// with the Satterthwaite degrees of freedom for both the absolute and the
// relative effect (as gbstats' TwoSidedTTest), intervals
//
//	estimate ± t_{1-α/2, dof} · se,
//
// and p-values 2·P(T_dof > |estimate/se|).
func frequentist(m moments, alpha float64) Comparison {
	q := -studentTQuantile(alpha/2, m.dof)
	c := Comparison{Absolute: tEffect(m.absEst, m.absVar, m.dof, q)}
	if m.relOK {
		c.Relative = tEffect(m.relEst, m.relVar, m.dof, q)
		c.RelativeDefined = true
	}
	c.Statistic = c.Absolute.Estimate / c.Absolute.StdErr
	c.PValue = c.Absolute.PValue
	return c
}

// tEffect builds an effect from its estimate and variance with the t
// quantile q = t_{1-α/2, dof}.
func tEffect(est, variance, dof, q float64) Effect {
	se := math.Sqrt(variance)
	return Effect{
		Estimate: est,
		StdErr:   se,
		CI:       Interval{est - q*se, est + q*se},
		PValue:   twoSidedTPValue(est/se, dof),
	}
}
