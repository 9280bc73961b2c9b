package store

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// encodeTargeting adds a definition's targeting fields to its item: the
// condition as the JSON text the admin gave (compacted), the unit, the
// layer slice as a map, the overrides as a map of unit id to variant.
func encodeTargeting(it item, e *experiment.Experiment) {
	if e.Condition != nil {
		if b, err := e.Condition.MarshalJSON(); err == nil && string(b) != "{}" {
			it["condition"] = avS(string(b))
		}
	}
	if e.Unit != "" {
		it["unit"] = avS(string(e.Unit))
	}
	if l := e.Layer; l != nil {
		it["layer"] = &types.AttributeValueMemberM{Value: item{"key": avS(l.Key), "start": avF(l.Start), "end": avF(l.End)}}
	}
	if len(e.Overrides) > 0 {
		m := make(item, len(e.Overrides))
		for id, v := range e.Overrides {
			m[id] = avS(v)
		}
		it["overrides"] = &types.AttributeValueMemberM{Value: m}
	}
}

// decodeTargeting reads them back, compiling the condition once here: the
// snapshot holds definitions compiled, so requests never parse a condition.
func decodeTargeting(it item, e *experiment.Experiment) error {
	if c := getS(it, "condition"); c != "" {
		cond, err := conditions.Compile([]byte(c))
		if err != nil {
			return err
		}
		e.Condition = cond
	}
	e.Unit = experiment.Unit(getS(it, "unit"))
	if m, ok := it["layer"].(*types.AttributeValueMemberM); ok {
		e.Layer = &experiment.LayerSlice{Key: getS(m.Value, "key"), Start: getF(m.Value, "start"), End: getF(m.Value, "end")}
	}
	if m, ok := it["overrides"].(*types.AttributeValueMemberM); ok {
		e.Overrides = make(map[string]string, len(m.Value))
		for id, v := range m.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				e.Overrides[id] = s.Value
			}
		}
	}
	return nil
}
