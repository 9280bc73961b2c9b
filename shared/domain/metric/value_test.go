package metric

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// TestAdds is the rule of which events count toward a unit's metric value
// and by how much, windows included (docs/statistics.md).
func TestAdds(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return at.Add(time.Duration(n * float64(time.Hour))) }
	exposedAt := h(2)
	a := &experiment.Assignment{Experiment: "e", AssignedAt: at, FirstExposedAt: exposedAt}
	unexposed := &experiment.Assignment{Experiment: "e", AssignedAt: at}
	ev := func(name string, ts, received float64, exposed bool, props string) *experiment.Event {
		e := &experiment.Event{Name: name, Timestamp: h(ts), ReceivedAt: h(received), Evaluated: []string{"e"}}
		if exposed {
			e.Exposed = []string{"e"}
		}
		if props != "" {
			e.Properties = json.RawMessage(props)
		}
		return e
	}
	clicks := &Metric{Key: "c", Type: Count, Event: "click"}
	clicks24 := &Metric{Key: "c24", Type: Count, Event: "click", WindowHours: 24}
	rev := &Metric{Key: "r", Type: Sum, Event: "buy", Property: "amount"}
	bought6 := &Metric{Key: "b6", Type: Binomial, Event: "buy", WindowHours: 6}
	aov := &Metric{Key: "aov", Type: Ratio, Numerator: &Component{Type: Sum, Event: "buy", Property: "amount"}, Denominator: &Component{Type: Count, Event: "buy"}}
	rpc := &Metric{Key: "rpc", Type: Ratio, Numerator: &Component{Type: Sum, Event: "buy", Property: "amount"}, Denominator: &Component{Type: Count, Event: "click"}}
	for _, tc := range []struct {
		name string
		m    *Metric
		a    *experiment.Assignment
		ev   *experiment.Event
		want experiment.Value
		ok   bool
	}{
		{"count", clicks, a, ev("click", 3, 3, true, ""), experiment.Value{X: 1}, true},
		{"another event", clicks, a, ev("buy", 3, 3, true, ""), experiment.Value{}, false},
		{"before exposure, no window: counts", clicks, a, ev("click", 1, 1, false, ""), experiment.Value{X: 1}, true},
		{"unexposed unit, no window: counts", clicks, unexposed, ev("click", 1, 1, false, ""), experiment.Value{X: 1}, true},
		{"stamped before assignment", clicks, a, ev("click", -1, 1, false, ""), experiment.Value{}, false},
		{"received before assignment", clicks, a, ev("click", 0, -0.5, false, ""), experiment.Value{}, false},
		{"not evaluated for the experiment", clicks, a, &experiment.Event{Name: "click", Timestamp: h(3), ReceivedAt: h(3)}, experiment.Value{}, false},
		{"window: inside", clicks24, a, ev("click", 25, 26, true, ""), experiment.Value{X: 1}, true},
		{"window: at its start", clicks24, a, ev("click", 2, 2.5, true, ""), experiment.Value{X: 1}, true},
		{"window: at its end, excluded", clicks24, a, ev("click", 26, 26, true, ""), experiment.Value{}, false},
		{"window: stamped before exposure", clicks24, a, ev("click", 1.5, 3, true, ""), experiment.Value{}, false},
		{"window: recorded before exposure", clicks24, a, ev("click", 3, 3, false, ""), experiment.Value{}, false},
		{"window: unexposed unit", clicks24, unexposed, ev("click", 3, 3, true, ""), experiment.Value{}, false},
		{"sum", rev, a, ev("buy", 3, 3, true, `{"amount":12.5}`), experiment.Value{X: 12.5}, true},
		{"sum of a negative", rev, a, ev("buy", 3, 3, true, `{"amount":-2}`), experiment.Value{X: -2}, true},
		{"sum without the property", rev, a, ev("buy", 3, 3, true, `{"other":1}`), experiment.Value{}, false},
		{"sum of a string", rev, a, ev("buy", 3, 3, true, `{"amount":"12"}`), experiment.Value{}, false},
		{"binomial in window", bought6, a, ev("buy", 7, 7, true, ""), experiment.Value{X: 1}, true},
		{"binomial past window", bought6, a, ev("buy", 8.5, 9, true, ""), experiment.Value{}, false},
		{"ratio, one event both sides", aov, a, ev("buy", 3, 3, true, `{"amount":20}`), experiment.Value{X: 20, Y: 1}, true},
		{"ratio, no amount: the denominator", aov, a, ev("buy", 3, 3, true, ""), experiment.Value{Y: 1}, true},
		{"ratio denominator event", rpc, a, ev("click", 3, 3, true, ""), experiment.Value{Y: 1}, true},
		{"ratio numerator event", rpc, a, ev("buy", 3, 3, true, `{"amount":5}`), experiment.Value{X: 5}, true},
	} {
		got, ok := tc.m.Adds(tc.a, tc.ev)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	all := AddsAll([]*Metric{clicks, clicks24, rpc, rev}, a, ev("click", 3, 3, true, ""))
	if want := map[string]experiment.Value{"c": {X: 1}, "c24": {X: 1}, "rpc": {Y: 1}}; !reflect.DeepEqual(all, want) {
		t.Fatalf("AddsAll %+v, want %+v", all, want)
	}
}

