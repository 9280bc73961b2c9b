package stats

import (
	"math"
	"strconv"
)

// Method is the inference a [Compare] call runs.
type Method uint8

const (
	// Frequentist is the fixed-horizon test: Welch's t (the pooled z-test
	// for the p-value of binomial metrics) with t intervals.
	Frequentist Method = iota
	// Sequential gives always-valid intervals and p-values (GrowthBook's
	// mixture SPRT), valid however often the results are read.
	Sequential
	// Bayesian gives the posterior of the relative lift under a Gaussian
	// prior: chance to beat control, risk and credible intervals.
	Bayesian
)

// String returns the method's stable name, as the results API spells it.
func (m Method) String() string {
	switch m {
	case Frequentist:
		return "frequentist"
	case Sequential:
		return "sequential"
	case Bayesian:
		return "bayesian"
	}
	return "Method(" + strconv.Itoa(int(m)) + ")"
}

// Defaults, as gbstats has them.
const (
	DefaultAlpha            = 0.05 // two-sided significance level
	DefaultSequentialTuning = 5000 // gbstats' sequential_tuning_parameter
)

// Options configure one [Compare] call. The zero value asks for a
// frequentist, two-sided test at alpha 0.05 of a binomial metric.
type Options struct {
	Kind   Kind
	Method Method
	// Alpha is the two-sided significance level, in (0, 1); 0 means
	// [DefaultAlpha]. Intervals have coverage 1-Alpha.
	Alpha float64
	// SequentialTuning is the mixture SPRT's tuning parameter: the total
	// sample size (both groups) at which the always-valid interval is
	// narrowest. 0 means [DefaultSequentialTuning].
	SequentialTuning float64
	// Prior is the Bayesian prior on the relative lift; the zero value is
	// gbstats' default, an improper flat prior.
	Prior Prior
	// LowerIsBetter flips the Bayesian chance to beat control and risk for
	// metrics whose good direction is "decrease". Estimates and intervals
	// keep their sign (positive when the treatment is higher).
	LowerIsBetter bool
	// CUPED adjusts the comparison with the covariate sums of the
	// summaries, using Theta (see [CUPEDTheta]). Ratio metrics are not
	// adjusted. A Theta of 0 adjusts nothing.
	CUPED bool
	Theta float64
}

// Interval is a two-sided interval [Lo, Hi].
type Interval struct {
	Lo, Hi float64
}

// Contains reports whether v lies in the closed interval.
func (i Interval) Contains(v float64) bool {
	return i.Lo <= v && v <= i.Hi
}

// Effect is one estimate of the treatment effect with its uncertainty.
type Effect struct {
	Estimate float64  // point estimate (posterior mean for Bayesian)
	StdErr   float64  // standard error (posterior standard deviation)
	CI       Interval // confidence (credible for Bayesian) interval at 1-Alpha
	// PValue is the two-sided p-value of H0: effect = 0 (Welch's t, or the
	// sequential p-value); 0 and meaningless for the Bayesian method.
	PValue float64
}

// Comparison is the result of comparing one treatment with the control on
// one metric. When Reason is not [Defined] every other field is zero.
type Comparison struct {
	Method Method
	// Absolute is the difference of means, treatment - control.
	Absolute Effect
	// Relative is the lift, (treatment - control)/|control|, with the delta
	// method's standard error. Zero when RelativeDefined is false (the
	// control mean is 0).
	Relative        Effect
	RelativeDefined bool
	// Statistic is the headline test statistic: the pooled z of the
	// two-proportion z-test for a binomial metric read by the frequentist
	// method without CUPED adjustment, else the absolute effect over its
	// standard error (Welch's t).
	Statistic float64
	// DF is the Welch-Satterthwaite degrees of freedom of the t intervals
	// (above [NormalApproxDF] the normal is used).
	DF float64
	// PValue is the headline two-sided p-value (frequentist and sequential;
	// 0 for Bayesian): the pooled z-test's for a binomial metric read by
	// the frequentist method without CUPED adjustment, else Absolute.PValue.
	PValue float64

	// Bayesian only, on the relative lift (on the absolute effect when the
	// relative one is undefined), oriented by LowerIsBetter:
	ChanceToBeatControl float64 // posterior P(treatment better)
	Risk                float64 // expected loss of shipping the treatment
	ControlRisk         float64 // expected loss of keeping the control

	// CUPED only: the theta used and the share of the absolute effect's
	// variance removed, 1 - SE²(adjusted)/SE²(unadjusted).
	Theta             float64
	VarianceReduction float64

	Reason UndefinedReason
}

