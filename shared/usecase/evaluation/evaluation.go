// Package evaluation is the use case "everything for this unit in one
// call": the variant of every experiment and the value of every flag asked
// for (or of all of them), decided as the assignment route decides one
// experiment (shared/usecase/assignment), from one Query of the unit's
// partition when the definitions are in memory. An app renders a page from
// one answer; a backend asks on behalf of any unit with a server key.
package evaluation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/flag"
	"github.com/abtest/abtest/shared/usecase/assignment"
)

// Codes and limits of this use case.
const (
	CodeFailed = "EVALUATION_FAILED"
	// MaxKeys bounds the experiments and the flags one call names.
	MaxKeys = 200
)

// Definitions serves experiment definitions from memory.
type Definitions interface {
	Live(ctx context.Context) ([]*experiment.Experiment, error)
	Get(ctx context.Context, key string, want func(*experiment.Experiment) bool) (*experiment.Experiment, error)
}

// Flags serves every live flag from memory.
type Flags interface {
	All(ctx context.Context) (map[string]*flag.Flag, error)
}

// Groups serves the saved groups flag conditions may reference.
type Groups interface {
	All(ctx context.Context) (conditions.SavedGroups, error)
}

// Store reads a unit's assignments (one Query of its partition).
type Store interface {
	UnitAssignments(ctx context.Context, unit experiment.UnitRef) ([]*experiment.Assignment, error)
}

// Exposures records the exposures of tracked evaluations.
type Exposures interface {
	Record(ctx context.Context, exp *experiment.Experiment, a *experiment.Assignment, shown, id string) (*experiment.Exposure, bool, error)
}

// Service evaluates.
type Service struct {
	defs      Definitions
	flags     Flags
	groups    Groups
	store     Store
	assign    *assignment.Service
	exposures Exposures
	now       func() time.Time
}

// New returns the use case: assign decides each experiment (with its
// holdouts and saved groups), exposures records tracked evaluations.
func New(defs Definitions, flags Flags, groups Groups, st Store, assign *assignment.Service, exposures Exposures, now func() time.Time) *Service {
	return &Service{defs: defs, flags: flags, groups: groups, store: st, assign: assign, exposures: exposures, now: now}
}

// Request is one evaluation.
type Request struct {
	experiment.Identity
	Attributes map[string]any
	// Experiments and Flags name what to answer; nil means every active
	// experiment (and every experiment the unit is assigned to) and every
	// flag. Named keys that do not exist are listed in Answer.Missing.
	Experiments []string
	Flags       []string
	// Enroll stores new enrolments (POST); false only reads (GET): stored
	// assignments, and for the rest what enrolling would decide now.
	Enroll bool
	// Track records an exposure of every enrolled experiment answered, at
	// most one per unit, experiment and UTC day.
	Track bool
}

// Answer is the evaluation of one unit.
type Answer struct {
	Unit        experiment.Identity
	Experiments map[string]ExperimentAnswer
	Flags       map[string]FlagAnswer
	Missing     []string // named keys that are neither experiments nor flags
}

// ExperimentAnswer is a unit's variant of one experiment and why.
type ExperimentAnswer struct {
	Variant      string
	Payload      json.RawMessage
	InExperiment bool
	Reason       enrolment.Reason
	Layer        string // "" outside any layer
}

// FlagAnswer is a unit's value of one flag and where it came from.
type FlagAnswer struct {
	Value      json.RawMessage
	Source     flag.Source
	Experiment string // the experiment rule that decided ("" for none)
	Variant    string
}

// Evaluate answers r.
func (s *Service) Evaluate(ctx context.Context, r Request) (Answer, error) {
	if err := checkRequest(r); err != nil {
		return Answer{}, err
	}
	e := &evaluation{s: s, r: r, ans: Answer{Unit: r.Identity, Experiments: map[string]ExperimentAnswer{}, Flags: map[string]FlagAnswer{}},
		decided: map[string]assignment.Result{}}
	if err := e.experiments(ctx); err != nil {
		return Answer{}, err
	}
	if err := e.flagValues(ctx); err != nil {
		return Answer{}, err
	}
	if r.Track {
		if err := e.track(ctx); err != nil {
			return Answer{}, err
		}
	}
	slices.Sort(e.ans.Missing)
	return e.ans, nil
}

func checkRequest(r Request) error {
	p := experiment.Problems{}
	if msg := r.Identity.Problem(); msg != "" {
		p["user_id"] = msg
	}
	for field, keys := range map[string][]string{"experiments": r.Experiments, "flags": r.Flags} {
		if len(keys) > MaxKeys {
			p[field] = fmt.Sprintf("must name at most %d keys", MaxKeys)
			continue
		}
		for i, k := range keys {
			if !experiment.ValidKey(k) {
				p[fmt.Sprintf("%s[%d]", field, i)] = "must be a key (" + experiment.KeyPattern + ")"
			}
		}
	}
	if len(p) > 0 {
		return fault.Validation(p)
	}
	return nil
}
