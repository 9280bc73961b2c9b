package exposure

import (
	"context"
	"fmt"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/usecase/batch"
)

// MaxBatch bounds a backend's batch of exposures.
const MaxBatch = 100

// CodeInvalidExposure rejects one exposure of a batch that cannot be read.
const CodeInvalidExposure = "INVALID_EXPOSURE"

// Item is one exposure a backend sends: its unit, the experiment, and
// optionally the variant shown and an idempotency id.
type Item struct {
	Who        experiment.Identity
	Experiment string
	Variant    string
	ID         string
	Rejected   string // set by an edge that could not read the item
}

// ExposeForUnits records a backend's exposures, each for the unit it
// names, judged one by one as Expose judges a client's: an exposure that
// would be a 4xx on the client route is rejected alone with that code. A
// dependency failure is a CodeFailed error whose details' stored_indexes
// name what was stored before it: retrying the batch with ids is safe.
func (s *Service) ExposeForUnits(ctx context.Context, items []Item) (batch.Batch, error) {
	if len(items) == 0 || len(items) > MaxBatch {
		msg := fmt.Sprintf("exposures must hold 1 to %d exposures", MaxBatch)
		return batch.Batch{}, fault.Validation(experiment.Problems{"exposures": msg})
	}
	out := batch.New(len(items))
	stored := []int{}
	for i, it := range items {
		if it.Rejected != "" {
			out.Reject(i, CodeInvalidExposure, it.Rejected)
			continue
		}
		if msg := it.Who.Problem(); msg != "" {
			out.Reject(i, CodeInvalidExposure, msg)
			continue
		}
		x, created, err := s.Expose(ctx, it.Who, it.Experiment, it.Variant, it.ID)
		if f, ok := fault.As(err); ok && f.Kind != fault.Internal && f.Kind != fault.Unavailable {
			out.Reject(i, f.Code, f.Message)
			continue
		}
		if err != nil {
			return batch.Batch{}, fault.Failed(CodeFailed, err).With(map[string]any{"stored_indexes": stored})
		}
		out.Stored(i, x.ID, created)
		stored = append(stored, i)
	}
	return out, nil
}
