package store

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// A unit's metric values live on its assignment item as one number per
// metric side: mx:<metric> (the value, or a ratio's numerator) and
// my:<metric> (a ratio's denominator), raw (uncapped), added to by events
// (RecordEventFor) and set by a recount; and mp:<metric>, the CUPED
// covariate, set by the first exposure (RecordExposureFor) and a recount.
// Attributes at the top level, so ADD creates them.
func valueAttr(metric string) string       { return "mx:" + metric }
func denominatorAttr(metric string) string { return "my:" + metric }
func preAttr(metric string) string         { return "mp:" + metric }

// valueSide is one stored number of a metric value.
type valueSide struct {
	attr string
	n    float64
}

// sidesOf are v's stored numbers of metric key, in a fixed order.
func sidesOf(key string, v experiment.Value) [3]valueSide {
	return [3]valueSide{{valueAttr(key), v.X}, {denominatorAttr(key), v.Y}, {preAttr(key), v.Pre}}
}

// isValueAttr reports whether an attribute holds a metric value's side.
func isValueAttr(name string) bool {
	return strings.HasPrefix(name, "mx:") || strings.HasPrefix(name, "my:") || strings.HasPrefix(name, "mp:")
}

// decodeValues reads an assignment item's metric values.
func decodeValues(it item) map[string]experiment.Value {
	var out map[string]experiment.Value
	for name := range it {
		if !isValueAttr(name) {
			continue
		}
		kind, key, _ := strings.Cut(name, ":")
		if out == nil {
			out = map[string]experiment.Value{}
		}
		v := out[key]
		switch kind {
		case "mx":
			v.X = getF(it, name)
		case "my":
			v.Y = getF(it, name)
		default:
			v.Pre = getF(it, name)
		}
		out[key] = v
	}
	return out
}

// storedValues are an assignment item's value attributes as stored.
func storedValues(it item) map[string]string {
	var out map[string]string
	for name, av := range it {
		n, ok := av.(*types.AttributeValueMemberN)
		if !ok || !isValueAttr(name) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = n.Value
	}
	return out
}

// minDecimal is below the smallest magnitude DynamoDB stores (1E-130):
// such a number is stored as 0.
const minDecimal = 1e-129

// avDecimal writes a float as a plain decimal (no exponent, at most 17
// significant digits, which DynamoDB's 38 hold exactly, so its ADD sums
// them exactly).
func avDecimal(f float64) types.AttributeValue {
	if math.Abs(f) < minDecimal || math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(f, 'f', -1, 64)}
}

// sortedKeys returns m's keys in order, so expressions built from a map
// are the same every time.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
