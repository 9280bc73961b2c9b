package experiment

// Action is a lifecycle command an admin sends.
type Action string

const (
	Start  Action = "start"
	Pause  Action = "pause"
	Resume Action = "resume"
	End    Action = "end"
)

// transitions is the whole lifecycle: draft -> active <-> paused -> ended.
// An active experiment can also end directly; ended is final.
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	Start:  {from: []Status{Draft}, to: Active},
	Pause:  {from: []Status{Active}, to: Paused},
	Resume: {from: []Status{Paused}, to: Active},
	End:    {from: []Status{Active, Paused}, to: Ended},
}

// Next returns the status an action leads to from a status, and whether the
// action is allowed there.
func Next(from Status, a Action) (Status, bool) {
	t, ok := transitions[a]
	if !ok {
		return from, false
	}
	for _, f := range t.from {
		if f == from {
			return t.to, true
		}
	}
	return from, false
}
