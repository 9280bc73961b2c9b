// Package experiments is the use case of defining and running experiments:
// create, list, read, edit (re-weighting), the lifecycle, archive, and the
// audit trail. Every change is versioned and audited with the admin key
// that made it.
package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
	"github.com/abtest/abtest/shared/domain/metric"
)

// Codes of this use case.
const (
	// CodeFailed is the code of a dependency failure.
	CodeFailed = "ADMIN_FAILED"
	// CodeUnitLocked: the unit of a started experiment cannot change.
	CodeUnitLocked = "UNIT_LOCKED"
	// CodeLayerRangeLocked: a started experiment's layer slice is locked.
	CodeLayerRangeLocked = "LAYER_RANGE_LOCKED"
)

// Store is what managing experiments needs from the data layer.
type Store interface {
	CreateExperiment(ctx context.Context, e *experiment.Experiment, layers ...store.LayerWrite) error
	SaveExperiment(ctx context.Context, e, prev *experiment.Experiment, change store.Change, layers ...store.LayerWrite) error
	GetLayer(ctx context.Context, key string) (*layer.Layer, error)
	ListExperiments(ctx context.Context, status experiment.Status, limit int, cursor string) (store.Page[*experiment.Experiment], error)
	StatusCounts(ctx context.Context) (map[experiment.Status]int64, error)
	History(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error)
	ReadAggregates(ctx context.Context, key string) (experiment.Aggregates, error)
	GetMetric(ctx context.Context, key string) (*metric.Metric, error)
}

// Definitions reads one definition as it is now.
type Definitions interface {
	Fresh(ctx context.Context, key string) (*experiment.Experiment, error)
}

