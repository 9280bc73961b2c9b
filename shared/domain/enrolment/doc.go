// Package enrolment decides whether a unit enters an experiment, and with
// which variant. It is pure (no I/O, no clock, no randomness): the answer
// depends on the definition, the unit, its attributes, the saved groups and
// the holdouts alone, so it can be recomputed anywhere to audit it.
//
// # What the caller does, in order
//
// The caller (the assignment use case) holds the I/O, so the steps that
// need it are its own; each step wins over every later one:
//
//  0. Override: Override(exp, unitID). A forced variant (QA) is served as
//     it is, InExperiment false: nothing is stored and nothing counted.
//     Checked first, before any read, since it needs none.
//  1. Stored assignment: a unit already assigned keeps its variant
//     (Sticky), whatever the definition now says; assignments are sticky.
//  2. Status: only an active experiment enrols. A unit of any other status
//     without an assignment gets the control (NotAssigned).
//  3. Decide, which applies the override again (so Decide alone is never
//     wrong) and then, for the unit of an active experiment without an
//     assignment: holdouts, then the condition (on Attributes: the caller's
//     attributes and the ids the service knows), then the layer slice, then
//     coverage. A unit that fails any gets the control, InExperiment false,
//     with the Reason naming the first step it failed.
//  4. Otherwise the unit is enrolled (ReasonAssigned) with its bucketed
//     variant, which the caller stores with a conditional put: a concurrent
//     call may have stored one first, and that one wins.
//
// # Compatibility
//
// The condition, layer and coverage steps give what GrowthBook's
// RunExperiment gives for the same experiment (condition, coverage,
// namespace = layer slice, hash version 2, normalized weights, hash
// attribute "id"): the same units enrolled, with the same variant. GrowthBook
// checks the namespace before the condition; the order changes only the
// Reason, never the answer, since a unit must pass every step. Holdouts and
// overrides have no counterpart in that API. The condition is answered by
// the conditions package, which follows sdk-js (suite 0.8.0);
// growthbook-golang v0.7.0 follows suite 0.12.0, which no longer orders a
// number against a string or a missing attribute, nor coerces a boolean
// literal, so for such attributes the two can differ (the tests list the
// cases).
//
// # Holdouts
//
// A holdout keeps a fixed share of units out of every experiment it covers,
// so their behaviour measures all experiments' combined effect. A unit is
// held out when Hash("__holdout_"+key, unit, 2) < percent/100, the same
// point for every experiment, so raising the percent only adds units to it.
package enrolment
