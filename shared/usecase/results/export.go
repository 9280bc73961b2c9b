package results

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Export page sizes: rows per page by default and at most. A row is about
// 150 bytes, so the largest page stays far below Lambda's 6 MB response.
const (
	ExportDefaultLimit = 1000
	ExportMaxLimit     = 5000
)

// ExportRow is one unit's facts: what every count of the results is a sum
// of. A unit counts as exposed when FirstExposedAt is set, and as converted
// on event e when it is exposed and Converted[e] is true; Converted also
// holds marks of units not (yet) exposed, which results do not count.
type ExportRow struct {
	Unit           string          `json:"unit"`
	Variant        string          `json:"variant"`
	AssignedAt     string          `json:"assigned_at"`
	FirstExposedAt *string         `json:"first_exposed_at"`
	Converted      map[string]bool `json:"converted"`
}

// ExportPage is one page of the export. Events are the experiment's
// declared events, the keys of every row's Converted, in the definition's
// order (CSV columns follow it).
type ExportPage struct {
	Experiment string      `json:"experiment"`
	Events     []string    `json:"events"`
	Rows       []ExportRow `json:"rows"`
	Next       string      `json:"next_cursor,omitempty"`
}

// Export reads one page of an experiment's unit-level facts, in unit id
// order; Next continues it ("" on the last page). An archived experiment is
// not found here as everywhere: export before archiving, or use the table's
// export to S3.
func (s *Service) Export(ctx context.Context, key string, limit int, cursor string) (ExportPage, error) {
	if err := experiment.CheckKey(key); err != nil {
		return ExportPage{}, err
	}
	if limit < 1 || limit > ExportMaxLimit {
		msg := fmt.Sprintf("must be 1-%d", ExportMaxLimit)
		return ExportPage{}, fault.Validation(experiment.Problems{"limit": msg})
	}
	exp, err := s.defs.Fresh(ctx, key)
	if err != nil {
		return ExportPage{}, err
	}
	page, err := s.store.ExperimentAssignments(ctx, key, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return ExportPage{}, fault.InvalidCursor()
	}
	if err != nil {
		return ExportPage{}, err
	}
	out := ExportPage{Experiment: exp.Key, Events: exp.Events, Rows: make([]ExportRow, 0, len(page.Items)), Next: page.Next}
	if out.Events == nil {
		out.Events = []string{}
	}
	for _, a := range page.Items {
		row := ExportRow{Unit: a.Unit.ID, Variant: a.Variant, AssignedAt: stamp(a.AssignedAt), Converted: make(map[string]bool, len(exp.Events))}
		if a.Exposed() {
			t := stamp(a.FirstExposedAt)
			row.FirstExposedAt = &t
		}
		for _, e := range exp.Events {
			row.Converted[e] = a.Converted(e)
		}
		out.Rows = append(out.Rows, row)
	}
	return out, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
