package experiment

import (
	"fmt"
	"math"
)

// Analysis are an experiment's own settings of its statistical readings
// (docs/statistics.md); the zero value reads with the defaults.
type Analysis struct {
	// SequentialTuning is the mixture SPRT's tuning parameter: the number
	// of units at which the sequential interval is narrowest (0: 5000, as
	// GrowthBook). Set it near the sample size the experiment expects.
	SequentialTuning float64
	// Prior is the Bayesian reading's Gaussian prior on the relative lift;
	// nil: flat (improper), so the posterior follows the data alone.
	Prior *Prior
	// LookbackDays is the CUPED covariate's window: the whole UTC days
	// before the day of a unit's first exposure whose events make up its
	// pre-exposure value (0: DefaultLookbackDays). It is read when a unit
	// is first exposed, so a change applies to units exposed from then on
	// (a recount applies it to every unit).
	LookbackDays int
}

// Lookback is a's covariate window in days, the default applied.
func (a Analysis) Lookback() int {
	if a.LookbackDays == 0 {
		return DefaultLookbackDays
	}
	return a.LookbackDays
}

// Prior is a Gaussian prior on the relative lift (0.1 = +10%).
type Prior struct {
	Mean   float64
	StdDev float64
}

// Limits of the analysis settings: beyond them the readings are degenerate
// (a prior mean of ±1000% or a tuning far past any real sample).
const (
	MaxSequentialTuning = 1e9
	MaxPriorMean        = 10
	MaxPriorStdDev      = 10
	// DefaultLookbackDays is the CUPED window GrowthBook and Statsig use.
	DefaultLookbackDays = 14
	// MaxLookbackDays bounds the window; units' daily histories are kept
	// this long (plus a day either side) and no longer.
	MaxLookbackDays = 90
)

// CheckAnalysis adds to p every problem of a's settings.
func CheckAnalysis(p Problems, a Analysis) {
	if t := a.SequentialTuning; t != 0 && !(t >= 1 && t <= MaxSequentialTuning) {
		p["sequential_tuning"] = fmt.Sprintf("must be a number from 1 to %g (or null for the default, 5000)", float64(MaxSequentialTuning))
	}
	if d := a.LookbackDays; d < 0 || d > MaxLookbackDays {
		p["cuped_lookback_days"] = fmt.Sprintf("must be a whole number of days from 1 to %d (or null for the default, %d)", MaxLookbackDays, DefaultLookbackDays)
	}
	if a.Prior == nil {
		return
	}
	if m := a.Prior.Mean; math.IsNaN(m) || math.Abs(m) > MaxPriorMean {
		p["bayesian_prior.mean"] = fmt.Sprintf("must be a relative lift from -%d to %d", MaxPriorMean, MaxPriorMean)
	}
	if s := a.Prior.StdDev; !(s > 0 && s <= MaxPriorStdDev) {
		p["bayesian_prior.stddev"] = fmt.Sprintf("must be above 0 and at most %d", MaxPriorStdDev)
	}
}
