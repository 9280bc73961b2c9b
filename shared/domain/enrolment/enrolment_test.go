package enrolment

import (
	"errors"
	"math"
	"testing"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// Every branch of Decide, and the order of the steps: each case builds a
// unit that fails several steps and expects the first one.
func TestDecide(t *testing.T) {
	targeted := map[string]any{"country": "CA"}
	untargeted := map[string]any{"country": "FR"}
	cond := compile(t, `{"country":{"$in":["US","CA"]}}`)
	layer := &experiment.LayerSlice{Key: "checkout", Start: 0.2, End: 0.6}
	all := Holdout{Key: "global", Percent: 100}
	none := Holdout{Key: "global", Percent: 0}
	some := Holdout{Key: "global", Percent: 30}

	withCond := func(e *experiment.Experiment) { e.Condition = cond }
	withLayer := func(e *experiment.Experiment) { e.Layer = layer }
	withCoverage := func(e *experiment.Experiment) { e.Coverage = 0.3 }
	withOverride := func(e *experiment.Experiment) { e.Overrides = map[string]string{"qa-unit": "treatment"} }
	everything := []func(*experiment.Experiment){withCond, withLayer, withCoverage, withOverride}

	tests := []struct {
		name     string
		mods     []func(*experiment.Experiment)
		holdouts []Holdout
		attrs    map[string]any
		// unit says which unit the case needs (nil: any); "qa-unit" is
		// overridden.
		unit        func(e *experiment.Experiment, id string) bool
		fixedUnit   string
		want        Reason
		wantHoldout string
	}{
		{name: "no targeting enrols", attrs: targeted, want: ReasonAssigned},
		{name: "override", mods: everything, fixedUnit: "qa-unit", attrs: targeted, want: ReasonOverride},
		{name: "override beats holdout, condition, layer, coverage", mods: everything, holdouts: []Holdout{all},
			fixedUnit: "qa-unit", attrs: untargeted, want: ReasonOverride},
		{name: "holdout", holdouts: []Holdout{all}, attrs: targeted,
			want: ReasonHoldout, wantHoldout: "global"},
		{name: "holdout beats condition, layer, coverage", mods: everything, holdouts: []Holdout{all}, attrs: untargeted,
			unit: func(e *experiment.Experiment, id string) bool { return !inLayer(e, id) && !inCoverage(e, id) }, want: ReasonHoldout, wantHoldout: "global"},
		{name: "holdout at 0% holds no one", holdouts: []Holdout{none}, attrs: targeted,
			want: ReasonAssigned},
		{name: "unit outside a partial holdout", holdouts: []Holdout{some}, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return !InHoldout(some, id) }, want: ReasonAssigned},
		{name: "unit inside a partial holdout", holdouts: []Holdout{some}, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return InHoldout(some, id) }, want: ReasonHoldout, wantHoldout: "global"},
		{name: "holdout of the experiment's layer", mods: []func(*experiment.Experiment){withLayer},
			holdouts: []Holdout{{Key: "h-checkout", Percent: 100, Layers: []string{"search", "checkout"}}}, attrs: targeted,
			want: ReasonHoldout, wantHoldout: "h-checkout"},
		{name: "holdout of another layer does not cover", mods: []func(*experiment.Experiment){withLayer},
			holdouts: []Holdout{{Key: "h-search", Percent: 100, Layers: []string{"search"}}}, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return inLayer(e, id) }, want: ReasonAssigned},
		{name: "holdout of a layer does not cover an experiment without one",
			holdouts: []Holdout{{Key: "h-checkout", Percent: 100, Layers: []string{"checkout"}}}, attrs: targeted,
			want: ReasonAssigned},
		{name: "the first holdout that holds the unit is named",
			holdouts: []Holdout{none, {Key: "h-search", Percent: 100, Layers: []string{"search"}}, {Key: "second", Percent: 100}, {Key: "third", Percent: 100}},
			attrs:    targeted, want: ReasonHoldout, wantHoldout: "second"},
		{name: "not targeted", mods: []func(*experiment.Experiment){withCond}, attrs: untargeted,
			want: ReasonNotTargeted},
		{name: "missing attributes are not targeted", mods: []func(*experiment.Experiment){withCond}, attrs: nil,
			want: ReasonNotTargeted},
		{name: "targeted", mods: []func(*experiment.Experiment){withCond}, attrs: targeted,
			want: ReasonAssigned},
		{name: "condition beats layer and coverage", mods: everything, attrs: untargeted,
			unit: func(e *experiment.Experiment, id string) bool { return !inLayer(e, id) && !inCoverage(e, id) }, want: ReasonNotTargeted},
		{name: "not in layer", mods: []func(*experiment.Experiment){withLayer}, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return !inLayer(e, id) }, want: ReasonNotInLayer},
		{name: "in layer", mods: []func(*experiment.Experiment){withLayer}, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return inLayer(e, id) }, want: ReasonAssigned},
		{name: "layer beats coverage", mods: everything, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return !inLayer(e, id) && !inCoverage(e, id) }, want: ReasonNotInLayer},
		{name: "not in coverage", mods: everything, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool { return inLayer(e, id) && !inCoverage(e, id) }, want: ReasonNotInCoverage},
		{name: "everything passed", mods: everything, holdouts: []Holdout{some}, attrs: targeted,
			unit: func(e *experiment.Experiment, id string) bool {
				return !InHoldout(some, id) && inLayer(e, id) && inCoverage(e, id)
			}, want: ReasonAssigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExp(tt.mods...)
			unit := tt.fixedUnit
			if unit == "" {
				unit = findUnit(t, func(id string) bool { return tt.unit == nil || tt.unit(e, id) })
			}
			attrs := Attributes(tt.attrs, unit, unit, "")
			d, err := Decide(e, unit, attrs, nil, tt.holdouts)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tt.want || d.Holdout != tt.wantHoldout {
				t.Fatalf("unit %s: %+v, want reason %s, holdout %q", unit, d, tt.want, tt.wantHoldout)
			}
			switch tt.want {
			case ReasonAssigned:
				if v := bucketed(t, e, unit); !d.InExperiment || d.Variant != v || d.VariantKey != e.Variants[v].Key {
					t.Fatalf("unit %s: %+v, want enrolled in variant %d", unit, d, v)
				}
			case ReasonOverride:
				if d.InExperiment || d.VariantKey != e.Overrides[unit] || e.Variants[d.Variant].Key != d.VariantKey {
					t.Fatalf("unit %s: %+v, want the override %q, not enrolled", unit, d, e.Overrides[unit])
				}
			default:
				if d.InExperiment || d.Variant != 0 || d.VariantKey != "control" {
					t.Fatalf("unit %s: %+v, want the control, not enrolled", unit, d)
				}
			}
		})
	}
}

