package holdout

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/domain/enrolment"
	"github.com/abtest/abtest/shared/domain/experiment"
)

func TestCheckNew(t *testing.T) {
	ok := &Holdout{Key: "global", Name: "Global", Percent: 5, Layers: []string{"checkout"}, Events: []string{"purchase"}}
	if p := CheckNew(ok); len(p) != 0 {
		t.Fatalf("valid holdout: %v", p)
	}
	for _, pct := range []float64{0, -1, 50.0001, 100, math.NaN(), math.Inf(1)} {
		if PercentProblem(pct) == "" {
			t.Errorf("percent %v accepted", pct)
		}
	}
	for _, pct := range []float64{1e-9, 0.5, 50} {
		if msg := PercentProblem(pct); msg != "" {
			t.Errorf("percent %v: %s", pct, msg)
		}
	}
	bad := &Holdout{Key: "A", Name: "", Percent: 0, Layers: []string{"x", "x", "Y"}, Events: []string{"ok", "no:colon"}}
	got := CheckNew(bad)
	want := []string{"events[1]", "key", "layers[1]", "layers[2]", "name", "percent"}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	if len(keys) != len(want) {
		t.Fatalf("problems %v, want %v", got, want)
	}
	for _, k := range want {
		if got[k] == "" {
			t.Errorf("no problem at %s: %v", k, got)
		}
	}
	many := &Holdout{Key: "k", Name: "n", Percent: 1, Layers: strings.Split(strings.Repeat("l,", MaxLayers+1), ",")[:MaxLayers+1]}
	if CheckNew(many)["layers"] == "" {
		t.Fatal("too many layers accepted")
	}
}

// TestHeldOutIsEnrolments: the definition's membership is enrolment's rule.
func TestHeldOutIsEnrolments(t *testing.T) {
	h := &Holdout{Key: "h", Percent: 25, Layers: []string{"l"}}
	for _, u := range []string{"a", "b", "c", "alice", "bob", "unit-17"} {
		if h.HeldOut(u) != enrolment.InHoldout(enrolment.Holdout{Key: "h", Percent: 25}, u) {
			t.Fatalf("%s differs", u)
		}
	}
	if r := h.Rule(); r.Key != "h" || r.Percent != 25 || !reflect.DeepEqual(r.Layers, []string{"l"}) {
		t.Fatalf("rule %+v", r)
	}
}

func TestConverts(t *testing.T) {
	since := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	m := &Membership{Holdout: "h", Unit: experiment.UserUnit("u"), Since: since}
	ev := func(ts, received time.Time) *experiment.Event {
		return &experiment.Event{Name: "purchase", Timestamp: ts, ReceivedAt: received}
	}
	cases := []struct {
		ts, received time.Time
		want         bool
	}{
		{since, since, true},
		{since.Add(time.Minute), since.Add(time.Minute), true},
		{since.Add(-time.Second), since.Add(time.Minute), false}, // happened before joining
		{since.Add(time.Minute), since.Add(-time.Second), false}, // arrived before joining
	}
	for _, tc := range cases {
		if got := Converts(m, ev(tc.ts, tc.received)); got != tc.want {
			t.Errorf("event at %v received %v: %v, want %v", tc.ts, tc.received, got, tc.want)
		}
	}
}

func TestContributionAndDelta(t *testing.T) {
	held := &Membership{Holdout: "h", HeldOut: true}
	exposed := &Membership{Holdout: "h"}
	converted := &Membership{Holdout: "h", Conversions: []string{"purchase", "signup"}}
	if g := Contribution(held); g.Assigned[GroupHeldOut] != 1 || len(g.Assigned) != 1 || len(g.Converted) != 0 {
		t.Fatalf("held out: %+v", g)
	}
	if g := Contribution(converted); g.Assigned[GroupExposed] != 1 || g.Converted[GroupExposed]["purchase"] != 1 || g.Converted[GroupExposed]["signup"] != 1 {
		t.Fatalf("converted: %+v", g)
	}
	if d := Delta(nil, exposed); d.Assigned[GroupExposed] != 1 {
		t.Fatalf("created: %+v", d)
	}
	if d := Delta(exposed, converted); len(d.Assigned) != 0 || d.Converted[GroupExposed]["purchase"] != 1 {
		t.Fatalf("converted later: %+v", d)
	}
	if d := Delta(converted, nil); d.Assigned[GroupExposed] != -1 || d.Converted[GroupExposed]["signup"] != -1 {
		t.Fatalf("erased: %+v", d)
	}
	if !Delta(held, held).IsZero() {
		t.Fatal("no change moved the counts")
	}
}
