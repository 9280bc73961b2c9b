package evaluation

import (
	"context"
	"slices"
	"sync"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/usecase/assignment"
)

// evaluation is one Evaluate call in progress: what was read and decided,
// so each partition is read once and each experiment decided once, whether
// the answer or a flag's experiment rule asks for it.
type evaluation struct {
	s       *Service
	r       Request
	ans     Answer
	live    map[string]*experiment.Experiment
	stored  map[experiment.Unit]map[string]*experiment.Assignment // by unit kind, then experiment key
	decided map[string]assignment.Result
	defs    map[string]*experiment.Experiment // the definitions decided on
	err     error                             // the first failure inside a flag's experiment rule
}

// experiments answers the experiments asked for: the named ones, or every
// active one and every one the unit is assigned to.
func (e *evaluation) experiments(ctx context.Context) error {
	live, err := e.s.defs.Live(ctx)
	if err != nil {
		return err
	}
	e.live = make(map[string]*experiment.Experiment, len(live))
	for _, x := range live {
		e.live[x.Key] = x
	}
	var scope []*experiment.Experiment
	if e.r.Experiments == nil {
		for _, x := range live {
			if experiment.IsActive(x) {
				scope = append(scope, x)
				continue
			}
			// Paused and ended experiments answer only units they hold.
			a, err := e.assignmentOf(ctx, x)
			if err != nil {
				return err
			}
			if a != nil {
				scope = append(scope, x)
			}
		}
	} else {
		for _, key := range e.r.Experiments {
			x, err := e.definition(ctx, key)
			if err != nil {
				return err
			}
			if x == nil {
				e.ans.Missing = append(e.ans.Missing, key)
				continue
			}
			scope = append(scope, x)
		}
	}
	if err := e.decideAll(ctx, scope); err != nil {
		return err
	}
	for _, x := range scope {
		res := e.decided[x.Key]
		ea := ExperimentAnswer{Variant: res.Variant, Payload: res.Payload, InExperiment: res.InExperiment, Reason: res.Reason}
		if x.Layer != nil {
			ea.Layer = x.Layer.Key
		}
		e.ans.Experiments[x.Key] = ea
	}
	return nil
}

// definition is key's definition (nil when there is none).
func (e *evaluation) definition(ctx context.Context, key string) (*experiment.Experiment, error) {
	if x, ok := e.live[key]; ok {
		return x, nil
	}
	x, err := e.s.defs.Get(ctx, key, nil) // created a moment ago?
	if fault.HasCode(err, experiment.CodeNotFound) {
		return nil, nil
	}
	return x, err
}

// unitOf is the unit x buckets for the request, or false when the request
// names no id of that kind.
func (e *evaluation) unitOf(x *experiment.Experiment) (experiment.UnitRef, bool) {
	u, err := x.UnitFor(e.r.Identity)
	return u, err == nil && u.ID != ""
}

// assignmentOf is the unit's stored assignment in x (nil: none), from one
// Query of the unit's partition per evaluation.
func (e *evaluation) assignmentOf(ctx context.Context, x *experiment.Experiment) (*experiment.Assignment, error) {
	u, ok := e.unitOf(x)
	if !ok {
		return nil, nil
	}
	if e.stored == nil {
		e.stored = map[experiment.Unit]map[string]*experiment.Assignment{}
	}
	byKey, read := e.stored[u.Kind]
	if !read {
		all, err := e.s.store.UnitAssignments(ctx, u)
		if err != nil {
			return nil, err
		}
		byKey = make(map[string]*experiment.Assignment, len(all))
		for _, a := range all {
			byKey[a.Experiment] = a
		}
		e.stored[u.Kind] = byKey
	}
	return byKey[x.Key], nil
}

// decide is the unit's answer for x, as the assignment route would give it
// (enrolling only when the request does), decided once per evaluation.
func (e *evaluation) decide(ctx context.Context, x *experiment.Experiment) (assignment.Result, error) {
	if err := e.decideAll(ctx, []*experiment.Experiment{x}); err != nil {
		return assignment.Result{}, err
	}
	return e.decided[x.Key], nil
}

// maxParallelWrites bounds the new enrolments one evaluation writes at once.
const maxParallelWrites = 8

