package experiment

import (
	"testing"
	"time"
)

func TestPreWindow(t *testing.T) {
	at := time.Date(2026, 3, 2, 0, 30, 0, 0, time.FixedZone("CET", 3600)) // 2026-03-01T23:30Z
	from, to := PreWindow(at, 14)
	if from != "2026-02-15" || to != "2026-02-28" {
		t.Fatalf("window %s..%s, want 2026-02-15..2026-02-28 (UTC days before the exposure's UTC day)", from, to)
	}
	for _, tc := range []struct {
		ts   time.Time
		want bool
	}{
		{time.Date(2026, 2, 28, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 2, 14, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), false},  // the day of exposure itself
		{time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC), false}, // before the exposure, same day
	} {
		if got := InPreWindow(tc.ts, at, 14); got != tc.want {
			t.Errorf("InPreWindow(%s) = %v, want %v", tc.ts, got, tc.want)
		}
	}
	if from, to := PreWindow(at, 1); from != "2026-02-28" || to != "2026-02-28" {
		t.Fatalf("one-day window %s..%s", from, to)
	}
}

func TestLookback(t *testing.T) {
	if got := (Analysis{}).Lookback(); got != DefaultLookbackDays {
		t.Fatalf("default lookback %d", got)
	}
	if got := (Analysis{LookbackDays: 7}).Lookback(); got != 7 {
		t.Fatalf("lookback %d", got)
	}
	for _, d := range []int{-1, MaxLookbackDays + 1} {
		p := Problems{}
		CheckAnalysis(p, Analysis{LookbackDays: d})
		if p["cuped_lookback_days"] == "" {
			t.Errorf("lookback %d accepted", d)
		}
	}
}
