package enrolment

import (
	"errors"
	"fmt"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// Errors for definitions that cannot be decided. Definition checks
// (experiment.CheckTargeting) refuse them, so one seen here is a bug or a
// corrupt item; Decide also returns bucketing's sentinels
// (ErrEmptyUserID, ErrTooFewVariants, ErrInvalidWeight,
// ErrNoPositiveWeight).
var (
	// ErrOverrideVariant: an override names no variant of the experiment.
	ErrOverrideVariant = errors.New("enrolment: an override names no variant of the experiment")
	// ErrInvalidCoverage: coverage is not within (0, 1]. Zero is refused
	// rather than read as "no one": it is what a definition without a
	// coverage decodes to, and enrolling no one would hide that. It wraps
	// bucketing.ErrInvalidCoverage.
	ErrInvalidCoverage = fmt.Errorf("enrolment: coverage must satisfy 0 < coverage <= 1: %w", bucketing.ErrInvalidCoverage)
)

// Decision is the variant a unit gets and why.
type Decision struct {
	// Variant is the index in the experiment's variants; 0, the control,
	// for a unit not enrolled.
	Variant int
	// VariantKey is the key of that variant.
	VariantKey string
	// InExperiment: the unit is enrolled and counted (assigned or sticky).
	// An override or control served to a unit not enrolled is not.
	InExperiment bool
	Reason       Reason
	// Holdout is the key of the holdout that held the unit out, if any.
	Holdout string
}

// maxStackVariants is how many weights Decide gathers without allocating;
// more variants still work, on the heap.
const maxStackVariants = 8

// Decide decides whether unitID enters exp, for a unit without a stored
// assignment of an active experiment (the caller checks both, see the
// package doc). It applies, in order: the override, the holdouts that
// cover exp, exp's condition on attrs (built with Attributes) and groups,
// its layer slice, and its coverage. It fails only for a definition that
// cannot be decided, or an empty unit id, and then for every unit not
// overridden, not only for those that reach bucketing. It does not
// allocate (up to 8 variants; see conditions for the one operator that
// may).
func Decide(exp *experiment.Experiment, unitID string, attrs map[string]any, groups conditions.SavedGroups, holdouts []Holdout) (Decision, error) {
	if d, ok, err := Override(exp, unitID); ok || err != nil {
		return d, err
	}
	var buf [maxStackVariants]float64
	weights := buf[:0]
	for i := range exp.Variants {
		weights = append(weights, exp.Variants[i].Weight)
	}
	if err := check(exp, unitID, weights); err != nil {
		return Decision{}, err
	}
	for i := range holdouts {
		if h := &holdouts[i]; h.Covers(exp) && InHoldout(*h, unitID) {
			d := control(exp, ReasonHoldout)
			d.Holdout = h.Key
			return d, nil
		}
	}
	if !exp.Condition.Eval(attrs, groups) {
		return control(exp, ReasonNotTargeted), nil
	}
	if l := exp.Layer; l != nil && !bucketing.InNamespace(unitID, bucketing.Namespace{ID: l.Key, Start: l.Start, End: l.End}) {
		return control(exp, ReasonNotInLayer), nil
	}
	// The layer is checked above, not passed as Choose's namespace, so the
	// reason can tell the two apart; the variant is the same either way.
	v, err := bucketing.Choose(exp.Key, unitID, weights, exp.Coverage, nil)
	if err != nil {
		return Decision{}, err
	}
	if v < 0 {
		return control(exp, ReasonNotInCoverage), nil
	}
	return Decision{Variant: v, VariantKey: exp.Variants[v].Key, InExperiment: true, Reason: ReasonAssigned}, nil
}

// check refuses what Choose would refuse, before any step can hide it
// behind a unit that is not targeted, and the zero coverage Choose accepts.
func check(exp *experiment.Experiment, unitID string, weights []float64) error {
	if unitID == "" {
		return bucketing.ErrEmptyUserID
	}
	if len(weights) < 2 {
		return bucketing.ErrTooFewVariants
	}
	if _, err := bucketing.WeightSum(weights); err != nil {
		return err
	}
	if c := exp.Coverage; !(c > 0 && c <= 1) { // !(...) also refuses NaN
		return ErrInvalidCoverage
	}
	return nil
}

// Override returns the variant exp forces on unitID, with ok false when it
// forces none. The caller asks it before reading the unit's assignment: an
// override wins over everything, needs no read, and is never stored.
func Override(exp *experiment.Experiment, unitID string) (d Decision, ok bool, err error) {
	key, found := exp.Overrides[unitID]
	if !found {
		return Decision{}, false, nil
	}
	for i := range exp.Variants {
		if exp.Variants[i].Key == key {
			return Decision{Variant: i, VariantKey: key, Reason: ReasonOverride}, true, nil
		}
	}
	return Decision{}, false, ErrOverrideVariant
}

// Sticky is the decision for a unit whose stored assignment is variantKey;
// ok is false when exp lacks that variant (a definition read before the
// variant was added: read it again).
func Sticky(exp *experiment.Experiment, variantKey string) (d Decision, ok bool) {
	for i := range exp.Variants {
		if exp.Variants[i].Key == variantKey {
			return Decision{Variant: i, VariantKey: variantKey, InExperiment: true, Reason: ReasonSticky}, true
		}
	}
	return Decision{}, false
}

// NotAssigned is the decision for a unit without an assignment that the
// call does not enrol (enroll=false): the control, not counted.
func NotAssigned(exp *experiment.Experiment) Decision {
	return control(exp, ReasonNotAssigned)
}

// control is the decision for a unit not enrolled.
func control(exp *experiment.Experiment, r Reason) Decision {
	return Decision{Variant: 0, VariantKey: exp.Control(), Reason: r}
}
