package results

import (
	"context"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// CodePrimaryEventRequired: results on the primary event of an experiment
// that names none.
const CodePrimaryEventRequired = "PRIMARY_EVENT_REQUIRED"

// Primary reads experiment key's results on its primary event, read the
// default way, with the definition it read them for.
func (s *Service) Primary(ctx context.Context, key string) (*experiment.Experiment, Report, error) {
	if err := experiment.CheckKey(key); err != nil {
		return nil, Report{}, err
	}
	exp, err := s.defs.Fresh(ctx, key)
	if err != nil {
		return nil, Report{}, err
	}
	if exp.PrimaryEvent == "" {
		return nil, Report{}, fault.New(fault.Conflict, CodePrimaryEventRequired,
			"the experiment names no primary_event: set it (one of its events) to compute results on it")
	}
	rep, err := s.Results(ctx, key, exp.PrimaryEvent)
	return exp, rep, err
}
