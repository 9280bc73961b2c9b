package adminapi

import (
	"bytes"
	"encoding/json"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/usecase/experiments"
)

// targetingFields are the definition fields that decide who is enrolled.
var targetingFields = []string{"condition", "coverage", "unit", "layer", "overrides"}

// targeting reads the targeting fields present in f. In a patch, null
// clears a condition or a layer; in a create, null is refused.
func (f *form) targeting(patch bool) experiments.Targeting {
	var t experiments.Targeting
	if raw, ok := f.fields["condition"]; ok {
		switch {
		case isNull(raw) && patch:
			t.ClearCondition = true
		case !isObject(raw):
			f.fail("condition", "must be a condition object (GrowthBook's condition language)")
		default:
			if c := experiment.CompileCondition(f.errs, raw); c != nil {
				t.Condition = c
			}
		}
	}
	if raw, ok := f.fields["coverage"]; ok {
		var c float64
		if json.Unmarshal(raw, &c) != nil || isNull(raw) {
			f.fail("coverage", "must be a number with 0 < coverage <= 1")
		} else {
			t.Coverage = &c
		}
	}
	if u, ok := f.str("unit", false); ok {
		unit := experiment.Unit(u)
		t.Unit = &unit
	}
	if raw, ok := f.fields["layer"]; ok {
		if isNull(raw) && patch {
			t.ClearLayer = true
		} else if lf, ok := newForm(raw, "layer.", f.errs, "key", "start", "end"); !ok {
			f.fail("layer", `must be {"key": "<layer key>", "start": 0.0, "end": 0.5}`)
		} else {
			var l experiment.LayerSlice
			l.Key, _ = lf.str("key", true)
			l.Start, l.End = lf.number("start"), lf.number("end")
			t.Layer = &l
		}
	}
	if raw, ok := f.fields["overrides"]; ok {
		var m map[string]string
		if !isObject(raw) || json.Unmarshal(raw, &m) != nil {
			f.fail("overrides", `must be an object of unit id to variant key, e.g. {"qa-user-1": "treatment"}`)
		} else {
			if m == nil {
				m = map[string]string{}
			}
			t.Overrides = &m
		}
	}
	return t
}

// number reads a required number field.
func (f *form) number(name string) float64 {
	raw, ok := f.fields[name]
	if !ok {
		f.fail(name, "is required")
		return 0
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil || isNull(raw) {
		f.fail(name, "must be a number")
	}
	return n
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}
