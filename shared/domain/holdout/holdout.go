// Package holdout is the model of a holdout: a fixed share of units kept
// out of every experiment it covers, so that comparing them with the units
// the experiments reached measures the experiments' combined effect. The
// decision itself (is this unit held out of this experiment?) is
// enrolment's; this package holds the definition and its rules, a unit's
// recorded membership, and how memberships become counts.
package holdout

import (
	"slices"
	"time"

	"github.com/abtest/abtest/shared/domain/enrolment"
)

// Status is a holdout's state: live holdouts apply, archived ones are kept
// only so their key is never reused and their items stay meaningful.
type Status string

const (
	Live     Status = "live"
	Archived Status = "archived"
)

// Holdout is a holdout's definition.
type Holdout struct {
	Key  string
	Name string
	// Percent is the share of all units held out, 0 < Percent <= MaxPercent.
	Percent float64
	// Layers are the layer keys whose experiments it covers; empty covers
	// every experiment.
	Layers []string
	// Events are the conversion events its results count.
	Events    []string
	Status    Status
	Version   int64
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
}

// Rule is what enrolment needs to decide for a unit. It shares h's Layers.
func (h *Holdout) Rule() enrolment.Holdout {
	return enrolment.Holdout{Key: h.Key, Percent: h.Percent, Layers: h.Layers}
}

// CountsEvent reports whether the holdout's results count event name.
func (h *Holdout) CountsEvent(name string) bool { return slices.Contains(h.Events, name) }

// HeldOut reports whether h holds unitID out: a pure function of the key,
// the unit and the percent, so a unit's membership never changes unless the
// percent is raised, which only adds units.
func (h *Holdout) HeldOut(unitID string) bool { return enrolment.InHoldout(h.Rule(), unitID) }