func TestFeedsAndShape(t *testing.T) {
	r := &Metric{Type: Ratio, Cap: 9, Numerator: &Component{Type: Sum, Event: "buy", Property: "p"}, Denominator: &Component{Type: Count, Event: "visit"}}
	if !r.Feeds("buy") || !r.Feeds("visit") || r.Feeds("click") {
		t.Fatal("ratio feeds")
	}
	if s := r.Shape(); s != (experiment.Shape{Ratio: true, Cap: 9}) {
		t.Fatalf("ratio shape %+v", s)
	}
	if s := (&Metric{Type: Binomial, Event: "x"}).Shape(); s != (experiment.Shape{Binary: true}) {
		t.Fatalf("binomial shape %+v", s)
	}
}

func BenchmarkAdds(b *testing.B) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	a := &experiment.Assignment{Experiment: "e", AssignedAt: at, FirstExposedAt: at}
	ev := &experiment.Event{Name: "buy", Timestamp: at.Add(time.Hour), ReceivedAt: at.Add(time.Hour), Evaluated: []string{"e"}, Exposed: []string{"e"},
		Properties: json.RawMessage(`{"amount":12.5,"sku":"abc"}`)}
	m := &Metric{Key: "r", Type: Sum, Event: "buy", Property: "amount", WindowHours: 24}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.Adds(a, ev)
	}
}

// TestHistoryAll: a unit's daily history takes every event's raw value of
// each metric it feeds, assigned or not, windowed or not; ratios have none.
func TestHistoryAll(t *testing.T) {
	ev := func(name, props string) *experiment.Event {
		return &experiment.Event{Name: name, Timestamp: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Properties: json.RawMessage(props)}
	}
	ms := []*Metric{
		{Key: "c", Type: Count, Event: "buy"},
		{Key: "c24", Type: Count, Event: "buy", WindowHours: 24},
		{Key: "b", Type: Binomial, Event: "buy"},
		{Key: "r", Type: Sum, Event: "buy", Property: "amount"},
		{Key: "aov", Type: Ratio, Numerator: &Component{Type: Sum, Event: "buy", Property: "amount"}, Denominator: &Component{Type: Count, Event: "buy"}},
		{Key: "clicks", Type: Count, Event: "click"},
	}
	if got, want := HistoryAll(ms, ev("buy", `{"amount":12.5}`)), map[string]float64{"c": 1, "c24": 1, "b": 1, "r": 12.5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	if got, want := HistoryAll(ms, ev("buy", `{"amount":0}`)), map[string]float64{"c": 1, "c24": 1, "b": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("history of a zero amount %v, want %v", got, want)
	}
	if got := HistoryAll(ms, ev("view", "")); got != nil {
		t.Fatalf("an event no metric reads has history %v", got)
	}
}
