package holdout

import (
	"fmt"
	"math"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// Limits on holdouts, documented in the README.
const (
	// MaxPercent caps the share held out. Held-out units are the baseline
	// every covered experiment's units are compared with: past half, the
	// holdout would take more units from every covered experiment than are
	// left to run them on, and its comparison gains no power from a
	// baseline larger than the group it is compared with.
	MaxPercent = 50
	// MaxLayers bounds the layers one holdout names.
	MaxLayers = 20
	// MaxLive bounds the live holdouts of a deployment. A unit's first
	// exposure writes one membership per covering holdout in the same
	// transaction (DynamoDB allows 100 items), and every first assignment
	// checks them all.
	MaxLive = 20
)

// PercentProblem checks a percent: a finite number with 0 < percent <= 50.
func PercentProblem(p float64) string {
	if math.IsNaN(p) || p <= 0 || p > MaxPercent {
		return fmt.Sprintf("must be a number with 0 < percent <= %d", MaxPercent)
	}
	return ""
}

// CheckLayers adds to p every problem of a list of layer keys under field.
// Layer keys follow the experiment key rules; whether experiments use them
// is not checked (a holdout may be made before its layer's experiments).
func CheckLayers(p experiment.Problems, field string, layers []string) {
	if len(layers) > MaxLayers {
		p[field] = fmt.Sprintf("must hold at most %d layer keys", MaxLayers)
		return
	}
	seen := make(map[string]bool, len(layers))
	for i, l := range layers {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch msg := experiment.KeyProblem(l); {
		case msg != "":
			p[at] = msg
		case seen[l]:
			p[at] = "duplicates another layer key"
		}
		seen[l] = true
	}
}

// CheckNew returns every problem of a holdout about to be created.
func CheckNew(h *Holdout) experiment.Problems {
	p := experiment.Problems{}
	if msg := experiment.KeyProblem(h.Key); msg != "" {
		p["key"] = msg
	}
	if msg := experiment.NameProblem(h.Name); msg != "" {
		p["name"] = msg
	}
	if msg := PercentProblem(h.Percent); msg != "" {
		p["percent"] = msg
	}
	CheckLayers(p, "layers", h.Layers)
	experiment.CheckEvents(p, "events", h.Events)
	return p
}
