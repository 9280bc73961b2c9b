package adminapi

import (
	"encoding/json"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/usecase/experiments"
)

// analysisFields are the experiment fields tuning its readings.
var analysisFields = []string{"sequential_tuning", "bayesian_prior", "cuped_lookback_days"}

// PriorView is an experiment's Bayesian prior on the relative lift.
type PriorView struct {
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
}

// analysis reads sequential_tuning (a number, null for the default),
// cuped_lookback_days (a whole number of days, null for the default) and
// bayesian_prior ({"mean","stddev"}, null for the flat prior) into m; the
// use case checks their ranges.
func (f *form) analysis(m *experiments.MetricsPatch) {
	if raw, ok := f.fields["cuped_lookback_days"]; ok {
		var d int
		if !isNull(raw) && json.Unmarshal(raw, &d) != nil {
			f.fail("cuped_lookback_days", "must be a whole number of days or null")
		}
		m.LookbackDays = &d
	}
	if raw, ok := f.fields["sequential_tuning"]; ok {
		var t float64
		if !isNull(raw) && json.Unmarshal(raw, &t) != nil {
			f.fail("sequential_tuning", "must be a number or null")
		}
		m.SequentialTuning = &t
	}
	raw, ok := f.fields["bayesian_prior"]
	if !ok {
		return
	}
	if isNull(raw) {
		m.ClearPrior = true
		return
	}
	m.Prior = &experiment.Prior{}
	sub, ok := newForm(raw, "bayesian_prior.", f.errs, "mean", "stddev")
	if !ok {
		f.fail("bayesian_prior", `must be {"mean": <lift>, "stddev": <above 0>} or null`)
		return
	}
	m.Prior.Mean, m.Prior.StdDev = sub.number("mean"), sub.number("stddev")
}

// analysisOf is the definition's settings a create names.
func analysisOf(m experiments.MetricsPatch) experiment.Analysis {
	return experiment.Analysis{SequentialTuning: deref(m.SequentialTuning), Prior: m.Prior, LookbackDays: deref(m.LookbackDays)}
}

// viewAnalysis shows e's settings: null where the default applies.
func viewAnalysis(v *ExperimentView, a experiment.Analysis) {
	if a.SequentialTuning != 0 {
		t := a.SequentialTuning
		v.SequentialTuning = &t
	}
	if a.Prior != nil {
		v.BayesianPrior = &PriorView{Mean: a.Prior.Mean, StdDev: a.Prior.StdDev}
	}
	if a.LookbackDays != 0 {
		d := a.LookbackDays
		v.CUPEDLookbackDays = &d
	}
}
