package experiment

import (
	"fmt"
	"math"
)

// MaxSequentialTuning bounds the sequential tuning parameter: far beyond
// any experiment's units.
const MaxSequentialTuning = 1e12

// Analysis are an experiment's own statistics settings: how its results
// are read (docs/statistics.md). The zero value reads with the defaults.
type Analysis struct {
	// SequentialTuning is the mixture SPRT's tuning parameter of
	// method=sequential: the total number of units at which the
	// always-valid interval is narrowest (set it near the planned size);
	// 0: the default, 5,000.
	SequentialTuning float64
	// Prior is method=bayesian's prior on the relative lift.
	Prior Prior
}

// Prior is a Gaussian prior on the relative lift, N(Mean, StdDev²) (0.1 is
// +10%); StdDev 0 is the improper flat prior (the default).
type Prior struct {
	Mean   float64
	StdDev float64
}

// Proper reports whether p is a proper (Gaussian) prior.
func (p Prior) Proper() bool { return p.StdDev > 0 }

// CheckAnalysis adds to p every problem of a's settings.
func CheckAnalysis(p Problems, a Analysis) {
	if t := a.SequentialTuning; math.IsNaN(t) || t < 0 || (t > 0 && t < 1) || t > MaxSequentialTuning {
		p["sequential_tuning"] = fmt.Sprintf("must be a number of units from 1 to %g (absent or null: 5,000)", float64(MaxSequentialTuning))
	}
	if s := a.Prior.StdDev; math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
		p["prior.stddev"] = "must be a finite number > 0 (no prior: null)"
	}
	switch m := a.Prior.Mean; {
	case math.IsNaN(m) || math.IsInf(m, 0):
		p["prior.mean"] = "must be a finite number (a relative lift: 0.1 is +10%)"
	case m != 0 && !(a.Prior.StdDev > 0):
		p["prior.stddev"] = "must be a finite number > 0 when a prior mean is given"
	}
}
