// Package flags is the use case of defining feature flags: create, list,
// read, edit (versioned), archive, and the audit trail. Every change is
// versioned and audited with the admin key that made it, as experiments
// are. Evaluating a flag for a unit is the domain's (shared/domain/flag).
package flags

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
)

// Store is what managing flags needs from the data layer.
type Store interface {
	CreateFlag(ctx context.Context, f *flag.Flag, change store.Change) error
	GetFlag(ctx context.Context, key string) (*flag.Flag, error)
	SaveFlag(ctx context.Context, f *flag.Flag, prev int64, change store.Change) error
	ListFlags(ctx context.Context, limit int, cursor string) (store.Page[*flag.Flag], error)
	FlagHistory(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error)
}

// Experiments reads an experiment definition as it is now; archived and
// unknown keys are experiment.ErrNotFound.
type Experiments interface {
	Fresh(ctx context.Context, key string) (*experiment.Experiment, error)
}

// Service manages flags.
type Service struct {
	store Store
	exps  Experiments
	now   func() time.Time
}

// New returns the use case; now is the clock.
func New(st Store, exps Experiments, now func() time.Time) *Service {
	return &Service{store: st, exps: exps, now: func() time.Time { return now().UTC() }}
}

// NewInput defines a new flag. Rules come parsed (flag.ParseRules), their
// conditions compiled.
type NewInput struct {
	Key          string
	Description  string
	Type         flag.Type
	DefaultValue json.RawMessage
	Enabled      bool
	Rules        []flag.Rule
}

func (in NewInput) flag() *flag.Flag {
	return &flag.Flag{Key: in.Key, Description: in.Description, Type: in.Type, DefaultValue: in.DefaultValue,
		Enabled: in.Enabled, Rules: in.Rules}
}

// CheckNew returns every problem of a flag to be created that needs no
// read (whether its experiment rules name experiments is Create's).
func CheckNew(in NewInput) experiment.Problems { return flag.CheckNew(in.flag()) }

// Create stores a new flag, made by the admin key by. An experiment rule
// naming an unknown or archived experiment, or not mapping its variants,
// is refused naming the rule.
func (s *Service) Create(ctx context.Context, by string, in NewInput) (*flag.Flag, error) {
	f := in.flag()
	p := flag.CheckNew(f)
	if len(p) == 0 {
		if err := s.checkExperiments(ctx, p, f.Rules); err != nil {
			return nil, err
		}
	}
	if len(p) > 0 {
		return nil, fault.Validation(p)
	}
	now := s.now()
	f.Version, f.CreatedAt, f.UpdatedAt, f.CreatedBy, f.UpdatedBy = 1, now, now, by, by
	err := s.store.CreateFlag(ctx, f, store.Change{Version: 1, Action: "create", By: by, At: now})
	if errors.Is(err, store.ErrExists) {
		return nil, flag.ErrExists()
	} else if err != nil {
		return nil, err
	}
	return f, nil
}

// checkExperiments adds to p the problems of rules' experiment rules
// against the experiments as they are now (one read per experiment named).
func (s *Service) checkExperiments(ctx context.Context, p experiment.Problems, rules []flag.Rule) error {
	variants := map[string][]string{}
	for _, r := range rules {
		if r.Kind != flag.Experiment {
			continue
		}
		if _, read := variants[r.Experiment]; read {
			continue
		}
		e, err := s.exps.Fresh(ctx, r.Experiment)
		switch {
		case fault.HasCode(err, experiment.CodeNotFound):
			variants[r.Experiment] = nil
			continue
		case err != nil:
			return fmt.Errorf("experiment %q of a flag rule: %w", r.Experiment, err)
		}
		keys := make([]string, len(e.Variants))
		for i, v := range e.Variants {
			keys[i] = v.Key
		}
		variants[r.Experiment] = keys
	}
	flag.CheckExperiments(p, "rules", rules, func(key string) ([]string, bool) {
		v := variants[key]
		return v, v != nil
	})
	return nil
}

// Get returns a flag (archived ones are not found).
func (s *Service) Get(ctx context.Context, key string) (*flag.Flag, error) {
	if err := flag.CheckKey(key); err != nil {
		return nil, err
	}
	f, err := s.store.GetFlag(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, flag.ErrNotFound()
	}
	if err != nil {
		return nil, err
	}
	return flag.Visible(f)
}

