package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/abtest/abtest/shared/domain/stats"
	"github.com/abtest/abtest/shared/usecase/results"
)

// Alpha is the significance level the table marks against.
const Alpha = 0.05

func experimentResults(ctx context.Context, c call) error {
	key, err := c.key("results")
	if err != nil {
		return err
	}
	q := url.Values{}
	switch {
	case c.o.metric != "":
		q.Set("metric", c.o.metric)
	case c.o.event != "":
		q.Set("event", c.o.event)
	default:
		return usagef("experiments results needs --event NAME (one of the experiment's events) or --metric KEY (one of its metrics)")
	}
	if c.o.method != "" {
		q.Set("method", c.o.method)
	}
	if c.o.cuped {
		q.Set("cuped", "true")
	}
	var r results.Report
	if err := c.c.Do(ctx, http.MethodGet, c.res.item(key)+"/results", q, nil, &r); err != nil {
		return err
	}
	switch {
	case c.o.output == "json":
		return printJSON(c.e.stdout, r)
	case c.o.metric != "":
		return metricTable(c.e.stdout, r)
	}
	return resultsTable(c.e.stdout, r)
}

// metricTable prints a metric's reading: per variant its units and mean,
// and against the control the difference and the lift with their
// intervals, the corrected p-value (or, Bayesian, the chance to beat the
// control) and the verdict; with CUPED the variance the adjustment removed.
func metricTable(w io.Writer, r results.Report) error {
	asOf := "no counts yet"
	if r.AsOf != nil {
		asOf = "counts as of " + *r.AsOf
	}
	fmt.Fprintf(w, "%s (%s) on metric %s, %s, %s\n\n", r.Experiment, r.Status, r.Metric, r.Method, asOf)
	level := fmt.Sprintf("%g%%", math.Round((1-r.Alpha)*1000)/10)
	head := []string{"VARIANT", "N", "MEAN", "DIFF [" + level + "]", "LIFT [" + level + "]", "P (ADJ.)"}
	if r.Method == "bayesian" {
		head[5] = "P(BEAT CONTROL)"
	}
	if r.CUPED != nil {
		head = append(head, "VAR. REMOVED")
	}
	rows := [][]string{append(head, "")}
	for _, v := range r.Variants {
		name, verdict := v.Variant, ""
		diff, lift, p, removed := "-", "-", "-", "-"
		switch {
		case v.IsControl:
			name += " (control)"
		case v.Undefined != "":
			verdict = "undefined: " + v.Undefined
		case v.Significant != nil && *v.Significant:
			verdict = "significant"
		default:
			verdict = "not significant"
		}
		if e := v.Absolute; e != nil {
			diff = fmt.Sprintf("%s [%s, %s]", number(e.Estimate), number(e.CI[0]), number(e.CI[1]))
		}
		if e := v.Relative; e != nil {
			lift = fmt.Sprintf("%s [%s, %s]", percent(&e.Estimate, true), percent(&e.CI[0], true), percent(&e.CI[1], true))
		}
		if r.Method == "bayesian" {
			p = percent(v.ChanceToBeatControl, false)
		} else if !v.IsControl {
			p = pValue(v.AdjustedPValue)
		}
		if v.CUPED != nil && v.CUPED.VarianceReduction != nil {
			removed = percent(v.CUPED.VarianceReduction, false)
		}
		mean := "-"
		if v.Mean != nil {
			mean = number(*v.Mean)
		}
		row := []string{name, fmt.Sprint(v.N), mean, diff, lift, p}
		if r.CUPED != nil {
			row = append(row, removed)
		}
		rows = append(rows, append(row, verdict))
	}
	writeTable(w, rows, func(col int) bool { return col > 0 && col < len(rows[0])-1 })
	fmt.Fprintf(w, "\nsignificant: after %s correction at alpha %v.\n", r.Correction, r.Alpha)
	if r.CUPED != nil {
		fmt.Fprintf(w, "CUPED: adjusted by each unit's %d days before its first exposure (theta %.4g).\n", r.CUPED.LookbackDays, r.CUPED.Theta)
	}
	if r.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", r.Warning)
	}
	return nil
}