// Service manages experiments.
type Service struct {
	defs  Definitions
	store Store
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(defs Definitions, st Store, now func() time.Time) *Service {
	return &Service{defs: defs, store: st, now: func() time.Time { return now().UTC() }}
}

// NewInput defines a new experiment.
type NewInput struct {
	Key         string
	Name        string
	Description string
	Variants    []experiment.Variant // the first is the control
	Events      []string             // the conversion events counted
	Status      experiment.Status    // draft ("" too) or active
	Targeting   Targeting
	Metrics     experiment.MetricRefs // live metrics; their events are counted too
	// StopOnGuardrail: pause when a results read finds a guardrail breached.
	StopOnGuardrail bool
}

// definition is the experiment in describes, with defaults filled in.
func (in NewInput) definition() *experiment.Experiment {
	e := &experiment.Experiment{
		Key: in.Key, Name: in.Name, Description: in.Description, Variants: in.Variants, Events: in.Events,
		Status: in.Status, Coverage: 1, Metrics: in.Metrics, StopOnGuardrail: in.StopOnGuardrail,
	}
	if e.Status == "" {
		e.Status = experiment.Draft
	}
	in.Targeting.applyTo(e, map[string]any{})
	return e
}

// CheckNew returns every problem of a definition to be created.
func CheckNew(in NewInput) experiment.Problems { return experiment.CheckNew(in.definition()) }

// Targeting is who an experiment enrols. In a create, nil fields take their
// defaults (no condition, coverage 1, unit user_id, no layer, no
// overrides); in a patch they stay as they are, and the Clear flags remove
// a condition or a layer.
type Targeting struct {
	Condition      *conditions.Condition
	ClearCondition bool
	Coverage       *float64
	Unit           *experiment.Unit
	Layer          *experiment.LayerSlice
	ClearLayer     bool
	Overrides      *map[string]string
}

func (t Targeting) empty() bool {
	return t.Condition == nil && !t.ClearCondition && t.Coverage == nil && t.Unit == nil &&
		t.Layer == nil && !t.ClearLayer && t.Overrides == nil
}

// applyTo sets t's fields on e and records them in changed (the audit).
func (t Targeting) applyTo(e *experiment.Experiment, changed map[string]any) {
	if t.Condition != nil || t.ClearCondition {
		e.Condition, changed["condition"] = t.Condition, t.Condition
	}
	if t.Coverage != nil {
		e.Coverage, changed["coverage"] = *t.Coverage, *t.Coverage
	}
	if t.Unit != nil {
		e.Unit, changed["unit"] = *t.Unit, *t.Unit
	}
	if t.Layer != nil || t.ClearLayer {
		e.Layer, changed["layer"] = t.Layer, t.Layer
	}
	if t.Overrides != nil {
		e.Overrides, changed["overrides"] = *t.Overrides, len(*t.Overrides)
	}
}

// Create stores a new experiment, made by the admin key by.
func (s *Service) Create(ctx context.Context, by string, in NewInput) (*experiment.Experiment, error) {
	now := s.now()
	e := in.definition()
	e.Version, e.CreatedAt, e.UpdatedAt, e.CreatedBy, e.UpdatedBy = 1, now, now, by, by
	if e.Status == experiment.Active {
		e.StartedAt = now
	}
	if p := experiment.CheckNew(e); len(p) > 0 {
		return nil, fault.Validation(p)
	}
	if err := s.nameMetrics(ctx, e, nil); err != nil {
		return nil, err
	}
	err := s.withLayers(ctx, nil, e, func(layers []store.LayerWrite) error {
		return s.store.CreateExperiment(ctx, e, layers...)
	})
	if errors.Is(err, store.ErrExists) {
		return nil, fault.New(fault.Conflict, experiment.CodeExists,
			"an experiment with this key exists or existed (archived keys are never reused)")
	} else if err != nil {
		return nil, err
	}
	return e, nil
}

// Get returns a definition and its assigned counts per variant.
func (s *Service) Get(ctx context.Context, key string) (*experiment.Experiment, experiment.Aggregates, error) {
	e, err := s.load(ctx, key)
	if err != nil {
		return nil, experiment.Aggregates{}, err
	}
	agg, err := s.store.ReadAggregates(ctx, e.Key)
	if err != nil {
		return nil, experiment.Aggregates{}, err
	}
	return e, agg, nil
}

// Patch edits a definition read at Version; nil fields stay as they are.
type Patch struct {
	Version     int64
	Name        *string
	Description *string
	Variants    []VariantPatch // the full new list of variants; nil: unchanged
	Events      *[]string      // the full new list of conversion events
	Targeting   Targeting
	Metrics     MetricsPatch
}

// VariantPatch is one variant of a patch's list, merged by key with the
// variant of that key if there is one: what it leaves out stays as it was.
type VariantPatch struct {
	Key     string
	Weight  *float64         // nil: unchanged (required for a new variant)
	Payload *json.RawMessage // nil: unchanged; JSON null: cleared
}

// Provisional returns the variants a patch list describes on its own (left
// out weights as 0, payloads as none), for checks before the merge.
func Provisional(list []VariantPatch) []experiment.Variant {
	out := make([]experiment.Variant, len(list))
	for i, vp := range list {
		out[i] = apply(experiment.Variant{Key: vp.Key}, vp)
	}
	return out
}

func apply(v experiment.Variant, vp VariantPatch) experiment.Variant {
	if vp.Weight != nil {
		v.Weight = *vp.Weight
	}
	if vp.Payload != nil {
		v.Payload = *vp.Payload
		if string(v.Payload) == "null" {
			v.Payload = nil
		}
	}
	return v
}

// merge applies a patch's variants to the current ones.
func merge(prev *experiment.Experiment, list []VariantPatch) ([]experiment.Variant, experiment.Problems) {
	problems := experiment.Problems{}
	out := make([]experiment.Variant, len(list))
	for i, vp := range list {
		cur, ok := prev.Variant(vp.Key)
		if !ok {
			cur = experiment.Variant{Key: vp.Key}
			if vp.Weight == nil {
				problems[fmt.Sprintf("variants[%d].weight", i)] = "is required for a new variant"
			}
		}
		out[i] = apply(cur, vp)
	}
	experiment.CheckVariants(problems, "variants", out)
	return out, problems
}

// Update applies p. Re-weighting only affects units bucketed later;
// variants can be added; one with assignments cannot be removed; the
// control stays first.
func (s *Service) Update(ctx context.Context, by, key string, p Patch) (*experiment.Experiment, error) {
	if problems := CheckPatch(p); len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	prev, err := s.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if p.Version != prev.Version {
		return nil, experiment.ErrVersionConflict(prev.Version)
	}
	next := *prev
	changed := map[string]any{}
	if p.Name != nil {
		next.Name, changed["name"] = *p.Name, *p.Name
	}
	if p.Description != nil {
		next.Description, changed["description"] = *p.Description, *p.Description
	}
	if p.Variants != nil {
		if p.Variants[0].Key != prev.Control() {
			return nil, fault.New(fault.Conflict, experiment.CodeControlChanged,
				"the first variant is the control and must stay "+prev.Control()).
				With(map[string]any{"control": prev.Control()})
		}
		merged, problems := merge(prev, p.Variants)
		if len(problems) > 0 {
			return nil, fault.Validation(problems)
		}
		if removed := removedVariants(prev, merged); len(removed) > 0 && prev.Status != experiment.Draft {
			// Once started, units may be assigned to any variant (assignments
			// are unit-local writes, so no shared item can vouch otherwise).
			return nil, fault.New(fault.Conflict, experiment.CodeVariantInUse,
				"a started experiment's variants cannot be removed; set the weight to 0 instead").
				With(map[string]any{"variants": removed})
		}
		next.Variants, changed["variants"] = merged, merged
	}
	if p.Events != nil {
		next.Events, changed["events"] = *p.Events, *p.Events
	}
	if err := lockedAfterStart(prev, p.Targeting); err != nil {
		return nil, err
	}
	p.Targeting.applyTo(&next, changed)
	problems := experiment.Problems{}
	experiment.CheckTargeting(problems, &next)
	if len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	p.Metrics.applyTo(&next, changed)
	if err := s.nameMetrics(ctx, &next, prev); err != nil {
		return nil, err
	}
	if !slices.Equal(next.Events, prev.Events) {
		changed["events"] = next.Events
	}
	return &next, s.save(ctx, &next, prev, by, "update", changed)
}

// CheckPatch returns every problem of a patch before it is applied.
func CheckPatch(p Patch) experiment.Problems {
	problems := experiment.Problems{}
	if p.Version < 1 {
		problems["version"] = "must be a positive integer"
	}
	if p.Name != nil {
		if msg := experiment.NameProblem(*p.Name); msg != "" {
			problems["name"] = msg
		}
	}
	if p.Description != nil {
		if msg := experiment.DescriptionProblem(*p.Description); msg != "" {
			problems["description"] = msg
		}
	}
	if p.Variants != nil {
		experiment.CheckVariants(problems, "variants", Provisional(p.Variants))
	}
	if p.Events != nil {
		experiment.CheckEvents(problems, "events", *p.Events)
	}
	if p.Name == nil && p.Description == nil && p.Variants == nil && p.Events == nil && p.Targeting.empty() && p.Metrics.empty() {
		problems["name"] = "name, description, variants, events, targeting or metrics must change"
	}
	return problems
}

// lockedAfterStart refuses, once an experiment has started, the targeting
// changes that would change what its stored assignments mean: the unit
// (assignments are per user or per device) and the layer slice (other
// experiments of the layer rely on it staying disjoint).
func lockedAfterStart(prev *experiment.Experiment, t Targeting) error {
	if prev.Status == experiment.Draft {
		return nil
	}
	if t.Unit != nil && *t.Unit != prev.UnitOf() {
		return fault.New(fault.Conflict, CodeUnitLocked, "a started experiment's unit cannot change: its assignments are per "+string(prev.UnitOf()))
	}
	if (t.Layer != nil || t.ClearLayer) && !sameSlice(prev.Layer, t.Layer) {
		return fault.New(fault.Conflict, CodeLayerRangeLocked, "a started experiment's layer slice is locked; it is freed when the experiment ends or is archived")
	}
	return nil
}

func sameSlice(a, b *experiment.LayerSlice) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Transition moves an experiment through its lifecycle.
func (s *Service) Transition(ctx context.Context, by, key string, action experiment.Action) (*experiment.Experiment, error) {
	// A concurrent edit only moves the version: retry on the fresh state,
	// whose status decides whether the transition is still legal.
	for attempt := 0; ; attempt++ {
		prev, err := s.load(ctx, key)
		if err != nil {
			return nil, err
		}
		to, ok := experiment.Next(prev.Status, action)
		if !ok {
			return nil, experiment.ErrInvalidTransition(prev.Status, action)
		}
		next := *prev
		next.Status = to
		if action == experiment.Start {
			next.StartedAt = s.now()
		}
		err = s.save(ctx, &next, prev, by, string(action), map[string]any{"from": prev.Status, "to": to})
		if fault.HasCode(err, experiment.CodeVersionConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &next, nil
	}
}

// Archive retires an experiment for good: its key then is not found
// anywhere and can never be reused. No assignment, exposure or event is
// deleted.
func (s *Service) Archive(ctx context.Context, by, key string) error {
	for attempt := 0; ; attempt++ {
		prev, err := s.load(ctx, key)
		if err != nil {
			return err
		}
		next := *prev
		next.Status = experiment.Archived
		err = s.save(ctx, &next, prev, by, "archive", map[string]any{"from": prev.Status})
		if fault.HasCode(err, experiment.CodeVersionConflict) && attempt < 3 {
			continue
		}
		return err
	}
}

// List returns one page of non-archived experiments, newest first, of one
// status or all (""), with the number of experiments in each status.
func (s *Service) List(ctx context.Context, status experiment.Status, limit int, cursor string) (store.Page[*experiment.Experiment], map[experiment.Status]int64, error) {
	if msg := experiment.FilterProblem(status); msg != "" {
		return store.Page[*experiment.Experiment]{}, nil, fault.Validation(experiment.Problems{"status": msg})
	}
	page, err := s.store.ListExperiments(ctx, status, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, nil, fault.InvalidCursor()
	}
	if err != nil {
		return page, nil, err
	}
	counts, err := s.store.StatusCounts(ctx)
	if err != nil {
		return page, nil, err
	}
	delete(counts, experiment.Archived)
	return page, counts, nil
}

// History returns one page of an experiment's audit trail, newest first.
func (s *Service) History(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error) {
	e, err := s.load(ctx, key)
	if err != nil {
		return store.Page[store.Change]{}, err
	}
	page, err := s.store.History(ctx, e.Key, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// load reads a definition as it is now (archived ones are not found).
func (s *Service) load(ctx context.Context, key string) (*experiment.Experiment, error) {
	if err := experiment.CheckKey(key); err != nil {
		return nil, err
	}
	return s.defs.Fresh(ctx, key)
}

// save writes the next version with its audit entry.
func (s *Service) save(ctx context.Context, next, prev *experiment.Experiment, by, action string, details map[string]any) error {
	now := s.now()
	next.Version, next.UpdatedAt, next.UpdatedBy = prev.Version+1, now, by
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	change := store.Change{Version: next.Version, Action: action, By: by, At: now, Details: d}
	err = s.withLayers(ctx, prev, next, func(layers []store.LayerWrite) error {
		return s.store.SaveExperiment(ctx, next, prev, change, layers...)
	})
	var conflict *store.VersionConflictError
	switch {
	case errors.As(err, &conflict):
		if conflict.Current != nil && conflict.Current.Status == experiment.Archived {
			return experiment.ErrNotFound()
		}
		current := prev.Version + 1
		if conflict.Current != nil {
			current = conflict.Current.Version
		}
		return experiment.ErrVersionConflict(current).Because(err)
	case err != nil:
		return fmt.Errorf("save %q: %w", next.Key, err)
	}
	return nil
}

func removedVariants(prev *experiment.Experiment, next []experiment.Variant) []string {
	out := []string{}
	for _, v := range prev.Variants {
		if !slices.ContainsFunc(next, func(n experiment.Variant) bool { return n.Key == v.Key }) {
			out = append(out, v.Key)
		}
	}
	return out
}
