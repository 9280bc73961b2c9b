package experiments

import (
	"context"
	"errors"
	"sync"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Numbered is one numbered page of experiments: the experiments, the
// number of experiments it is a page of, and each one's assigned units.
type Numbered struct {
	Items    []*experiment.Experiment
	Total    int64
	Assigned map[string]int64 // by experiment key, over every variant
}

// skipChunk bounds one read of the experiments before the asked page.
const skipChunk = 100

// Page returns page n (from 1) of size non-archived experiments of status
// ("" all), newest first. The table pages by cursor, so the experiments
// before the page are read and dropped: a page costs reads in proportion to
// its number, bounded by the total (a page past the end reads nothing).
// The total and the assigned units come from the counters, not a scan.
func (s *Service) Page(ctx context.Context, status experiment.Status, n, size int) (Numbered, error) {
	if msg := experiment.FilterProblem(status); msg != "" {
		return Numbered{}, fault.Validation(experiment.Problems{"status": msg})
	}
	counts, err := s.store.StatusCounts(ctx)
	if err != nil {
		return Numbered{}, err
	}
	out := Numbered{Total: counts[status], Assigned: map[string]int64{}}
	if status == "" {
		out.Total = 0
		for _, st := range experiment.Statuses {
			out.Total += counts[st]
		}
	}
	skip := int64(n-1) * int64(size)
	if n < 1 || size < 1 || skip >= out.Total {
		return out, nil
	}
	cursor := ""
	for left := skip; left > 0; {
		chunk := int(min(left, skipChunk))
		page, err := s.store.ListExperiments(ctx, status, chunk, cursor)
		if err != nil {
			return Numbered{}, err
		}
		if cursor, left = page.Next, left-int64(len(page.Items)); cursor == "" {
			return out, nil // fewer than the counters said: the page is past the end
		}
	}
	page, err := s.store.ListExperiments(ctx, status, size, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return Numbered{}, fault.InvalidCursor()
	}
	if err != nil {
		return Numbered{}, err
	}
	out.Items = page.Items
	if out.Assigned, err = s.assigned(ctx, page.Items); err != nil {
		return Numbered{}, err
	}
	return out, nil
}

// assigned reads the units assigned to each experiment from its counters,
// a few experiments at a time.
func (s *Service) assigned(ctx context.Context, exps []*experiment.Experiment) (map[string]int64, error) {
	out := make(map[string]int64, len(exps))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make([]error, len(exps))
	for i, e := range exps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			agg, err := s.store.ReadAggregates(ctx, e.Key)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			out[e.Key] = TotalAssigned(agg)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Assigned is the number of units assigned to experiment key, from its
// counters.
func (s *Service) Assigned(ctx context.Context, key string) (int64, error) {
	agg, err := s.store.ReadAggregates(ctx, key)
	if err != nil {
		return 0, err
	}
	return TotalAssigned(agg), nil
}

// TotalAssigned is the number of units assigned to any variant.
func TotalAssigned(agg experiment.Aggregates) int64 {
	var n int64
	for _, c := range agg.Assigned {
		n += c
	}
	return n
}
