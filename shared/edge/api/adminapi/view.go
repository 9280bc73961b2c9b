package adminapi

import (
	"encoding/json"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// ExperimentView is an experiment as the admin API shows it.
type ExperimentView struct {
	Key         string            `json:"key"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Status      experiment.Status `json:"status"`
	Variants    []VariantView     `json:"variants"`
	Events      []string          `json:"events"`
	// PrimaryEvent is the event the experiment is judged on (null: none).
	PrimaryEvent *string `json:"primary_event"`
	// Targeting: who is enrolled.
	Condition json.RawMessage        `json:"condition"` // null: everyone
	Coverage  float64                `json:"coverage"`
	Unit      experiment.Unit        `json:"unit"`
	Layer     *experiment.LayerSlice `json:"layer"`
	Overrides map[string]string      `json:"overrides"`
	// Metrics results read it on: primary (null: none), secondary, guardrails.
	PrimaryMetric    *string  `json:"primary_metric"`
	SecondaryMetrics []string `json:"secondary_metrics"`
	GuardrailMetrics []string `json:"guardrail_metrics"`
	// StopOnGuardrail: a results read that finds a guardrail breached
	// pauses the experiment.
	StopOnGuardrail bool `json:"stop_on_guardrail"`
	// The readings' settings: null where the default applies.
	SequentialTuning  *float64   `json:"sequential_tuning"`
	BayesianPrior     *PriorView `json:"bayesian_prior"`
	CUPEDLookbackDays *int       `json:"cuped_lookback_days"`
	Version           int64      `json:"version"`
	CreatedAt         string     `json:"created_at"`
	CreatedBy         string     `json:"created_by"`
	StartedAt         *string    `json:"started_at"` // null: not started
	UpdatedAt         string     `json:"updated_at"`
	UpdatedBy         string     `json:"updated_by"`
}

// VariantView is one variant; AssignedCount is shown on single reads.
type VariantView struct {
	Key           string          `json:"key"`
	Weight        float64         `json:"weight"`
	Payload       json.RawMessage `json:"payload"`
	IsControl     bool            `json:"is_control"`
	AssignedCount *int64          `json:"assigned_count,omitempty"`
}

// ExperimentViewOf is e as the admin API shows it (agg adds the assigned
// counts of a single read): the MCP tools answer the same shape.
func ExperimentViewOf(e *experiment.Experiment, agg *experiment.Aggregates) ExperimentView {
	return viewOf(e, agg)
}

func viewOf(e *experiment.Experiment, agg *experiment.Aggregates) ExperimentView {
	v := ExperimentView{
		Key: e.Key, Name: e.Name, Description: e.Description, Status: e.Status, Version: e.Version,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: e.CreatedBy,
		UpdatedAt: e.UpdatedAt.UTC().Format(time.RFC3339Nano), UpdatedBy: e.UpdatedBy,
	}
	if !e.StartedAt.IsZero() {
		at := e.StartedAt.UTC().Format(time.RFC3339Nano)
		v.StartedAt = &at
	}
	v.Events = append([]string{}, e.Events...)
	if e.PrimaryEvent != "" {
		v.PrimaryEvent = &e.PrimaryEvent
	}
	if e.Metrics.Primary != "" {
		v.PrimaryMetric = &e.Metrics.Primary
	}
	v.SecondaryMetrics = append([]string{}, e.Metrics.Secondary...)
	v.GuardrailMetrics = append([]string{}, e.Metrics.Guardrails...)
	v.StopOnGuardrail = e.StopOnGuardrail
	viewAnalysis(&v, e.Analysis)
	v.Condition = json.RawMessage("null")
	if e.Condition != nil {
		if b, err := e.Condition.MarshalJSON(); err == nil {
			v.Condition = b
		}
	}
	v.Coverage, v.Unit, v.Layer, v.Overrides = e.Coverage, e.UnitOf(), e.Layer, e.Overrides
	if v.Overrides == nil {
		v.Overrides = map[string]string{}
	}
	for i, vr := range e.Variants {
		payload := vr.Payload
		if len(payload) == 0 {
			payload = json.RawMessage("null")
		}
		row := VariantView{Key: vr.Key, Weight: vr.Weight, Payload: payload, IsControl: i == 0}
		if agg != nil {
			n := agg.Assigned[vr.Key]
			row.AssignedCount = &n
		}
		v.Variants = append(v.Variants, row)
	}
	return v
}

// ChangeView is one audit-trail entry.
type ChangeView struct {
	Version int64           `json:"version"`
	Action  string          `json:"action"`
	By      string          `json:"by"`
	At      string          `json:"at"`
	Details json.RawMessage `json:"details"`
}

func changeViewOf(c store.Change) ChangeView {
	d := c.Details
	if len(d) == 0 {
		d = json.RawMessage("{}")
	}
	return ChangeView{Version: c.Version, Action: c.Action, By: c.By, At: c.At.UTC().Format(time.RFC3339Nano), Details: d}
}
