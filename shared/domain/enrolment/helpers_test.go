package enrolment

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/abtest/abtest/shared/domain/bucketing"
	"github.com/abtest/abtest/shared/domain/conditions"
	"github.com/abtest/abtest/shared/domain/experiment"
)

// newExp is an active two-variant experiment enrolling everyone, changed
// by mods.
func newExp(mods ...func(*experiment.Experiment)) *experiment.Experiment {
	e := &experiment.Experiment{
		Key: "exp-checkout", Status: experiment.Active, Coverage: 1,
		Variants: []experiment.Variant{{Key: "control", Weight: 1}, {Key: "treatment", Weight: 1}},
	}
	for _, m := range mods {
		m(e)
	}
	return e
}

func compile(t testing.TB, cond string) *conditions.Condition {
	t.Helper()
	c, err := conditions.Compile(json.RawMessage(cond))
	if err != nil {
		t.Fatalf("compile %s: %v", cond, err)
	}
	return c
}

// findUnit returns the first synthetic unit id satisfying pred, so a test
// states the unit it needs instead of a magic id.
func findUnit(t testing.TB, pred func(id string) bool) string {
	t.Helper()
	for i := range 100_000 {
		if id := "unit-" + strconv.Itoa(i); pred(id) {
			return id
		}
	}
	t.Fatal("no unit satisfies the predicate")
	return ""
}

// The predicates below restate each step with bucketing directly.

func inLayer(e *experiment.Experiment, id string) bool {
	l := e.Layer
	return l == nil || bucketing.InNamespace(id, bucketing.Namespace{ID: l.Key, Start: l.Start, End: l.End})
}

func inCoverage(e *experiment.Experiment, id string) bool {
	v, err := bucketing.Choose(e.Key, id, e.Weights(), e.Coverage, nil)
	return err == nil && v >= 0
}

// bucketed is the variant bucketing gives id with e's layer as namespace,
// the form GrowthBook's RunExperiment takes.
func bucketed(t testing.TB, e *experiment.Experiment, id string) int {
	t.Helper()
	var ns *bucketing.Namespace
	if l := e.Layer; l != nil {
		ns = &bucketing.Namespace{ID: l.Key, Start: l.Start, End: l.End}
	}
	v, err := bucketing.Choose(e.Key, id, e.Weights(), e.Coverage, ns)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