// Compare compares treatment with control on one metric, both given as
// exact sufficient statistics, by the method the options name. See the
// package documentation for the intended call and docs/statistics.md for
// every formula.
//
// It is undefined (ok == false, see Reason) when an option is out of range,
// a group has fewer than two units, or the effect's standard error is 0.
func Compare(control, treatment Summary, o Options) (c Comparison, ok bool) {
	alpha, tuning, reason := o.resolve()
	if reason != Defined {
		return Comparison{Reason: reason}, false
	}
	m, reason := effectMoments(control, treatment, o)
	if reason != Defined {
		return Comparison{Reason: reason}, false
	}
	return compareMoments(control, treatment, m, o, alpha, tuning)
}

// compareMoments reads the effect's moments m by the method o names.
func compareMoments(control, treatment Summary, m moments, o Options, alpha, tuning float64) (c Comparison, ok bool) {
	switch o.Method {
	case Frequentist:
		c = frequentist(m, alpha)
		if o.Kind == Binomial && m.theta == 0 {
			z, _ := TwoProportionZTest(conversions(control), control.N, conversions(treatment), treatment.N)
			// A pooled rate of 0 or 1 cannot occur here: it would make
			// the unpooled standard error 0 too.
			c.Statistic, c.PValue = z.Z, z.PValue
		}
	case Sequential:
		c = sequential(m, alpha, tuning)
	case Bayesian:
		var ok bool
		c, ok = bayesian(m, alpha, o.Prior, o.LowerIsBetter)
		if !ok {
			return Comparison{Reason: InvalidParameter}, false
		}
	default:
		return Comparison{Reason: InvalidParameter}, false
	}
	c.Method = o.Method
	c.DF = m.dof
	c.Theta = m.theta
	c.VarianceReduction = m.varianceReduction
	return c, true
}

// resolve applies the defaults and checks the ranges.
func (o Options) resolve() (alpha, tuning float64, reason UndefinedReason) {
	alpha, tuning = o.Alpha, o.SequentialTuning
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if tuning == 0 {
		tuning = DefaultSequentialTuning
	}
	if !(alpha > 0 && alpha < 1) || !(tuning > 0) || math.IsInf(tuning, 0) || o.Kind > Ratio ||
		math.IsNaN(o.Theta) || math.IsInf(o.Theta, 0) {
		return 0, 0, InvalidParameter
	}
	return alpha, tuning, Defined
}

// conversions reads a binomial summary's conversion count.
func conversions(s Summary) int64 {
	return int64(math.Round(s.Sum))
}

// moments are the first two moments of the effect estimates, from which
// every method reads its result.
type moments struct {
	nControl, nTreatment float64
	absEst, absVar       float64 // treatment - control, and its variance
	relEst, relVar       float64 // lift and its delta-method variance
	relOK                bool    // control mean != 0
	dof                  float64 // Welch-Satterthwaite
	controlRawMean       float64 // unadjusted control mean (prior scaling)
	theta                float64
	varianceReduction    float64
}

