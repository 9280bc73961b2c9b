// Package flag is the feature flag model: a typed default value, an on/off
// switch, and ordered rules of which the first that applies decides the
// value a unit gets (GrowthBook's features, ABetterChoice's flags bound to
// experiments). It is pure: definitions are checked and their conditions
// compiled once, at definition time; evaluating a flag for a unit reads no
// table and, for string ids, allocates nothing.
//
// # Rules
//
//   - force {condition, value}: every unit the condition matches gets value.
//   - rollout {condition, coverage, value, hash_attribute}: a unit the
//     condition matches gets value when its hash falls within coverage.
//     The hash is GrowthBook's rollout hash: version 1 of the value of the
//     hash attribute (default "id") seeded with the flag key, and the unit
//     is in when hash <= coverage (GrowthBook's JavaScript SDK, the
//     reference; coverage 0 includes no one). The hash does not depend on
//     the coverage, so raising it never removes a unit that was in.
//   - experiment {experiment, values}: the unit's variant of the experiment
//     picks the value. Evaluate asks the caller for that variant (Enrolments),
//     so the experiment's own decision (override, stickiness, holdouts,
//     targeting, layer, coverage) applies; a unit not enrolled, or enrolled
//     in a variant the rule gives no value (one added to the experiment
//     later), falls through to the next rule.
//
// A disabled flag serves its default value (source "disabled") and asks
// no experiment.
package flag
