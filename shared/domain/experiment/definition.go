package experiment

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/bucketing"
)

// Limits on definitions, documented in the README.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 4000
	MinVariants       = 2
	MaxVariants       = 20
	MaxPayloadBytes   = 16 << 10
	// MaxEvents bounds an experiment's conversion events, and so the
	// counters and conversion marks any client can cause.
	MaxEvents = 20
)

// Problems names what is wrong with a definition, by field path
// ("name", "variants[1].weight"), so one answer can list every problem.
type Problems map[string]string

// Each check below returns "" when the value is acceptable, or what is wrong
// with it. The HTTP edge's decoder and the use cases call the same checks.

// KeyProblem checks an experiment or variant key.
func KeyProblem(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case utf8.RuneCountInString(s) > MaxKeyLen:
		return fmt.Sprintf("must be at most %d characters", MaxKeyLen)
	case !ValidKey(s):
		return "must match " + KeyPattern
	}
	return ""
}

// NameProblem checks a required display name.
func NameProblem(s string) string {
	if isBlank(s) {
		return "must not be empty"
	}
	return lengthProblem(s, MaxNameLen)
}

// DescriptionProblem checks an optional description.
func DescriptionProblem(s string) string { return lengthProblem(s, MaxDescriptionLen) }

// DynamoDB stores numbers from 1e-130 to just under 1e126 in magnitude
// (and 0); a weight outside that range could not be saved.
const (
	MinWeight = 1e-130
	MaxWeight = 1e125
)

// WeightProblem checks one variant weight.
func WeightProblem(w float64) string {
	switch {
	case math.IsNaN(w) || math.IsInf(w, 0) || w < 0:
		return "must be a finite number >= 0"
	case w != 0 && (w < MinWeight || w > MaxWeight):
		return "must be 0 or between 1e-130 and 1e125"
	}
	return ""
}

// CountProblem checks the number of variants.
func CountProblem(n int) string {
	if n < MinVariants || n > MaxVariants {
		return fmt.Sprintf("must hold %d to %d variants (the first is the control)", MinVariants, MaxVariants)
	}
	return ""
}

// CheckVariants adds to p every problem of a variants list under field.
func CheckVariants(p Problems, field string, vs []Variant) {
	if msg := CountProblem(len(vs)); msg != "" {
		p[field] = msg
		return
	}
	seen := make(map[string]bool, len(vs))
	valid := true
	for i, v := range vs {
		at := fmt.Sprintf("%s[%d].", field, i)
		if msg := KeyProblem(v.Key); msg != "" {
			p[at+"key"], valid = msg, false
		} else if seen[v.Key] {
			p[at+"key"], valid = "duplicates another variant's key", false
		}
		seen[v.Key] = true
		if msg := WeightProblem(v.Weight); msg != "" {
			p[at+"weight"], valid = msg, false
		}
		if len(v.Payload) > MaxPayloadBytes {
			p[at+"payload"], valid = fmt.Sprintf("must be at most %d bytes", MaxPayloadBytes), false
		}
	}
	if !valid {
		return
	}
	weights := make([]float64, len(vs))
	for i, v := range vs {
		weights[i] = v.Weight
	}
	// Each weight may be finite while their sum is not.
	switch _, err := bucketing.WeightSum(weights); {
	case errors.Is(err, bucketing.ErrNoPositiveWeight):
		p[field] = "at least one weight must be positive: with all weights 0 no unit can be assigned"
	case err != nil:
		p[field] = "weights must add up to a finite number"
	}
}

// CheckEvents adds to p every problem of a conversion events list.
func CheckEvents(p Problems, field string, names []string) {
	if len(names) > MaxEvents {
		p[field] = fmt.Sprintf("must hold at most %d event names", MaxEvents)
		return
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case !ValidEventName(n):
			p[at] = "must match " + EventNamePattern
		case seen[n]:
			p[at] = "duplicates another event name"
		}
		seen[n] = true
	}
}

// CheckNew returns every problem of a definition about to be created.
func CheckNew(e *Experiment) Problems {
	p := Problems{}
	if msg := KeyProblem(e.Key); msg != "" {
		p["key"] = msg
	}
	if msg := NameProblem(e.Name); msg != "" {
		p["name"] = msg
	}
	if msg := DescriptionProblem(e.Description); msg != "" {
		p["description"] = msg
	}
	CheckVariants(p, "variants", e.Variants)
	CheckEvents(p, "events", e.Events)
	CheckMetrics(p, e.Metrics)
	CheckTargeting(p, e)
	if e.Status != Draft && e.Status != Active {
		p["status"] = "must be draft or active"
	}
	return p
}

func lengthProblem(s string, max int) string {
	if utf8.RuneCountInString(s) > max {
		return fmt.Sprintf("must be at most %d characters", max)
	}
	return ""
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// FilterProblem checks a status to list experiments by ("" lists all).
func FilterProblem(s Status) string {
	if s != "" && (!s.Valid() || s == Archived) {
		return "must be draft, active, paused or ended"
	}
	return ""
}
