// Package layer is the model of layers (GrowthBook's namespaces): a named
// space [0,1) in which experiments hold disjoint slices, so a unit is in at
// most one of them. It is pure: the store persists a layer with its
// allocation, and the use cases decide with the functions here.
package layer

import (
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Layer is one layer and the experiments holding its slices.
type Layer struct {
	Key         string
	Name        string
	Description string
	// Archived layers keep their item (the key is never reused) and are
	// not found anywhere else.
	Archived bool
	// Holders is the allocation: the experiments holding a slice, ordered
	// by start, pairwise disjoint. It is written in the same transaction as
	// the experiment whose entry changes, so it is never out of step.
	Holders []Holder
	// Version moves with every change, allocation included: an experiment
	// saved with a claim is conditioned on it.
	Version   int64
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
}

// Holder is an experiment holding [Start, End) of a layer.
type Holder struct {
	Experiment string            `json:"experiment"`
	Status     experiment.Status `json:"status"`
	Start      float64           `json:"start"`
	End        float64           `json:"end"`
}

// Range is a part [Start, End) of a layer.
type Range struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Holds reports whether e holds its slice. An experiment that has ended or
// is archived enrols nobody again, so its slice is free for others.
func Holds(e *experiment.Experiment) bool {
	return e != nil && e.Layer != nil && e.Status != experiment.Ended && e.Status != experiment.Archived
}

// HolderOf is e's entry in its layer's allocation (e must have a layer).
func HolderOf(e *experiment.Experiment) Holder {
	return Holder{Experiment: e.Key, Status: e.Status, Start: e.Layer.Start, End: e.Layer.End}
}

// Limits, documented in the README.
const (
	// MaxHolders bounds the experiments holding slices of one layer: the
	// allocation lives in the layer's item (DynamoDB's 400 KB item limit).
	MaxHolders = 200
)

// CheckNew returns every problem of a layer about to be created.
func CheckNew(l *Layer) experiment.Problems {
	p := experiment.Problems{}
	if msg := experiment.KeyProblem(l.Key); msg != "" {
		p["key"] = msg
	}
	if msg := experiment.NameProblem(l.Name); msg != "" {
		p["name"] = msg
	}
	if msg := experiment.DescriptionProblem(l.Description); msg != "" {
		p["description"] = msg
	}
	return p
}
