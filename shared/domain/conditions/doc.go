// Package conditions decides which units an experiment targets, with
// GrowthBook's targeting condition language, so a condition written for a
// GrowthBook SDK means the same here.
//
// It is pure (no I/O, no clock, no randomness): a condition's answer
// depends on the condition, the attributes and the saved groups alone.
//
// # The language
//
// A condition is a JSON object, MongoDB-like. Each key is an attribute path
// ("country", or "address.country" into nested objects, "tags.0" and
// "tags.length" into arrays) whose value must match, or a logical operator:
// $and, $or, $nor (arrays of conditions) and $not (a condition). All keys must
// hold; {} matches everything. Keys starting with "$" that are not logical
// operators are attribute names, as in GrowthBook ($groups).
//
// A path's value is either a literal, compared with JavaScript's coercions
// (a string condition matches String(value), a number Number(value), a
// boolean Boolean(value) unless the value is null, null only null; an array
// or object the same JSON), or an object of operators, all of which must
// hold:
//
//	$eq $ne                      strict equality (===) with a scalar
//	$lt $lte $gt $gte            JavaScript's <, <=, >, >=: two strings compare
//	                             as text, anything else as numbers
//	$regex $regexi               a JavaScript regular expression, case-sensitive
//	                             or not, tested against String(value)
//	$in $nin $ini $nini          membership in a list of scalars; an array value
//	                             matches when any element does; i: case-insensitive
//	$all $alli                   an array value with a match for every element
//	                             of the list (plain strings compare case-insensitively
//	                             in $alli)
//	$size                        an array value's length matches (a number or
//	                             operators)
//	$elemMatch                   some truthy element of an array value matches:
//	                             operators apply to the element, a condition to
//	                             its fields
//	$exists                      the value is (true) or is not (false) non-null
//	$type                        string, number, boolean, array, object or null
//	$not                         the value does not match (a literal or operators)
//	$veq $vne $vgt $vgte $vlt $vlte
//	                             version comparison by GrowthBook's
//	                             paddedVersionString (version.go)
//	$inGroup $notInGroup         membership in a saved group, whose members are
//	                             passed with each evaluation (SavedGroups)
//
// A missing attribute reads as null everywhere, as GrowthBook's getPath
// returns it.
//
// # Compile once, evaluate many
//
// Compile parses and checks a condition when it is defined: operand types,
// regular expressions (compiled there, once), versions (padded there),
// case-insensitive lists (lowered there). An invalid condition is refused
// then, with an *Error whose Path names the offending part
// (condition.$and[1].country.$regex) for a 400 answer, and never at
// evaluation: Eval cannot fail, and allocates nothing for attributes that
// are strings, numbers, booleans or null (but a number under $regex, whose
// text regexp keeps). A compiled Condition is immutable and safe for
// concurrent use.
//
// # Compatibility
//
// Evaluation follows GrowthBook's JavaScript SDK (sdk-js mongrule.ts), the
// reference every GrowthBook SDK is measured against. The tests run the
// evalCondition section of GrowthBook's cross-SDK suite and 58,564
// evaluations produced by the JavaScript itself (testdata/README.md).
//
// Refused at definition time (GrowthBook evaluates them to false): seven
// cases of the suite carry conditions GrowthBook cannot mean, and which it
// evaluates to false for every unit; this package refuses them when they are
// defined instead:
//
//	$in - not array, $nin - not array, $ini - not array, $nini - not array
//	unknown operator - pass               ($regx)
//	$regex invalid - pass, $regex invalid - fail    ("/???***[)")
//
// For the same reason Compile refuses an unknown operator anywhere, a list
// operator without a list, $eq or a list element that is an array or object
// (GrowthBook compares those by identity, so they never match), a $type that
// can never match, and regular expressions RE2 cannot run (lookaround,
// backreferences); see compile.go and regex.go.
//
// Known differences, all at the edges: literal objects compare as sets of
// keys (JavaScript compares their JSON text, which depends on key order); a
// path finds only the data's own keys (JavaScript's `in` also finds
// "constructor" and the like); and in regular expressions a character above
// U+FFFF is one character (two UTF-16 code units in JavaScript) and $regexi
// pairs the Kelvin sign and ſ with k and s. $elemMatch skips falsy elements
// (0, "", false) as mongrule.ts does.
package conditions