func TestDecideUsesSavedGroups(t *testing.T) {
	e := newExp(func(e *experiment.Experiment) { e.Condition = compile(t, `{"id":{"$inGroup":"beta"}}`) })
	groups := conditions.SavedGroups{"beta": {"unit-1", "unit-2"}}
	for unit, want := range map[string]Reason{"unit-1": ReasonAssigned, "unit-3": ReasonNotTargeted} {
		d, err := Decide(e, unit, Attributes(nil, unit, "", ""), groups, nil)
		if err != nil || d.Reason != want {
			t.Errorf("%s: %+v, %v; want %s", unit, d, err, want)
		}
	}
}

// Impossible definitions fail for every unit not overridden, even one a
// holdout or the condition would have turned away.
func TestDecideErrors(t *testing.T) {
	all := []Holdout{{Key: "all", Percent: 100}}
	tests := []struct {
		name string
		unit string
		mod  func(*experiment.Experiment)
		err  error
	}{
		{"empty unit id", "", func(*experiment.Experiment) {}, bucketing.ErrEmptyUserID},
		{"one variant", "u", func(e *experiment.Experiment) { e.Variants = e.Variants[:1] }, bucketing.ErrTooFewVariants},
		{"no variants", "u", func(e *experiment.Experiment) { e.Variants = nil }, bucketing.ErrTooFewVariants},
		{"NaN weight", "u", func(e *experiment.Experiment) { e.Variants[1].Weight = math.NaN() }, bucketing.ErrInvalidWeight},
		{"negative weight", "u", func(e *experiment.Experiment) { e.Variants[1].Weight = -1 }, bucketing.ErrInvalidWeight},
		{"zero weights", "u", func(e *experiment.Experiment) { e.Variants[0].Weight, e.Variants[1].Weight = 0, 0 }, bucketing.ErrNoPositiveWeight},
		{"zero coverage", "u", func(e *experiment.Experiment) { e.Coverage = 0 }, ErrInvalidCoverage},
		{"coverage above 1", "u", func(e *experiment.Experiment) { e.Coverage = 1.5 }, ErrInvalidCoverage},
		{"NaN coverage", "u", func(e *experiment.Experiment) { e.Coverage = math.NaN() }, ErrInvalidCoverage},
		{"override of no variant", "qa", func(e *experiment.Experiment) { e.Overrides = map[string]string{"qa": "gone"} }, ErrOverrideVariant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExp(tt.mod, func(e *experiment.Experiment) { e.Condition = compile(t, `{"never":true}`) })
			d, err := Decide(e, tt.unit, nil, nil, all)
			if !errors.Is(err, tt.err) || d != (Decision{}) {
				t.Fatalf("Decide = %+v, %v; want %v", d, err, tt.err)
			}
		})
	}
	if !errors.Is(ErrInvalidCoverage, bucketing.ErrInvalidCoverage) {
		t.Error("ErrInvalidCoverage does not wrap bucketing.ErrInvalidCoverage")
	}
}

