package adminapi

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/keys"
)

// form decodes a JSON object field by field, collecting every problem under
// the field's path, so one 400 names all bad fields at once. It checks JSON
// types only; the rules (lengths, patterns, counts) are the domain's, merged
// in by problems.
type form struct {
	fields map[string]json.RawMessage
	errs   experiment.Problems
	prefix string
}

// newForm parses a JSON object and flags fields outside allowed.
func newForm(raw []byte, prefix string, errs experiment.Problems, allowed ...string) (*form, bool) {
	f := &form{errs: errs, prefix: prefix}
	t := httpapi.TrimJSONSpace(raw)
	if len(t) == 0 || t[0] != '{' || !httpapi.ValidJSON(t) || json.Unmarshal(t, &f.fields) != nil {
		return nil, false
	}
	for name := range f.fields {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			f.fail(name, "unknown field")
		}
	}
	return f, true
}

func (f *form) fail(name, msg string) { f.errs[f.prefix+name] = msg }

func (f *form) has(name string) bool { _, ok := f.fields[name]; return ok }

// str reads a string field.
func (f *form) str(name string, required bool) (string, bool) {
	raw, ok := f.fields[name]
	if !ok {
		if required {
			f.fail(name, "is required")
		}
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail(name, "must be a string")
		return "", false
	}
	return s, true
}

func (f *form) weight(name string) float64 {
	raw, ok := f.fields[name]
	if !ok {
		f.fail(name, "is required")
		return 0
	}
	var w float64
	// null would decode as 0 without an error: a weight must be a number.
	if err := json.Unmarshal(raw, &w); err != nil || string(bytes.TrimSpace(raw)) == "null" {
		f.fail(name, "must be a finite number >= 0")
	}
	return w
}

func (f *form) integer(name string) int64 {
	raw, ok := f.fields[name]
	if !ok {
		f.fail(name, "is required")
		return 0
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
		f.fail(name, "must be a positive integer")
	}
	return n
}

// variants reads the variants array's JSON. In a patch a variant's weight
// and payload may be left out (unchanged); an explicit null payload clears it.
func (f *form) variants(name string, patch bool) []experiments.VariantPatch {
	raw, ok := f.fields[name]
	if !ok {
		f.fail(name, "is required")
		return nil
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		f.fail(name, "must be an array of variants")
		return []experiments.VariantPatch{}
	}
	out := make([]experiments.VariantPatch, 0, len(items))
	for i, raw := range items {
		prefix := f.prefix + name + "[" + itoa(i) + "]."
		vf, ok := newForm(raw, prefix, f.errs, "key", "weight", "payload")
		if !ok {
			f.errs[strings.TrimSuffix(prefix, ".")] = "must be an object"
			out = append(out, experiments.VariantPatch{})
			continue
		}
		var v experiments.VariantPatch
		v.Key, _ = vf.str("key", true)
		if !patch || vf.has("weight") {
			w := vf.weight("weight")
			v.Weight = &w
		}
		if p, ok := vf.fields["payload"]; ok {
			var compact bytes.Buffer
			payload := json.RawMessage("null")
			if json.Compact(&compact, p) == nil {
				payload = compact.Bytes()
			}
			v.Payload = &payload
		}
		out = append(out, v)
	}
	return out
}

// names reads an array of strings.
func (f *form) names(name string) ([]string, bool) {
	raw := f.fields[name]
	var out []string
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &out) != nil {
		f.fail(name, "must be an array of event names")
		return nil, false
	}
	if out == nil {
		out = []string{}
	}
	return out, true
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// problems adds the domain's problems to the decoding ones, except where
// a field (or its variant) already failed to decode, and returns them as a
// 400 VALIDATION_FAILED (nil when there are none).
func problems(decoding, rules experiment.Problems) error {
	for path, msg := range rules {
		parent, _, _ := strings.Cut(path, ".")
		if _, ok := decoding[path]; ok {
			continue
		}
		if _, ok := decoding[parent]; ok && parent != path {
			continue
		}
		decoding[path] = msg
	}
	if len(decoding) == 0 {
		return nil
	}
	return fault.Validation(decoding)
}

func invalidJSON() error {
	return fault.New(fault.Invalid, fault.CodeInvalidJSON, "request body must be a JSON object")
}

func parseCreate(body []byte) (experiments.NewInput, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, append(append([]string{"key", "name", "description", "variants", "events", "status"}, targetingFields...), metricFields...)...)
	if !ok {
		return experiments.NewInput{}, invalidJSON()
	}
	var in experiments.NewInput
	in.Key, _ = f.str("key", true)
	in.Name, _ = f.str("name", true)
	in.Description, _ = f.str("description", false)
	in.Variants = experiments.Provisional(f.variants("variants", false))
	if f.has("events") {
		in.Events, _ = f.names("events")
	}
	in.Status = experiment.Draft
	if s, ok := f.str("status", false); ok {
		in.Status = experiment.Status(s)
	}
	in.Targeting = f.targeting(false)
	m := f.metrics()
	in.Metrics.Primary = deref(m.Primary)
	in.Metrics.Secondary, in.Metrics.Guardrails = derefList(m.Secondary), derefList(m.Guardrails)
	in.StopOnGuardrail = deref(m.StopOnGuardrail)
	return in, problems(errs, experiments.CheckNew(in))
}

func parsePatch(body []byte) (experiments.Patch, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, append(append([]string{"version", "name", "description", "variants", "events"}, targetingFields...), metricFields...)...)
	if !ok {
		return experiments.Patch{}, invalidJSON()
	}
	var p experiments.Patch
	p.Version = f.integer("version")
	if s, ok := f.str("name", false); ok {
		p.Name = &s
	}
	if s, ok := f.str("description", false); ok {
		p.Description = &s
	}
	if f.has("variants") {
		p.Variants = f.variants("variants", true)
	}
	if f.has("events") {
		if names, ok := f.names("events"); ok {
			p.Events = &names
		}
	}
	p.Targeting = f.targeting(true)
	p.Metrics = f.metrics()
	rules := experiments.CheckPatch(p)
	if len(f.fields) > 1 && len(rules) > 0 && rules["name"] != "" && p.Name == nil {
		// Every other field sent is unknown or undecodable, and says so.
		delete(rules, "name")
	}
	return p, problems(errs, rules)
}

func parseNewKey(body []byte) (name string, role apikey.Role, err error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "name", "role")
	if !ok {
		return "", "", invalidJSON()
	}
	name, _ = f.str("name", true)
	r, _ := f.str("role", true)
	return name, apikey.Role(r), problems(errs, keys.Problems(name, apikey.Role(r)))
}
