package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/bucketing"
	"github.com/abtest/abtest/shared/experiment"
	"github.com/abtest/abtest/shared/httpapi"
)

// Limits on definitions, documented in the README.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 4000
	MaxVariants       = 20
	MaxPayloadBytes   = 16 << 10
)

// form decodes a JSON object field by field, collecting every problem under
// the field's path, so one 400 names all bad fields at once.
type form struct {
	fields map[string]json.RawMessage
	errs   map[string]string
	prefix string
}

// newForm parses a JSON object and flags fields outside allowed.
func newForm(raw []byte, prefix string, errs map[string]string, allowed ...string) (*form, bool) {
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

func (f *form) path(name string) string { return f.prefix + name }

func (f *form) fail(name, msg string) { f.errs[f.path(name)] = msg }

func (f *form) has(name string) bool { _, ok := f.fields[name]; return ok }

// str reads a string field of at most max characters.
func (f *form) str(name string, required bool, max int) (string, bool) {
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
	if required && strings.TrimSpace(s) == "" {
		f.fail(name, "must not be empty")
		return "", false
	}
	if utf8.RuneCountInString(s) > max {
		f.fail(name, fmt.Sprintf("must be at most %d characters", max))
		return "", false
	}
	return s, true
}

// key reads a key field (experiment or variant key).
func (f *form) key(name string) (string, bool) {
	s, ok := f.str(name, true, experiment.MaxKeyLen)
	if ok && !experiment.ValidKey(s) {
		f.fail(name, "must match "+experiment.KeyPattern)
		return "", false
	}
	return s, ok
}

func (f *form) weight(name string) (float64, bool) {
	raw, ok := f.fields[name]
	if !ok {
		f.fail(name, "is required")
		return 0, false
	}
	var w float64
	// null would decode as 0 without an error: a weight must be a number.
	if err := json.Unmarshal(raw, &w); err != nil || string(bytes.TrimSpace(raw)) == "null" || math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		f.fail(name, "must be a finite number >= 0")
		return 0, false
	}
	return w, true
}

func (f *form) integer(name string, required bool) (int64, bool) {
	raw, ok := f.fields[name]
	if !ok {
		if required {
			f.fail(name, "is required")
		}
		return 0, false
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
		f.fail(name, "must be a positive integer")
		return 0, false
	}
	return n, true
}

// variants reads the variants array: 2..MaxVariants, unique keys.
func (f *form) variants(name string) ([]experiment.Variant, bool) {
	raw, ok := f.fields[name]
	if !ok {
		f.fail(name, "is required")
		return nil, false
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		f.fail(name, "must be an array of variants")
		return nil, false
	}
	if len(items) < 2 || len(items) > MaxVariants {
		f.fail(name, fmt.Sprintf("must hold 2 to %d variants (the first is the control)", MaxVariants))
		return nil, false
	}
	out := make([]experiment.Variant, 0, len(items))
	valid := true
	seen := map[string]bool{}
	for i, raw := range items {
		prefix := fmt.Sprintf("%s%s[%d].", f.prefix, name, i)
		vf, ok := newForm(raw, prefix, f.errs, "key", "weight", "payload")
		if !ok {
			f.errs[strings.TrimSuffix(prefix, ".")] = "must be an object"
			valid = false
			continue
		}
		key, okKey := vf.key("key")
		weight, okWeight := vf.weight("weight")
		v := experiment.Variant{Key: key, Weight: weight}
		if p, ok := vf.fields["payload"]; ok {
			if len(p) > MaxPayloadBytes {
				vf.fail("payload", fmt.Sprintf("must be at most %d bytes", MaxPayloadBytes))
				valid = false
			}
			var compact bytes.Buffer
			if json.Compact(&compact, p) == nil && compact.String() != "null" {
				v.Payload = compact.Bytes()
			}
		}
		if okKey && seen[key] {
			vf.fail("key", "duplicates another variant's key")
			valid = false
		}
		seen[key] = true
		valid = valid && okKey && okWeight
		out = append(out, v)
	}
	if valid {
		weights := make([]float64, len(out))
		for i, v := range out {
			weights[i] = v.Weight
		}
		// Each weight may be finite while their sum is not.
		if _, err := bucketing.WeightSum(weights); err != nil {
			f.fail(name, "weights must add up to a finite number")
			valid = false
		}
	}
	return out, valid
}

// result turns collected problems into a 400 VALIDATION_FAILED.
func result(errs map[string]string) error {
	if len(errs) == 0 {
		return nil
	}
	names := make([]string, 0, len(errs))
	for k := range errs {
		names = append(names, k)
	}
	sort.Strings(names)
	return httpapi.NewError(http.StatusBadRequest, httpapi.CodeValidationFailed, "invalid fields: "+strings.Join(names, ", ")).
		WithDetails(map[string]any{"fields": errs})
}

func invalidJSON() error {
	return httpapi.NewError(http.StatusBadRequest, httpapi.CodeInvalidJSON, "request body must be a JSON object")
}

func parseCreate(body []byte) (*experiment.Experiment, error) {
	errs := map[string]string{}
	f, ok := newForm(body, "", errs, "key", "name", "description", "variants", "status")
	if !ok {
		return nil, invalidJSON()
	}
	e := &experiment.Experiment{Status: experiment.Draft, Coverage: 1, Version: 1}
	e.Key, _ = f.key("key")
	e.Name, _ = f.str("name", true, MaxNameLen)
	e.Description, _ = f.str("description", false, MaxDescriptionLen)
	e.Variants, _ = f.variants("variants")
	if s, ok := f.str("status", false, 16); ok {
		switch experiment.Status(s) {
		case experiment.Draft, experiment.Active:
			e.Status = experiment.Status(s)
		default:
			f.fail("status", "must be draft or active")
		}
	}
	return e, result(errs)
}

// patch is a validated update request; nil fields are left as they are.
type patch struct {
	Version     int64
	Name        *string
	Description *string
	Variants    []experiment.Variant
}

func parsePatch(body []byte) (patch, error) {
	errs := map[string]string{}
	f, ok := newForm(body, "", errs, "version", "name", "description", "variants")
	if !ok {
		return patch{}, invalidJSON()
	}
	var p patch
	p.Version, _ = f.integer("version", true)
	if f.has("name") {
		if s, ok := f.str("name", true, MaxNameLen); ok {
			p.Name = &s
		}
	}
	if f.has("description") {
		if s, ok := f.str("description", false, MaxDescriptionLen); ok {
			p.Description = &s
		}
	}
	if f.has("variants") {
		p.Variants, _ = f.variants("variants")
	}
	if len(f.fields) == 1 && f.has("version") {
		errs["name"] = "name, description or variants must change"
	}
	return p, result(errs)
}
