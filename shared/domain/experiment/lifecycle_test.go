package experiment

import "testing"

func TestNext(t *testing.T) {
	all := []Status{Draft, Active, Paused, Ended, Archived}
	allowed := map[[2]string]Status{
		{"draft", "start"}:   Active,
		{"active", "pause"}:  Paused,
		{"paused", "resume"}: Active,
		{"active", "end"}:    Ended,
		{"paused", "end"}:    Ended,
	}
	for _, from := range all {
		for _, a := range []Action{Start, Pause, Resume, End, "bogus"} {
			to, ok := Next(from, a)
			want, wantOK := allowed[[2]string{string(from), string(a)}]
			if ok != wantOK || (ok && to != want) {
				t.Errorf("Next(%s, %s) = %s, %v; want %s, %v", from, a, to, ok, want, wantOK)
			}
			if !ok && to != from {
				t.Errorf("refused Next(%s, %s) changed the status to %s", from, a, to)
			}
		}
	}
}
