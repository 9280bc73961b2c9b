package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/metric"
	"github.com/abtest/abtest/shared/edge/httpapi"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/usecase/experiments"
	"github.com/abtest/abtest/shared/usecase/metrics"
)

// Metrics serves the metric routes with ms, and hands every other route
// to next (the rest of the admin function).
func Metrics(logger *slog.Logger, ms *metrics.Service, next httpapi.Handler) httpapi.Handler {
	h := &metricEdge{ms: ms}
	show := always(metricViewOf)
	return layered(logger, map[string]endpoint{
		routes.AdminCreateMetric.Key():  createWith(parseNewMetric, ms.Create, show),
		routes.AdminListMetrics.Key():   h.list,
		routes.AdminGetMetric.Key():     getWith(ms.Get, show),
		routes.AdminUpdateMetric.Key():  updateWith(metric.CheckKey, parseMetricPatch, ms.Update, show),
		routes.AdminArchiveMetric.Key(): archiveWith(ms.Archive),
		routes.AdminMetricHistory.Key(): h.history,
	}, next)
}

type metricEdge struct{ ms *metrics.Service }

// MetricView is a metric as the admin API shows it.
type MetricView struct {
	Key         string            `json:"key"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Type        metric.Type       `json:"type"`
	Event       *string           `json:"event,omitempty"`
	Property    *string           `json:"property,omitempty"`
	Numerator   *metric.Component `json:"numerator,omitempty"`
	Denominator *metric.Component `json:"denominator,omitempty"`
	Cap         *float64          `json:"cap"`          // null: no cap
	WindowHours *int              `json:"window_hours"` // null: no window
	Direction   metric.Direction  `json:"direction"`
	Status      metric.Status     `json:"status"`
	Version     int64             `json:"version"`
	CreatedAt   string            `json:"created_at"`
	CreatedBy   string            `json:"created_by"`
	UpdatedAt   string            `json:"updated_at"`
	UpdatedBy   string            `json:"updated_by"`
}

func metricViewOf(m *metric.Metric) MetricView {
	v := MetricView{
		Key: m.Key, Name: m.Name, Description: m.Description, Type: m.Type, Numerator: m.Numerator, Denominator: m.Denominator,
		Direction: m.Direction, Status: m.Status, Version: m.Version,
		CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: m.CreatedBy,
		UpdatedAt: m.UpdatedAt.UTC().Format(time.RFC3339Nano), UpdatedBy: m.UpdatedBy,
	}
	if m.Type != metric.Ratio {
		v.Event = &m.Event
	}
	if m.Type == metric.Sum {
		v.Property = &m.Property
	}
	if m.Cap != 0 {
		v.Cap = &m.Cap
	}
	if m.WindowHours != 0 {
		v.WindowHours = &m.WindowHours
	}
	return v
}

// MetricsResponse is the body of the metric listing.
type MetricsResponse struct {
	Metrics    []MetricView `json:"metrics"`
	NextCursor *string      `json:"next_cursor"`
}

func (h *metricEdge) list(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	limit, lerr := pageLimit(req.QueryStringParameters)
	if lerr != "" {
		return httpapi.Result{}, fault.Validation(experiment.Problems{"limit": lerr})
	}
	page, err := h.ms.List(ctx, limit, req.QueryStringParameters["cursor"])
	if err != nil {
		return httpapi.Result{}, err
	}
	out := MetricsResponse{Metrics: []MetricView{}, NextCursor: cursorOf(page.Next)}
	for _, x := range page.Items {
		out.Metrics = append(out.Metrics, metricViewOf(x))
	}
	return httpapi.OK(out), nil
}

func (h *metricEdge) history(ctx context.Context, req httpapi.Request, _ string) (httpapi.Result, error) {
	return historyResult(ctx, req, h.ms.History)
}

func parseNewMetric(body []byte) (metric.Metric, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, "key", "name", "description", "type", "event", "property",
		"numerator", "denominator", "cap", "window_hours", "direction")
	if !ok {
		return metric.Metric{}, invalidJSON()
	}
	var m metric.Metric
	m.Key, _ = f.str("key", true)
	m.Name, _ = f.str("name", true)
	m.Description, _ = f.str("description", false)
	t, _ := f.str("type", true)
	m.Type = metric.Type(t)
	m.Event, _ = f.str("event", false)
	m.Property, _ = f.str("property", false)
	m.Numerator, m.Denominator = f.component("numerator"), f.component("denominator")
	if f.has("cap") && !isNull(f.fields["cap"]) {
		m.Cap = f.number("cap")
		if m.Cap == 0 && errs["cap"] == "" {
			f.fail("cap", "must be a finite number > 0 (absent: no cap)")
		}
	}
	if f.has("window_hours") && !isNull(f.fields["window_hours"]) {
		m.WindowHours = int(f.integer("window_hours"))
	}
	d, _ := f.str("direction", false)
	m.Direction = metric.Direction(d)
	if m.Direction == "" {
		m.Direction = metric.Increase
	}
	return m, problems(errs, metric.CheckNew(&m))
}

// component reads one side of a ratio: {"type","event","property"}.
func (f *form) component(name string) *metric.Component {
	raw, ok := f.fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	cf, ok := newForm(raw, f.prefix+name+".", f.errs, "type", "event", "property")
	if !ok {
		f.fail(name, "must be an object")
		return nil
	}
	var c metric.Component
	t, _ := cf.str("type", true)
	c.Type = metric.Type(t)
	c.Event, _ = cf.str("event", true)
	c.Property, _ = cf.str("property", false)
	return &c
}

// fixedMetricFields are the fields a metric keeps for good: its statistics
// are kept under them.
var fixedMetricFields = []string{"key", "type", "event", "property", "numerator", "denominator", "cap", "window_hours"}

func parseMetricPatch(body []byte) (metrics.Patch, error) {
	errs := experiment.Problems{}
	f, ok := newForm(body, "", errs, append([]string{"version", "name", "description", "direction"}, fixedMetricFields...)...)
	if !ok {
		return metrics.Patch{}, invalidJSON()
	}
	for _, name := range fixedMetricFields {
		if f.has(name) {
			f.fail(name, "cannot be changed: a metric's statistics are kept under its definition; create a new metric to compute something else")
		}
	}
	var p metrics.Patch
	p.Version = f.integer("version")
	if s, ok := f.str("name", false); ok {
		p.Name = &s
	}
	if s, ok := f.str("description", false); ok {
		p.Description = &s
	}
	if s, ok := f.str("direction", false); ok {
		d := metric.Direction(s)
		p.Direction = &d
	}
	rules := metrics.CheckPatch(p)
	if p.Name == nil && p.Description == nil && p.Direction == nil && len(errs) > 0 {
		delete(rules, "name") // every field sent already says what is wrong
	}
	return p, problems(errs, rules)
}

// metricFields are the experiment fields naming metrics.
var metricFields = []string{"primary_metric", "secondary_metrics", "guardrail_metrics", "stop_on_guardrail"}

// metrics reads the metric fields of an experiment's create or patch:
// primary_metric (null or "" for none) and the two lists of metric keys.
func (f *form) metrics() experiments.MetricsPatch {
	var m experiments.MetricsPatch
	if raw, ok := f.fields["primary_metric"]; ok {
		s := ""
		if !isNull(raw) {
			s, _ = f.str("primary_metric", false)
		}
		m.Primary = &s
	}
	if raw, ok := f.fields["stop_on_guardrail"]; ok {
		var b bool
		if isNull(raw) || json.Unmarshal(raw, &b) != nil {
			f.fail("stop_on_guardrail", "must be true or false")
		}
		m.StopOnGuardrail = &b
	}
	for name, dst := range map[string]**[]string{"secondary_metrics": &m.Secondary, "guardrail_metrics": &m.Guardrails} {
		raw, ok := f.fields[name]
		if !ok {
			continue
		}
		var keys []string
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &keys) != nil {
			f.fail(name, "must be an array of metric keys")
			continue
		}
		if keys == nil {
			keys = []string{}
		}
		*dst = &keys
	}
	return m
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefList(p *[]string) []string { return deref(p) }
