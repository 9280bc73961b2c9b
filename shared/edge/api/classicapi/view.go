package classicapi

import (
	"encoding/json"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Classic statuses and the service's: draft is draft, running is active,
// stopped is paused (start resumes it) and completed is ended (the admin
// API's end; final).
const (
	StatusDraft     = "draft"
	StatusRunning   = "running"
	StatusStopped   = "stopped"
	StatusCompleted = "completed"
)

var toService = map[string]experiment.Status{
	StatusDraft: experiment.Draft, StatusRunning: experiment.Active,
	StatusStopped: experiment.Paused, StatusCompleted: experiment.Ended,
}

func statusOf(s experiment.Status) string {
	for c, st := range toService {
		if st == s {
			return c
		}
	}
	return string(s)
}

// Experiment is an experiment in the reference's shape.
type Experiment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Type        string    `json:"type"`
	Status      string    `json:"status"`
	AudienceID  *string   `json:"audienceId"`
	StartDate   *string   `json:"startDate"`
	EndDate     *string   `json:"endDate"`
	CreatedAt   string    `json:"createdAt"`
	UpdatedAt   string    `json:"updatedAt"`
	Variants    []Variant `json:"variants"`
	Count       Count     `json:"_count"`
	// PrimaryEvent is this service's extension: the event compute-results
	// reads (null: none).
	PrimaryEvent *string `json:"primaryEvent"`
}

// Variant is one variant in the reference's shape; config is its payload.
type Variant struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	SplitPercentage float64         `json:"splitPercentage"`
	FlowID          *string         `json:"flowId"`
	Config          json.RawMessage `json:"config"`
}

// Count holds the units assigned, from the counters.
type Count struct {
	Assignments int64 `json:"assignments"`
}

// Data wraps every answer, as the reference does.
type Data[T any] struct {
	Data T `json:"data"`
}

// List is the list route's answer.
type List struct {
	Data []Experiment `json:"data"`
	Meta Meta         `json:"meta"`
}

// Meta describes a page.
type Meta struct {
	Total      int64 `json:"total"`
	Page       int   `json:"page"`
	Limit      int   `json:"limit"`
	TotalPages int64 `json:"totalPages"`
}

func viewOf(e *experiment.Experiment, assigned int64) Experiment {
	v := Experiment{
		ID: e.Key, Name: e.Name, Description: e.Description, Type: TypeABTest, Status: statusOf(e.Status),
		StartDate: timeOf(e.StartedAt), EndDate: timeOf(e.EndedAt),
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: e.UpdatedAt.UTC().Format(time.RFC3339),
		Count: Count{Assignments: assigned}, Variants: make([]Variant, 0, len(e.Variants)),
	}
	if g := audienceOf(e); g != "" {
		v.AudienceID = &g
	}
	if e.PrimaryEvent != "" {
		v.PrimaryEvent = &e.PrimaryEvent
	}
	splits := splitsOf(e)
	for i, vr := range e.Variants {
		out := Variant{ID: vr.Key, Name: labelOf(vr), SplitPercentage: splits[i], Config: vr.Payload}
		if vr.FlowID != "" {
			out.FlowID = &vr.FlowID
		}
		if out.Config == nil {
			out.Config = json.RawMessage("null")
		}
		v.Variants = append(v.Variants, out)
	}
	return v
}

// splitsOf is each variant's share of traffic in percent: its weight over
// the sum (the admin API's weights need not sum to 100).
func splitsOf(e *experiment.Experiment) []float64 {
	sum := 0.0
	for _, v := range e.Variants {
		sum += v.Weight
	}
	out := make([]float64, len(e.Variants))
	for i, v := range e.Variants {
		if sum > 0 {
			out[i] = v.Weight * 100 / sum
		}
	}
	return out
}

func timeOf(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// Results is the results route's answer: raw counts per variant.
type Results struct {
	ExperimentID string          `json:"experimentId"`
	Name         string          `json:"name"`
	Status       string          `json:"status"`
	StartDate    *string         `json:"startDate"`
	EndDate      *string         `json:"endDate"`
	Variants     []VariantCounts `json:"variants"`
}

// VariantCounts are a variant's units assigned (participants) and, per
// conversion event, its exposed units that converted.
type VariantCounts struct {
	VariantID       string        `json:"variantId"`
	VariantName     string        `json:"variantName"`
	SplitPercentage float64       `json:"splitPercentage"`
	Participants    int64         `json:"participants"`
	Results         []EventResult `json:"results"`
}

// EventResult is one conversion event's count for a variant: its exposed
// units that converted on it (this service's shape; the reference leaves
// the entries undocumented).
type EventResult struct {
	Event       string `json:"event"`
	Exposed     int64  `json:"exposed"`
	Conversions int64  `json:"conversions"`
}

// Computed is compute-results' answer: the primary event's conversion rate
// per variant.
type Computed struct {
	ExperimentID string         `json:"experimentId"`
	PrimaryEvent string         `json:"primaryEvent"`
	Variants     []ComputedRate `json:"variants"`
}

// ComputedRate is one variant's sample (exposed units), conversions and
// rate (0 without a sample).
type ComputedRate struct {
	VariantID      string  `json:"variantId"`
	VariantName    string  `json:"variantName"`
	SampleSize     int64   `json:"sampleSize"`
	Conversions    int64   `json:"conversions"`
	ConversionRate float64 `json:"conversionRate"`
}
