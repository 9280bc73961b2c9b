package classicapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
)

// body is a create or PATCH body. The read-only fields a client may echo
// back from a read (id, status, dates, _count) are accepted and ignored;
// any other unknown field is refused.
type body struct {
	Name        *string          `json:"name"`
	Description *string          `json:"description"`
	Type        *string          `json:"type"`
	AudienceID  json.RawMessage  `json:"audienceId"` // absent, null (none) or a saved group key
	Variants    *[]variantInput  `json:"variants"`
	Primary     *string          `json:"primaryEvent"` // this service's extension: the conversion event compute-results reads
	ID          *json.RawMessage `json:"id"`
	Status      *json.RawMessage `json:"status"`
	StartDate   *json.RawMessage `json:"startDate"`
	EndDate     *json.RawMessage `json:"endDate"`
	CreatedAt   *json.RawMessage `json:"createdAt"`
	UpdatedAt   *json.RawMessage `json:"updatedAt"`
	Count       *json.RawMessage `json:"_count"`
}

// variantInput is one variant of a body: id is optional (a new variant
// gets the next free "v<n>").
type variantInput struct {
	ID              *string         `json:"id"`
	Name            *string         `json:"name"`
	SplitPercentage *json.Number    `json:"splitPercentage"`
	FlowID          *string         `json:"flowId"`
	Config          json.RawMessage `json:"config"`
	Count           json.RawMessage `json:"_count"`
}

// TypeABTest is the one experiment type served.
const TypeABTest = "ab_test"

// decode reads a body; problems gathers what is wrong, by the reference's
// field names.
func decode(raw []byte) (body, experiment.Problems, error) {
	var b body
	if err := httpapi.DecodeObject(raw, &b, true); err != nil {
		return b, nil, err
	}
	p := experiment.Problems{}
	if b.Type != nil && *b.Type != TypeABTest {
		p["type"] = "must be " + TypeABTest
	}
	if b.Primary != nil && !experiment.ValidEventName(*b.Primary) {
		p["primaryEvent"] = "must match " + experiment.EventNamePattern
	}
	return b, p, nil
}

// audience reads audienceId: nil for null, the saved group key otherwise;
// set says whether the field was sent.
func (b body) audience(p experiment.Problems) (key *string, set bool) {
	t := bytes.TrimSpace(b.AudienceID)
	if len(t) == 0 {
		return nil, false
	}
	if string(t) == "null" {
		return nil, true
	}
	var s string
	if json.Unmarshal(t, &s) != nil || !experiment.ValidKey(s) {
		p["audienceId"] = "must be null or a saved group key matching " + experiment.KeyPattern
		return nil, true
	}
	return &s, true
}

// audienceCondition is the targeting an audience stands for: units whose
// id is in the saved group.
func audienceCondition(group string) (*conditions.Condition, error) {
	return conditions.CompileMap(map[string]any{"id": map[string]any{"$inGroup": group}})
}

// audienceOf is the saved group an experiment's condition stands for, if
// it is exactly an audience's ("" otherwise).
func audienceOf(e *experiment.Experiment) string {
	if e.Condition == nil {
		return ""
	}
	src, err := e.Condition.MarshalJSON()
	if err != nil {
		return ""
	}
	var c map[string]map[string]string
	if json.Unmarshal(src, &c) != nil || len(c) != 1 || len(c["id"]) != 1 {
		return ""
	}
	return c["id"]["$inGroup"]
}

// variants turns the body's variants into the service's, keyed by their id
// or, when they have none, by the id of the current variant at the same
// place (a list sent again without ids keeps them) or the next free "v<n>".
// Split percentages must sum to 100.
func variants(in []variantInput, current []experiment.Variant, p experiment.Problems) []experiments.VariantPatch {
	used := map[string]bool{}
	for _, v := range in {
		if v.ID != nil {
			used[*v.ID] = true
		}
	}
	next := 1
	fresh := func() string {
		for ; ; next++ {
			if id := fmt.Sprintf("v%d", next); !used[id] && !hasVariant(current, id) {
				used[id] = true
				return id
			}
		}
	}
	out := make([]experiments.VariantPatch, len(in))
	sum, valid := 0.0, true
	for i, v := range in {
		at := fmt.Sprintf("variants[%d].", i)
		var vp experiments.VariantPatch
		switch {
		case v.ID != nil:
			vp.Key = *v.ID
		case i < len(current) && !used[current[i].Key]:
			vp.Key = current[i].Key
			used[vp.Key] = true
		default:
			vp.Key = fresh()
		}
		if v.Name == nil || strings.TrimSpace(*v.Name) == "" {
			p[at+"name"] = "is required"
		}
		vp.Name, vp.FlowID = v.Name, v.FlowID
		if vp.FlowID == nil {
			vp.FlowID = new(string) // null or absent: none
		}
		w, err := splitOf(v.SplitPercentage)
		if err != "" {
			p[at+"splitPercentage"], valid = err, false
		}
		sum += w
		vp.Weight = &w
		payload := json.RawMessage("null")
		if t := bytes.TrimSpace(v.Config); len(t) > 0 {
			var compact bytes.Buffer
			if json.Compact(&compact, t) == nil {
				payload = compact.Bytes()
			}
		}
		vp.Payload = &payload
		out[i] = vp
	}
	if valid && len(in) > 0 && math.Abs(sum-100) > 1e-9 {
		p["variants"] = fmt.Sprintf("splitPercentage values must sum to 100 (they sum to %g)", sum)
	}
	return out
}

// splitOf reads a split percentage: a number from 0 to 100.
func splitOf(n *json.Number) (float64, string) {
	if n == nil {
		return 0, "is required"
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 100 {
		return 0, "must be a number from 0 to 100"
	}
	return f, ""
}

func hasVariant(vs []experiment.Variant, key string) bool {
	for _, v := range vs {
		if v.Key == key {
			return true
		}
	}
	return false
}

// renamed gives the use case's problems the reference's field names.
func renamed(p experiment.Problems) experiment.Problems {
	r := strings.NewReplacer(".weight", ".splitPercentage", ".payload", ".config", ".flow_id", ".flowId", ".key", ".id")
	out := make(experiment.Problems, len(p))
	for k, msg := range p {
		switch k {
		case "primary_event":
			k = "primaryEvent"
		case "condition":
			k = "audienceId"
		}
		out[r.Replace(k)] = msg
	}
	return out
}

// newKey is a fresh experiment id: "exp_" and 13 random letters and digits
// (65 bits; the reference's ids look the same).
func newKey() string {
	return "exp_" + strings.ToLower(rand.Text()[:13])
}

// invalid is a VALIDATION_FAILED error with the reference's field names, or
// nil when p is empty.
func invalid(p experiment.Problems) error {
	if len(p) == 0 {
		return nil
	}
	return fault.Validation(renamed(p))
}
