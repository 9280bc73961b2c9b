package stats

// ComparePooled compares two groups of a binomial metric as [Compare] does,
// but with both groups' per-unit variance taken as the pooled rate's
// p̄(1-p̄), p̄ = (Σx_a+Σx_b)/(n_a+n_b): the variance of a unit under the null
// hypothesis of no difference, and the one the pooled two-proportion z-test
// ([TwoProportionZTest]) uses. It is defined whenever that z-test is and
// both groups have two units, so also when a group has no variance of its
// own (no unit or every unit converted), where [Compare] follows gbstats
// and answers [ZeroVariance]. Guardrails read it there: a harmful event the
// control never emitted would otherwise never be flagged.
//
// Each method reads the pooled moments as it reads [Compare]'s: the
// frequentist p-value is the pooled z-test's, the sequential reading is the
// mixture SPRT with the pooled standard error (under the null the pooled
// variance is consistent for the common variance, so its always-valid
// guarantee holds; under an alternative it is at least the mean of the two
// groups' variances at equal sizes, so it errs towards wider intervals), and the
// Bayesian reading is the posterior of the estimate with that standard
// error. The relative effect is defined when the control's rate is not 0.
// CUPED is not applied (o.CUPED and o.Theta are ignored): the pooled
// z-test has no adjusted form.
func ComparePooled(control, treatment Summary, o Options) (Comparison, bool) {
	o.CUPED, o.Theta = false, 0
	alpha, tuning, reason := o.resolve()
	if reason == Defined && o.Kind != Binomial {
		reason = InvalidParameter
	}
	if reason != Defined {
		return Comparison{Reason: reason}, false
	}
	if control.N < 0 || treatment.N < 0 || !validBinomial(control) || !validBinomial(treatment) {
		return Comparison{Reason: InvalidCounts}, false
	}
	z, ok := TwoProportionZTest(conversions(control), control.N, conversions(treatment), treatment.N)
	if !ok {
		return Comparison{Reason: z.Reason}, false
	}
	if control.N < 2 || treatment.N < 2 {
		return Comparison{Reason: TooFewUnits}, false
	}
	na, nb := float64(control.N), float64(treatment.N)
	v := z.PooledRate * (1 - z.PooledRate)
	m := moments{
		nControl:       na,
		nTreatment:     nb,
		absEst:         z.TreatmentRate - z.ControlRate,
		absVar:         z.StdErr * z.StdErr,
		dof:            welchDOF(v, na, v, nb),
		controlRawMean: z.ControlRate,
	}
	if a := z.ControlRate; a != 0 {
		// effectMoments' delta-method variance of the lift with both
		// variances pooled: (v/n_b + v·r²/n_a)/a², r = b/a.
		r := z.TreatmentRate / a
		m.relOK, m.relEst, m.relVar = true, m.absEst/a, (v/nb+v*r*r/na)/(a*a)
	}
	return compareMoments(control, treatment, m, o, alpha, tuning)
}
