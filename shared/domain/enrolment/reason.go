package enrolment

// Reason says why a unit got its variant: the one list of reasons, shared
// by Decide and by the callers that answer before calling it.
type Reason string

const (
	// ReasonOverride: the definition forces a variant on the unit (QA).
	ReasonOverride Reason = "override"
	// ReasonAssigned: the unit was enrolled now, by bucketing.
	ReasonAssigned Reason = "assigned"
	// ReasonSticky: the unit's stored assignment (the caller's step).
	ReasonSticky Reason = "sticky"
	// ReasonHoldout: a holdout covering the experiment holds the unit out.
	ReasonHoldout Reason = "holdout"
	// ReasonNotTargeted: the unit's attributes fail the condition.
	ReasonNotTargeted Reason = "not_targeted"
	// ReasonNotInLayer: the unit is outside the experiment's layer slice.
	ReasonNotInLayer Reason = "not_in_layer"
	// ReasonNotInCoverage: the unit is outside the enrolled share.
	ReasonNotInCoverage Reason = "not_in_coverage"
	// ReasonNotAssigned: the unit has no assignment and the call did not
	// enrol it (enroll=false; the caller's step).
	ReasonNotAssigned Reason = "not_assigned"
	// ReasonInactive: the experiment is not active and the unit has no
	// assignment in it (one-call evaluation; the assignment route answers
	// 409 EXPERIMENT_INACTIVE instead).
	ReasonInactive Reason = "inactive"
	// ReasonNoUnitID: the call names no id of the experiment's unit (a
	// device-unit experiment without a device id, or a user-unit one for a
	// server call naming only a device).
	ReasonNoUnitID Reason = "no_unit_id"
)

// Reasons lists every reason, in the order the steps run.
var Reasons = []Reason{
	ReasonNoUnitID, ReasonOverride, ReasonSticky, ReasonNotAssigned, ReasonInactive, ReasonHoldout,
	ReasonNotTargeted, ReasonNotInLayer, ReasonNotInCoverage, ReasonAssigned,
}

// Valid reports whether r is one of Reasons.
func (r Reason) Valid() bool {
	for _, k := range Reasons {
		if r == k {
			return true
		}
	}
	return false
}