// decideAll decides every experiment of scope not decided yet. The reads
// come first (one Query per partition); the new enrolments, each a
// conditional put of the unit's own item, are then written in parallel.
func (e *evaluation) decideAll(ctx context.Context, scope []*experiment.Experiment) error {
	type pending struct {
		x   *experiment.Experiment
		u   experiment.UnitRef
		res assignment.Result
		err error
	}
	var writes []*pending
	for _, x := range scope {
		if _, ok := e.decided[x.Key]; ok {
			continue
		}
		u, ok := e.unitOf(x)
		if !ok {
			e.keep(x, assignment.Result{Experiment: x.Key, Variant: x.Control(), Payload: payloadOf(x, x.Control()), Reason: enrolment.ReasonNoUnitID})
			continue
		}
		a, err := e.assignmentOf(ctx, x)
		if err != nil {
			return err
		}
		if a != nil && !experiment.HasVariant(a.Variant)(x) {
			// A variant added a moment ago may be missing from memory.
			if x, err = e.s.defs.Get(ctx, x.Key, experiment.HasVariant(a.Variant)); err != nil {
				return err
			}
		}
		if a == nil && e.r.Enroll && experiment.IsActive(x) {
			writes = append(writes, &pending{x: x, u: u})
			continue
		}
		res, err := e.s.assign.Decide(ctx, x, u, a, e.request())
		if err = e.keepOrFail(x, res, err); err != nil {
			return err
		}
	}
	sem := make(chan struct{}, maxParallelWrites)
	var wg sync.WaitGroup
	for _, w := range writes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			w.res, w.err = e.s.assign.Decide(ctx, w.x, w.u, nil, e.request())
		}()
	}
	wg.Wait()
	for _, w := range writes {
		if err := e.keepOrFail(w.x, w.res, w.err); err != nil {
			return err
		}
	}
	return nil
}

// request is the assignment request of every decision of the evaluation.
func (e *evaluation) request() assignment.Request {
	return assignment.Request{Identity: e.r.Identity, Attributes: e.r.Attributes, Enroll: e.r.Enroll, Preview: !e.r.Enroll}
}

// keepOrFail keeps a decision; an experiment that is not active answers
// "inactive" rather than failing the evaluation.
func (e *evaluation) keepOrFail(x *experiment.Experiment, res assignment.Result, err error) error {
	if fault.HasCode(err, experiment.CodeInactive) {
		res, err = assignment.Result{Experiment: x.Key, Variant: x.Control(), Payload: payloadOf(x, x.Control()), Reason: enrolment.ReasonInactive}, nil
	}
	if err != nil {
		return err
	}
	e.keep(x, res)
	return nil
}

func (e *evaluation) keep(x *experiment.Experiment, res assignment.Result) {
	e.decided[x.Key] = res
	if e.defs == nil {
		e.defs = map[string]*experiment.Experiment{}
	}
	e.defs[x.Key] = x
}

// variantFunc adapts a function to flag.Enrolments.
type variantFunc func(experimentKey string) (string, bool)

func (f variantFunc) Variant(key string) (string, bool) { return f(key) }

// variant answers a flag's experiment rule: the unit's variant of the
// experiment when it is enrolled (deciding it if no one has yet). A
// failure is kept in e.err: the rule falls through, and the evaluation
// fails after the flag.
func (e *evaluation) variant(ctx context.Context, key string) (string, bool) {
	if e.err != nil {
		return "", false
	}
	x, err := e.definition(ctx, key)
	if err != nil || x == nil {
		e.err = err
		return "", false
	}
	res, err := e.decide(ctx, x)
	if err != nil {
		e.err = err
		return "", false
	}
	return res.Variant, res.InExperiment
}

// flagValues answers the flags asked for: the named ones, or every flag.
func (e *evaluation) flagValues(ctx context.Context) error {
	all, err := e.s.flags.All(ctx)
	if err != nil {
		return err
	}
	keys := e.r.Flags
	if keys == nil {
		keys = make([]string, 0, len(all))
		for k := range all {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	if len(keys) == 0 {
		return nil
	}
	var groups conditions.SavedGroups
	if e.s.groups != nil {
		if groups, err = e.s.groups.All(ctx); err != nil {
			return err
		}
	}
	id := e.r.UserID
	if id == "" {
		id = e.r.DeviceID
	}
	attrs := enrolment.Attributes(e.r.Attributes, id, e.r.UserID, e.r.DeviceID)
	enrolments := variantFunc(func(key string) (string, bool) { return e.variant(ctx, key) })
	for _, k := range keys {
		f, ok := all[k]
		if !ok {
			e.ans.Missing = append(e.ans.Missing, k)
			continue
		}
		res := f.Evaluate(attrs, groups, enrolments)
		if e.err != nil {
			return e.err
		}
		e.ans.Flags[k] = FlagAnswer{Value: res.Value, Source: res.Source, Experiment: res.Experiment, Variant: res.Variant}
	}
	return nil
}

// track records one exposure per enrolled experiment of the answer, with
// an idempotency id per UTC day: a second evaluation the same day stores
// nothing.
func (e *evaluation) track(ctx context.Context) error {
	id := "evaluate-" + e.s.now().UTC().Format("2006-01-02")
	keys := make([]string, 0, len(e.ans.Experiments))
	for k := range e.ans.Experiments {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res := e.decided[k]
		if !res.InExperiment || res.Assignment == nil {
			continue
		}
		if _, _, err := e.s.exposures.Record(ctx, e.defs[k], res.Assignment, "", id); err != nil {
			return err
		}
	}
	return nil
}

var _ flag.Enrolments = variantFunc(nil)

func payloadOf(x *experiment.Experiment, variant string) []byte {
	if v, ok := x.Variant(variant); ok && len(v.Payload) > 0 {
		return v.Payload
	}
	return []byte("null")
}
