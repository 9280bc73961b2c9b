package experiment

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/abtest/abtest/shared/domain/conditions"
)

// Unit is what an experiment buckets: the signed-in user, or the device
// (logged-out surfaces such as landing and pricing pages).
type Unit string

const (
	UnitUser   Unit = "user_id"
	UnitDevice Unit = "device_id"
)

// Valid reports whether u is a known unit.
func (u Unit) Valid() bool { return u == UnitUser || u == UnitDevice }

// UnitOf is what e buckets; a definition without a unit buckets users.
func (e *Experiment) UnitOf() Unit {
	if e.Unit == "" {
		return UnitUser
	}
	return e.Unit
}

// LayerSlice is an experiment's share of a layer (a GrowthBook namespace):
// a unit is in it when bucketing.InNamespace(unit id, {Key, Start, End}).
// Experiments of one layer have disjoint slices, so a unit is in at most
// one of them.
type LayerSlice struct {
	Key   string  `json:"key"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Overlaps reports whether two slices of one layer share any point.
func (s LayerSlice) Overlaps(o LayerSlice) bool {
	return s.Key == o.Key && s.Start < o.End && o.Start < s.End
}

// Targeting limits, documented in the README.
const (
	// MaxOverrides bounds the forced variants of one experiment; they live
	// in the definition item (DynamoDB's 400 KB item limit).
	MaxOverrides = 1000
	// MaxDefinitionBytes bounds a whole definition below DynamoDB's item
	// limit, with room for the item's bookkeeping attributes.
	MaxDefinitionBytes = 350 << 10
)

// CoverageProblem checks a coverage (the share of targeted units enrolled).
func CoverageProblem(c float64) string {
	if math.IsNaN(c) || c <= 0 || c > 1 {
		return "must be a number with 0 < coverage <= 1"
	}
	return ""
}

// CheckTargeting adds to p every problem of the targeting fields of e.
// (The condition is checked when it is compiled, at decoding.)
func CheckTargeting(p Problems, e *Experiment) {
	if msg := CoverageProblem(e.Coverage); msg != "" {
		p["coverage"] = msg
	}
	if e.Unit != "" && !e.Unit.Valid() {
		p["unit"] = "must be user_id or device_id"
	}
	if l := e.Layer; l != nil {
		if msg := KeyProblem(l.Key); msg != "" {
			p["layer.key"] = msg
		}
		if math.IsNaN(l.Start) || math.IsNaN(l.End) || l.Start < 0 || l.End > 1 || l.Start >= l.End {
			p["layer"] = "start and end must satisfy 0 <= start < end <= 1"
		}
	}
	if len(e.Overrides) > MaxOverrides {
		p["overrides"] = fmt.Sprintf("must hold at most %d units", MaxOverrides)
		return
	}
	ids := make([]string, 0, len(e.Overrides))
	for id := range e.Overrides {
		ids = append(ids, id)
	}
	sort.Strings(ids) // one answer for the same input
	for _, id := range ids {
		at := "overrides[" + id + "]"
		if !ValidUnitID(id) {
			p["overrides"] = "unit ids must be 1-256 bytes of UTF-8 without control or format characters"
			continue
		}
		if _, ok := e.Variant(e.Overrides[id]); !ok {
			p[at] = "must name a variant of the experiment"
		}
	}
	if n := e.approxSize(); n > MaxDefinitionBytes {
		p["definition"] = fmt.Sprintf("is %d bytes, at most %d (payloads, overrides and condition together)", n, MaxDefinitionBytes)
	}
}

// approxSize is the definition's size as DynamoDB counts it, near enough
// to keep it under the item limit.
func (e *Experiment) approxSize() int {
	n := len(e.Name) + len(e.Description) + 512
	for _, v := range e.Variants {
		n += len(v.Key)*2 + len(v.Payload) + 32
	}
	for id, v := range e.Overrides {
		n += len(id) + len(v) + 8
	}
	if e.Condition != nil {
		b, _ := e.Condition.MarshalJSON()
		n += len(b)
	}
	return n
}

// CompileCondition compiles a condition as the definition field "condition":
// a problem names the path inside it ("condition.$and[1].country.$regex").
func CompileCondition(p Problems, raw []byte) *conditions.Condition {
	c, err := conditions.Compile(raw)
	if err != nil {
		var ce *conditions.Error
		if errors.As(err, &ce) {
			p[ce.Path] = ce.Problem
		} else {
			p["condition"] = err.Error()
		}
		return nil
	}
	return c
}
