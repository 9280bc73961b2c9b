// Package stats holds the statistics behind experiment results. Everything
// here is a pure function of aggregate counts: no I/O, no global state, and
// no allocation.
//
// Conventions shared by every test in the package:
//
//   - "Control" is the baseline variant and "treatment" the variant compared
//     with it. Signed statistics (z, lift) are positive when the treatment
//     is higher than the control.
//   - Counts are int64. A group's counts are invalid when either is negative
//     or when conversions exceed the group's size.
//   - A statistic that is mathematically undefined for its inputs is
//     reported with ok == false (and, where the result type has one, an
//     [UndefinedReason]) instead of NaN or ±Inf, so callers can show "n/a"
//     and encoding/json never meets a NaN.
//
// Each statistical test lives in a file of its own, named after the test.
package stats
