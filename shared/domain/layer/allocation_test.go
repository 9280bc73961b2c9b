package layer_test

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
	"github.com/abtest/abtest/shared/domain/layer"
)

func h(exp string, start, end float64) layer.Holder {
	return layer.Holder{Experiment: exp, Status: experiment.Active, Start: start, End: end}
}

func TestOverlapping(t *testing.T) {
	holders := []layer.Holder{h("a", 0, 0.25), h("b", 0.5, 0.75)}
	cases := []struct {
		name   string
		claim  layer.Holder
		holder string // "" = no overlap
	}{
		{"touching both ends is not overlapping", h("x", 0.25, 0.5), ""},
		{"tail", h("x", 0.75, 1), ""},
		{"inside a", h("x", 0.1, 0.2), "a"},
		{"covers a", h("x", 0, 0.3), "a"},
		{"straddles b's start", h("x", 0.4, 0.6), "b"},
		{"straddles b's end", h("x", 0.7, 0.8), "b"},
		{"covers everything: the first holder", h("x", 0, 1), "a"},
		{"an experiment never overlaps itself", h("a", 0, 0.4), ""},
		{"moving b over a", h("b", 0.2, 0.6), "a"},
		{"tiny slice at a's last point", h("x", 0.2499999, 0.25), "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := layer.Overlapping(holders, tc.claim)
			if (tc.holder == "") == ok || (ok && got.Experiment != tc.holder) {
				t.Fatalf("Overlapping(%+v) = %+v, %v; want holder %q", tc.claim, got, ok, tc.holder)
			}
		})
	}
}

func TestFree(t *testing.T) {
	cases := []struct {
		name    string
		holders []layer.Holder
		want    []layer.Range
	}{
		{"empty layer", nil, []layer.Range{{Start: 0, End: 1}}},
		{"all taken", []layer.Holder{h("a", 0, 1)}, []layer.Range{}},
		{"head", []layer.Holder{h("a", 0.5, 1)}, []layer.Range{{Start: 0, End: 0.5}}},
		{"tail", []layer.Holder{h("a", 0, 0.3)}, []layer.Range{{Start: 0.3, End: 1}}},
		{"gaps between, unsorted input", []layer.Holder{h("b", 0.6, 0.8), h("a", 0.1, 0.2)},
			[]layer.Range{{Start: 0, End: 0.1}, {Start: 0.2, End: 0.6}, {Start: 0.8, End: 1}}},
		{"adjacent slices leave no gap", []layer.Holder{h("a", 0, 0.5), h("b", 0.5, 1)}, []layer.Range{}},
		{"overlapping input does not double count", []layer.Holder{h("a", 0, 0.6), h("b", 0.4, 0.7)}, []layer.Range{{Start: 0.7, End: 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := layer.Free(tc.holders); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Free = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClaimAndRelease(t *testing.T) {
	l := &layer.Layer{Key: "checkout", Holders: []layer.Holder{h("b", 0.5, 0.75)}}
	next, err := l.Claim(h("a", 0, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	if want := []layer.Holder{h("a", 0, 0.5), h("b", 0.5, 0.75)}; !reflect.DeepEqual(next, want) {
		t.Fatalf("claim: %v, want %v (ordered by start)", next, want)
	}
	if len(l.Holders) != 1 {
		t.Fatalf("Claim changed the layer's own allocation: %v", l.Holders)
	}

	// A status change replaces the entry.
	l.Holders = next
	paused := h("a", 0, 0.5)
	paused.Status = experiment.Paused
	if next, err = l.Claim(paused); err != nil || len(next) != 2 || next[0].Status != experiment.Paused {
		t.Fatalf("re-claim: %v, %v", next, err)
	}

	// An overlap names the holder and its range.
	_, err = l.Claim(h("c", 0.7, 0.9))
	f, ok := fault.As(err)
	if !ok || f.Code != layer.CodeRangeOverlap || f.Details["experiment"] != "b" || f.Details["start"] != 0.5 ||
		f.Details["end"] != 0.75 || f.Details["layer"] != "checkout" || f.Details["status"] != "active" {
		t.Fatalf("overlap error %#v", err)
	}

	if got := l.Release("a"); !reflect.DeepEqual(got, []layer.Holder{h("b", 0.5, 0.75)}) {
		t.Fatalf("release: %v", got)
	}
	if got := l.Release("nobody"); !reflect.DeepEqual(got, l.Holders) {
		t.Fatalf("releasing a non-holder changed the allocation: %v", got)
	}
}

func TestClaimFull(t *testing.T) {
	l := &layer.Layer{Key: "many"}
	for i := range layer.MaxHolders {
		next, err := l.Claim(h("x"+strconv.Itoa(i), float64(i)/1000, float64(i+1)/1000))
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		l.Holders = next
	}
	if _, err := l.Claim(h("one-more", 0.9, 1)); !fault.HasCode(err, layer.CodeFull) {
		t.Fatalf("claim past the limit: %v", err)
	}
}

func TestHolds(t *testing.T) {
	slice := &experiment.LayerSlice{Key: "l", Start: 0, End: 0.5}
	for _, tc := range []struct {
		status experiment.Status
		layer  *experiment.LayerSlice
		want   bool
	}{
		{experiment.Draft, slice, true},
		{experiment.Active, slice, true},
		{experiment.Paused, slice, true},
		{experiment.Ended, slice, false},
		{experiment.Archived, slice, false},
		{experiment.Active, nil, false},
	} {
		if got := layer.Holds(&experiment.Experiment{Key: "x", Status: tc.status, Layer: tc.layer}); got != tc.want {
			t.Errorf("Holds(%s, layer %v) = %v", tc.status, tc.layer != nil, got)
		}
	}
	if layer.Holds(nil) {
		t.Error("Holds(nil)")
	}
}

func TestCheckNew(t *testing.T) {
	if p := layer.CheckNew(&layer.Layer{Key: "checkout", Name: "Checkout"}); len(p) != 0 {
		t.Fatalf("valid layer: %v", p)
	}
	p := layer.CheckNew(&layer.Layer{Key: "Bad Key", Name: " "})
	if p["key"] == "" || p["name"] == "" {
		t.Fatalf("problems %v", p)
	}
	if layer.CheckKey("ok-key") != nil || !fault.HasCode(layer.CheckKey("a b"), fault.CodeInvalidKey) {
		t.Fatal("CheckKey")
	}
}
