package experiment

import "time"

// The CUPED covariate is what a unit did, per UTC day, over the lookback
// window before its first exposure in an experiment. Days, not exact
// instants, bound the window on purpose: the window ends at the start of
// the day of first exposure, so an event stamped on that day (client clocks
// drift, and a treatment may already have acted on it) never enters the
// covariate, which must not depend on the variant.

// DayLayout formats a UTC day, as history items name it.
const DayLayout = "2006-01-02"

// Day is t's UTC day.
func Day(t time.Time) string { return t.UTC().Format(DayLayout) }

// PreWindow returns the first and last UTC day (inclusive, DayLayout) of
// the covariate window of a unit first exposed at firstExposed: the days
// whole days before firstExposed's day.
func PreWindow(firstExposed time.Time, days int) (from, to string) {
	d := firstExposed.UTC().Truncate(24 * time.Hour)
	return Day(d.AddDate(0, 0, -days)), Day(d.AddDate(0, 0, -1))
}

// InPreWindow reports whether an event stamped at ts falls in the
// covariate window of a unit first exposed at firstExposed.
func InPreWindow(ts, firstExposed time.Time, days int) bool {
	from, to := PreWindow(firstExposed, days)
	d := Day(ts)
	return d >= from && d <= to
}
