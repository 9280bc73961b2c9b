package stats

import (
	"math"
	"testing"
)

func TestRate(t *testing.T) {
	tests := []struct {
		name   string
		x, n   int64
		want   float64
		wantOK bool
	}{
		{"none converted", 0, 10, 0, true},
		{"half", 1, 2, 0.5, true},
		{"all converted", 3, 3, 1, true},
		{"third", 1, 3, 1.0 / 3, true},
		{"huge n", 1, 1e18, 1e-18, true},
		{"max int64", math.MaxInt64, math.MaxInt64, 1, true},
		{"empty group", 0, 0, 0, false},
		{"conversions with n = 0", 1, 0, 0, false},
		{"negative x", -1, 5, 0, false},
		{"negative n", 1, -1, 0, false},
		{"both negative", -2, -1, 0, false},
		{"x > n", 6, 5, 0, false},
		{"min int64", math.MinInt64, math.MinInt64, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Rate(tt.x, tt.n)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Rate(%d, %d) = %v, %v; want %v, %v", tt.x, tt.n, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLift(t *testing.T) {
	nan := math.NaN()
	inf := math.Inf(1)
	tests := []struct {
		name               string
		control, treatment float64
		want               float64
		wantOK             bool
	}{
		{"20% better", 0.10, 0.12, 0.2, true},
		{"10% worse", 0.5, 0.45, -0.1, true},
		{"no change", 0.3, 0.3, 0, true},
		{"treatment never converts", 0.2, 0, -1, true},
		{"doubles", 0.5, 1, 1, true},
		{"tiny control", 1e-9, 2e-9, 1, true},
		{"control rate zero", 0, 0.1, 0, false},
		{"both zero", 0, 0, 0, false},
		{"negative zero control", math.Copysign(0, -1), 0.1, 0, false},
		{"NaN control", nan, 0.1, 0, false},
		{"NaN treatment", 0.1, nan, 0, false},
		{"negative control", -0.1, 0.1, 0, false},
		{"negative treatment", 0.1, -0.1, 0, false},
		{"control above 1", 1.5, 0.1, 0, false},
		{"treatment above 1", 0.1, 1.5, 0, false},
		{"infinite treatment", 0.1, inf, 0, false},
		{"lift overflows", math.SmallestNonzeroFloat64, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Lift(tt.control, tt.treatment)
			if ok != tt.wantOK || !closeAbs(got, tt.want, 1e-12) {
				t.Errorf("Lift(%v, %v) = %v, %v; want %v, %v", tt.control, tt.treatment, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