// number prints a metric's value with four significant digits.
func number(f float64) string { return fmt.Sprintf("%.4g", f) }

// resultsTable prints each variant against the control: exposed units (the
// denominator), conversions, the rate, the lift, the 95% interval of the
// difference of rates, the z-test's p-value and whether it is below Alpha.
func resultsTable(w io.Writer, r results.Report) error {
	asOf := "no counts yet"
	if r.AsOf != nil {
		asOf = "counts as of " + *r.AsOf
	}
	fmt.Fprintf(w, "%s (%s) on %s, %s\n\n", r.Experiment, r.Status, r.Event, asOf)
	var control *results.Variant
	for i := range r.Variants {
		if r.Variants[i].IsControl {
			control = &r.Variants[i]
		}
	}
	rows := [][]string{{"VARIANT", "EXPOSED", "CONVERTED", "RATE", "LIFT", "95% CI (DIFF)", "P-VALUE", ""}}
	for _, v := range r.Variants {
		name, verdict := v.Variant, ""
		interval := "-"
		switch {
		case v.IsControl:
			name += " (control)"
		case v.PValue == nil:
			verdict = "not enough data"
		case *v.PValue < Alpha:
			verdict = "significant"
		default:
			verdict = "not significant"
		}
		if !v.IsControl && control != nil {
			if lo, hi, ok := stats.DifferenceInterval(control.ConvertedCount, control.ExposedCount, v.ConvertedCount, v.ExposedCount, stats.Z95); ok {
				interval = fmt.Sprintf("[%s, %s] pp", points(lo), points(hi))
			}
		}
		rows = append(rows, []string{name, fmt.Sprint(v.ExposedCount), fmt.Sprint(v.ConvertedCount),
			percent(v.ConversionRate, false), percent(v.Lift, true), interval, pValue(v.PValue), verdict})
	}
	// The names and the verdict read left to right; the numbers line up on
	// the right.
	writeTable(w, rows, func(col int) bool { return col > 0 && col < len(rows[0])-1 })
	fmt.Fprintf(w, "\nsignificant: two-sided p-value below %v (two-proportion z-test against the control).\n", Alpha)
	fmt.Fprintln(w, "95% CI (DIFF): the treatment's rate minus the control's, in percentage points.")
	return nil
}

// writeTable pads the cells of rows into columns two spaces apart.
func writeTable(w io.Writer, rows [][]string, right func(col int) bool) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if right(i) {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func percent(f *float64, signed bool) string {
	if f == nil {
		return "-"
	}
	if signed {
		return fmt.Sprintf("%+.2f%%", *f*100)
	}
	return fmt.Sprintf("%.2f%%", *f*100)
}

func points(f float64) string {
	s := fmt.Sprintf("%+.2f", f*100)
	if s == "-0.00" {
		s = "+0.00"
	}
	return s
}

func pValue(p *float64) string {
	switch {
	case p == nil:
		return "-"
	case *p < 0.0001:
		return "<0.0001"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", math.Round(*p*1e4)/1e4), "0"), ".")
}

func holdoutResults(ctx context.Context, c call) error {
	key, err := c.key("results")
	if err != nil {
		return err
	}
	if c.o.event == "" {
		return usagef("holdouts results needs --event NAME (one of the holdout's events)")
	}
	var r results.HoldoutReport
	if err := c.c.Do(ctx, http.MethodGet, c.res.item(key)+"/results", url.Values{"event": {c.o.event}}, nil, &r); err != nil {
		return err
	}
	if c.o.output == "json" {
		return printJSON(c.e.stdout, r)
	}
	rep := results.Report{Experiment: "holdout " + r.Holdout, Status: "live", Event: r.Event, AsOf: r.AsOf}
	for _, g := range r.Groups {
		rep.Variants = append(rep.Variants, results.Variant{Variant: g.Group, IsControl: g.Group == "held_out", ExposedCount: g.Units,
			ConvertedCount: g.ConvertedCount, ConversionRate: g.ConversionRate, ZScore: g.ZScore, PValue: g.PValue, Lift: g.Lift})
	}
	return resultsTable(c.e.stdout, rep)
}