// An override needs no bucketing, so it is served whatever the weights.
func TestOverrideNeedsNoWeights(t *testing.T) {
	e := newExp(func(e *experiment.Experiment) {
		e.Variants[0].Weight, e.Variants[1].Weight = 0, 0
		e.Overrides = map[string]string{"qa": "treatment"}
	})
	for _, decide := range []func() (Decision, bool, error){
		func() (Decision, bool, error) { return Override(e, "qa") },
		func() (Decision, bool, error) { d, err := Decide(e, "qa", nil, nil, nil); return d, true, err },
	} {
		d, ok, err := decide()
		want := Decision{Variant: 1, VariantKey: "treatment", Reason: ReasonOverride}
		if err != nil || !ok || d != want {
			t.Errorf("got %+v, %v, %v; want %+v", d, ok, err, want)
		}
	}
	if _, ok, err := Override(e, "someone"); ok || err != nil {
		t.Errorf("Override of a unit without one = %v, %v; want false, nil", ok, err)
	}
}

func TestStickyAndNotAssigned(t *testing.T) {
	e := newExp()
	if d, ok := Sticky(e, "treatment"); !ok || d != (Decision{Variant: 1, VariantKey: "treatment", InExperiment: true, Reason: ReasonSticky}) {
		t.Errorf("Sticky = %+v, %v", d, ok)
	}
	if d, ok := Sticky(e, "added-later"); ok || d != (Decision{}) {
		t.Errorf("Sticky of a missing variant = %+v, %v; want false", d, ok)
	}
	if d := NotAssigned(e); d != (Decision{Variant: 0, VariantKey: "control", Reason: ReasonNotAssigned}) {
		t.Errorf("NotAssigned = %+v", d)
	}
}

func TestReasons(t *testing.T) {
	want := []string{"override", "assigned", "sticky", "holdout", "not_targeted", "not_in_layer", "not_in_coverage", "not_assigned", "inactive", "no_unit_id"}
	if len(Reasons) != len(want) {
		t.Fatalf("Reasons = %v, want %v in some order", Reasons, want)
	}
	for _, r := range want {
		if !Reason(r).Valid() {
			t.Errorf("%q is not a valid reason", r)
		}
	}
	if Reason("").Valid() || Reason("Assigned").Valid() {
		t.Error("an unknown reason is valid")
	}
}
