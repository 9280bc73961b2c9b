// Package bucketing decides which variant of an experiment a user gets.
//
// It is pure (no I/O, no clock, no randomness) and allocation-free on the hot
// path, so the same user always lands in the same variant on every Lambda
// instance, and the assignment can be recomputed anywhere to audit it.
//
// # Algorithm
//
// Assignment follows GrowthBook's SDK specification, so an experiment run by
// this service buckets users exactly as a GrowthBook SDK would:
//
//  1. Namespace (optional): n = Hash("__"+namespace, userID, 1); the user
//     takes part only if namespace.Start <= n < namespace.End. Experiments
//     whose ranges in one namespace do not overlap are mutually exclusive.
//  2. n = Hash(experimentKey, userID, 2), a number in [0, 1) with 1/10000
//     resolution.
//  3. The weights, normalized to sum to 1, are laid out end to end on [0, 1);
//     variant i owns [start_i, start_i + coverage*weight_i). Coverage
//     shortens each range at its end and never moves its start, so raising
//     it only adds users and lowering it only unenrolls them: nobody moves
//     to another variant.
//  4. The variant is the range holding n, or -1 (not enrolled) when n falls
//     in a gap left by coverage.
//
// Coverage ramps and namespace ranges are the extension points for later
// features: a traffic ramp raises coverage over time, and mutually
// exclusive layers give each experiment a disjoint slice of one namespace.
//
// # Hash
//
// Hash is 32-bit FNV-1a as GrowthBook's JavaScript SDK computes it:
//
//	v1: (fnv1a32(value + seed) % 1000) / 1000
//	v2: (fnv1a32(decimal(fnv1a32(seed + value))) % 10000) / 10000
//
// The JavaScript SDK feeds FNV-1a with UTF-16 code units (charCodeAt), not
// UTF-8 bytes, so this package hashes each rune's UTF-16 encoding (a surrogate
// pair above U+FFFF). Non-ASCII user ids therefore bucket as in the JavaScript
// SDK (the reference) and growthbook-golang. Invalid UTF-8 hashes as U+FFFD
// per bad byte, which is what encoding/json produces when it decodes such
// input; a JavaScript string with a lone surrogate cannot reach Go intact, so
// that one case cannot match.
//
// # Compatibility
//
// The tests run GrowthBook's cross-SDK suite (testdata/growthbook-cases.json)
// for hash, getBucketRange, chooseVariation, getEqualWeights and inNamespace,
// and check that Choose agrees with growthbook-golang's RunExperiment.
// Range ends are computed as start + float64(coverage*weight): the explicit
// conversion stops the compiler fusing a multiply-add (as it may on arm64),
// which would round differently from JavaScript.
package bucketing