// Patch edits a flag read at Version; nil fields stay as they are. The key
// and the type never change.
type Patch struct {
	Version      int64
	Description  *string
	DefaultValue *json.RawMessage
	Enabled      *bool
	Rules        *[]flag.Rule // the full new list
}

// CheckPatch returns every problem of a patch that needs no read.
func CheckPatch(p Patch) experiment.Problems {
	problems := experiment.Problems{}
	if p.Version < 1 {
		problems["version"] = "must be a positive integer"
	}
	if p.Description != nil {
		if msg := experiment.DescriptionProblem(*p.Description); msg != "" {
			problems["description"] = msg
		}
	}
	if p.Description == nil && p.DefaultValue == nil && p.Enabled == nil && p.Rules == nil {
		problems["enabled"] = "description, default_value, enabled or rules must change"
	}
	return problems
}

// Update applies p to the flag at p.Version; a flag changed since is 409
// VERSION_CONFLICT with the current version.
func (s *Service) Update(ctx context.Context, by, key string, p Patch) (*flag.Flag, error) {
	if problems := CheckPatch(p); len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	prev, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if p.Version != prev.Version {
		return nil, flag.ErrVersionConflict(prev.Version)
	}
	next := *prev
	changed := map[string]any{}
	if p.Description != nil {
		next.Description, changed["description"] = *p.Description, *p.Description
	}
	if p.DefaultValue != nil {
		next.DefaultValue, changed["default_value"] = *p.DefaultValue, *p.DefaultValue
	}
	if p.Enabled != nil {
		next.Enabled, changed["enabled"] = *p.Enabled, *p.Enabled
	}
	if p.Rules != nil {
		next.Rules, changed["rules"] = *p.Rules, *p.Rules
	}
	problems := experiment.Problems{}
	flag.CheckFields(problems, &next)
	if len(problems) == 0 && p.Rules != nil {
		// Only new rules are checked against the experiments: an edit of
		// anything else must not fail because an experiment named long ago
		// was archived since (such a rule serves no one).
		if err := s.checkExperiments(ctx, problems, next.Rules); err != nil {
			return nil, err
		}
	}
	if len(problems) > 0 {
		return nil, fault.Validation(problems)
	}
	return &next, s.save(ctx, &next, prev, by, "update", changed)
}

// Archive retires a flag for good: its key then is not found anywhere and
// can never be reused.
func (s *Service) Archive(ctx context.Context, by, key string) error {
	// A concurrent edit only moves the version: archive the fresh state.
	for attempt := 0; ; attempt++ {
		prev, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		next := *prev
		next.Archived = true
		err = s.save(ctx, &next, prev, by, "archive", map[string]any{})
		if fault.HasCode(err, experiment.CodeVersionConflict) && attempt < 3 {
			continue
		}
		return err
	}
}

// List returns one page of flags that are not archived, newest first.
func (s *Service) List(ctx context.Context, limit int, cursor string) (store.Page[*flag.Flag], error) {
	page, err := s.store.ListFlags(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// History returns one page of a flag's audit trail, newest first.
func (s *Service) History(ctx context.Context, key string, limit int, cursor string) (store.Page[store.Change], error) {
	f, err := s.Get(ctx, key)
	if err != nil {
		return store.Page[store.Change]{}, err
	}
	page, err := s.store.FlagHistory(ctx, f.Key, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// save writes the next version with its audit entry.
func (s *Service) save(ctx context.Context, next, prev *flag.Flag, by, action string, details map[string]any) error {
	now := s.now()
	next.Version, next.UpdatedAt, next.UpdatedBy = prev.Version+1, now, by
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	err = s.store.SaveFlag(ctx, next, prev.Version, store.Change{Version: next.Version, Action: action, By: by, At: now, Details: d})
	var conflict *store.FlagConflictError
	switch {
	case errors.As(err, &conflict):
		if conflict.Current != nil && conflict.Current.Archived {
			return flag.ErrNotFound()
		}
		current := prev.Version + 1
		if conflict.Current != nil {
			current = conflict.Current.Version
		}
		return flag.ErrVersionConflict(current).Because(err)
	case err != nil:
		return fmt.Errorf("save flag %q: %w", next.Key, err)
	}
	return nil
}
