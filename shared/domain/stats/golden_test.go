package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// goldenSummary is a Summary as the golden JSON files spell it.
type goldenSummary struct {
	N        int64   `json:"n"`
	Sum      float64 `json:"sum"`
	SumSq    float64 `json:"sum_sq"`
	DenSum   float64 `json:"den_sum"`
	DenSumSq float64 `json:"den_sum_sq"`
	SumXY    float64 `json:"sum_xy"`
	PreSum   float64 `json:"pre_sum"`
	PreSumSq float64 `json:"pre_sum_sq"`
	SumXPre  float64 `json:"sum_x_pre"`
}

func (g goldenSummary) summary() Summary {
	return Summary(g)
}

type goldenEffect struct {
	Estimate *float64  `json:"estimate"`
	StdErr   *float64  `json:"std_err"`
	CI       []float64 `json:"ci"`
	PValue   *float64  `json:"p_value"`
}

type goldenCompareCase struct {
	Name      string        `json:"name"`
	Source    string        `json:"source"`
	Kind      string        `json:"kind"`
	Method    string        `json:"method"`
	Alpha     float64       `json:"alpha"`
	Tuning    float64       `json:"tuning"`
	Prior     Prior         `json:"prior"`
	CUPED     bool          `json:"cuped"`
	Control   goldenSummary `json:"control"`
	Treatment goldenSummary `json:"treatment"`
	Tol       float64       `json:"tol"`
	Want      struct {
		Reason              string        `json:"reason"`
		Absolute            *goldenEffect `json:"absolute"`
		Relative            *goldenEffect `json:"relative"`
		PValue              *float64      `json:"p_value"`
		Statistic           *float64      `json:"statistic"`
		DF                  *float64      `json:"df"`
		Theta               *float64      `json:"theta"`
		ChanceToBeatControl *float64      `json:"chance_to_beat_control"`
		Risk                *float64      `json:"risk"`
		ControlRisk         *float64      `json:"control_risk"`
	} `json:"want"`
}

func (p *Prior) UnmarshalJSON(b []byte) error {
	var v struct {
		Proper   bool    `json:"proper"`
		Mean     float64 `json:"mean"`
		Variance float64 `json:"variance"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Prior(v)
	return nil
}

func parseKind(t *testing.T, s string) Kind {
	for k := Binomial; k <= Ratio; k++ {
		if k.String() == s {
			return k
		}
	}
	t.Fatalf("unknown kind %q", s)
	return 0
}

func parseMethod(t *testing.T, s string) Method {
	for m := Frequentist; m <= Bayesian; m++ {
		if m.String() == s {
			return m
		}
	}
	t.Fatalf("unknown method %q", s)
	return 0
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

// runGoldenCompare checks Compare against every case of a golden file in the
// goldenCompareCase format.
func runGoldenCompare(t *testing.T, file string) {
	var g struct {
		Cases []goldenCompareCase `json:"cases"`
	}
	loadJSON(t, file, &g)
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Source == "" {
				t.Error("golden case names no source")
			}
			kind := parseKind(t, c.Kind)
			control, treatment := c.Control.summary(), c.Treatment.summary()
			o := Options{Kind: kind, Method: parseMethod(t, c.Method), Alpha: c.Alpha,
				SequentialTuning: c.Tuning, Prior: c.Prior, CUPED: c.CUPED}
			if c.CUPED {
				o.Theta = CUPEDTheta(kind, control, treatment)
			}
			got, ok := Compare(control, treatment, o)
			if c.Want.Reason != "" {
				if ok || got.Reason.String() != c.Want.Reason {
					t.Fatalf("got ok=%v reason=%v, want reason %s", ok, got.Reason, c.Want.Reason)
				}
				return
			}
			if !ok {
				t.Fatalf("undefined: %v", got.Reason)
			}
			check := func(name string, got float64, want *float64) {
				t.Helper()
				if want != nil && !closeAbs(got, *want, c.Tol) {
					t.Errorf("%s = %.10g, want %.10g (tol %g)", name, got, *want, c.Tol)
				}
			}
			effect := func(name string, got Effect, want *goldenEffect) {
				t.Helper()
				if want == nil {
					return
				}
				check(name+".Estimate", got.Estimate, want.Estimate)
				check(name+".StdErr", got.StdErr, want.StdErr)
				check(name+".PValue", got.PValue, want.PValue)
				if want.CI != nil {
					check(name+".CI.Lo", got.CI.Lo, &want.CI[0])
					check(name+".CI.Hi", got.CI.Hi, &want.CI[1])
				}
			}
			effect("Absolute", got.Absolute, c.Want.Absolute)
			if c.Want.Relative != nil && !got.RelativeDefined {
				t.Fatal("relative effect undefined")
			}
			effect("Relative", got.Relative, c.Want.Relative)
			check("PValue", got.PValue, c.Want.PValue)
			check("Statistic", got.Statistic, c.Want.Statistic)
			check("DF", got.DF, c.Want.DF)
			check("Theta", got.Theta, c.Want.Theta)
			check("ChanceToBeatControl", got.ChanceToBeatControl, c.Want.ChanceToBeatControl)
			check("Risk", got.Risk, c.Want.Risk)
			check("ControlRisk", got.ControlRisk, c.Want.ControlRisk)
			if math.IsNaN(got.PValue) || math.IsNaN(got.Absolute.Estimate) {
				t.Errorf("NaN in result %+v", got)
			}
		})
	}
}

// TestComparePublished checks Compare against numbers published in the
// tests of GrowthBook's gbstats and PostHog's experiment statistics; each
// case names its source file and test function.
func TestComparePublished(t *testing.T) {
	runGoldenCompare(t, "published-golden.json")
}

// TestCompareGbstats checks Compare against gbstats itself, run by
// testdata/gen_gbstats_golden.py on sums of seeded samples: every kind,
// every method, CUPED, a proper prior, alphas other than 0.05.
func TestCompareGbstats(t *testing.T) {
	runGoldenCompare(t, "gbstats-golden.json")
}
