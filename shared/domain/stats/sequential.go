package stats

import "math"

// sequential returns GrowthBook's always-valid reading of the effect (gbstats
// SequentialTwoSidedTTest): the asymptotic confidence sequence of
// Waudby-Smith et al. (2023, arXiv:2103.06476v7, eq. 9) with a Gaussian
// mixture whose width rho is set so the interval is narrowest when the total
// sample size N = n_control + n_treatment reaches the tuning parameter
// (eq. 161):
//
//	rho²      = (-2·ln α + ln(-2·ln α + 1)) / tuning
//	s²        = se²·N
//	halfwidth = s·sqrt( 2(Nρ²+1)/(N²ρ²) · ln( sqrt(Nρ²+1)/α ) )
//
// and the always-valid p-value (eq. 155) is the inverse of the mixture's
// e-value, capped at 1:
//
//	p = min(1, sqrt(Nρ²+1) · exp(-ρ²·N·(est/se)² / (2(Nρ²+1)))).
func sequential(m moments, alpha, tuning float64) Comparison {
	n := m.nControl + m.nTreatment
	rho2 := sequentialRho2(alpha, tuning)
	c := Comparison{Absolute: sequentialEffect(m.absEst, m.absVar, n, rho2, alpha)}
	if m.relOK {
		c.Relative = sequentialEffect(m.relEst, m.relVar, n, rho2, alpha)
		c.RelativeDefined = true
	}
	c.Statistic = c.Absolute.Estimate / c.Absolute.StdErr
	c.PValue = c.Absolute.PValue
	return c
}

// sequentialRho2 returns ρ² for a two-sided test at alpha tuned to the total
// sample size tuning.
func sequentialRho2(alpha, tuning float64) float64 {
	l := -2 * math.Log(alpha)
	return (l + math.Log(l+1)) / tuning
}

// sequentialEffect builds the always-valid interval and p-value of one
// effect from its estimate and variance at total sample size n.
func sequentialEffect(est, variance, n, rho2, alpha float64) Effect {
	se := math.Sqrt(variance)
	nr := n*rho2 + 1
	// s²·2(Nρ²+1)/(N²ρ²) with s² = se²·N simplifies to se²·2(Nρ²+1)/(Nρ²).
	half := se * math.Sqrt(2*nr/(n*rho2)*math.Log(math.Sqrt(nr)/alpha))
	z := est / se
	logP := 0.5*math.Log(nr) - rho2*n*z*z/(2*nr)
	return Effect{
		Estimate: est,
		StdErr:   se,
		CI:       Interval{est - half, est + half},
		PValue:   math.Exp(math.Min(logP, 0)),
	}
}