// effectMoments reads the effect's moments from the two summaries,
// CUPED-adjusted when asked.
func effectMoments(control, treatment Summary, o Options) (moments, UndefinedReason) {
	if control.N < 0 || treatment.N < 0 {
		return moments{}, InvalidCounts
	}
	if o.Kind == Binomial && (!validBinomial(control) || !validBinomial(treatment)) {
		return moments{}, InvalidCounts
	}
	if control.N == 0 || treatment.N == 0 {
		return moments{}, EmptyGroup
	}
	if control.N < 2 || treatment.N < 2 {
		return moments{}, TooFewUnits
	}
	theta := o.Theta
	if !o.CUPED || o.Kind == Ratio {
		theta = 0
	}
	a := groupMomentsOf(control, o.Kind, theta)
	b := groupMomentsOf(treatment, o.Kind, theta)
	m := moments{
		nControl:       a.n,
		nTreatment:     b.n,
		absEst:         b.mean - a.mean,
		absVar:         b.variance/b.n + a.variance/a.n,
		controlRawMean: a.rawMean,
		theta:          theta,
	}
	// As gbstats, a group without variance makes the comparison undefined
	// (with Welch's dof it would rest on the other group alone).
	if !(a.variance > 0) || !(b.variance > 0) || math.IsInf(m.absVar, 0) {
		return moments{}, ZeroVariance
	}
	m.dof = welchDOF(a.variance, a.n, b.variance, b.n)
	if theta != 0 {
		raw := a.rawVariance/a.n + b.rawVariance/b.n
		if raw > 0 {
			m.varianceReduction = 1 - m.absVar/raw
		}
	}
	if a.rawMean != 0 {
		mu := math.Abs(a.rawMean)
		m.relOK = true
		m.relEst = m.absEst / mu
		// gbstats' frequentist_variance_relative_cuped; with theta = 0 it
		// is variance_of_ratios(mean_b, var_b/n_b, mean_a, var_a/n_a, 0).
		r := b.rawMean / a.rawMean
		controlPart := a.rawVariance*r*r - 2*theta*a.cov*r + theta*theta*a.preVariance
		m.relVar = (b.variance/b.n + controlPart/a.n) / (mu * mu)
		if !(m.relVar > 0) {
			m.relOK = false
			m.relEst, m.relVar = 0, 0
		}
	}
	return m, Defined
}

// groupMoments are one group's mean and per-unit variance, adjusted by
// theta, with the parts gbstats' relative CUPED variance needs.
type groupMoments struct {
	n                    float64
	mean, variance       float64 // adjusted by theta
	rawMean, rawVariance float64 // unadjusted
	preVariance, cov     float64 // Var(pre) and Cov(x, pre)
}

func groupMomentsOf(s Summary, k Kind, theta float64) groupMoments {
	g := groupMoments{
		n:           float64(s.N),
		rawMean:     s.Mean(k),
		rawVariance: s.Variance(k),
	}
	g.mean, g.variance = g.rawMean, g.rawVariance
	if theta != 0 {
		g.preVariance = sampleVariance(s.N, s.PreSum, s.PreSumSq)
		g.cov = sampleCovariance(s.N, s.Sum, s.PreSum, s.SumXPre)
		g.mean -= theta * sampleMean(s.N, s.PreSum)
		g.variance = math.Max(g.rawVariance+theta*theta*g.preVariance-2*theta*g.cov, 0)
	}
	return g
}

// validBinomial reports whether a binomial summary's conversions are a
// possible count: 0 <= Σx <= n.
func validBinomial(s Summary) bool {
	return s.Sum >= 0 && s.Sum <= float64(s.N)
}

// welchDOF returns the Welch-Satterthwaite degrees of freedom of the
// difference of two means with per-unit variances va, vb over na, nb units:
//
//	(va/na + vb/nb)² / (va²/(na²(na-1)) + vb²/(nb²(nb-1))).
func welchDOF(va, na, vb, nb float64) float64 {
	sa, sb := va/na, vb/nb
	s := sa + sb
	return s * s / (sa*sa/(na-1) + sb*sb/(nb-1))
}
