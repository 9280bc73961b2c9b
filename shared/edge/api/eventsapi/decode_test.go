package eventsapi

import (
	"strings"
	"testing"
)

// TestEventRejectionsSpeakJSON: an event that cannot be read is rejected
// with the field and what was expected, never Go's decoder text.
func TestEventRejectionsSpeakJSON(t *testing.T) {
	for raw, want := range map[string]string{
		`{"name":"x","timestamp":1700000000}`: "timestamp must be a string",
		`{"name":5}`:                          "name must be a string",
		`{"name":"x","id":1}`:                 "id must be a string",
		`{"name":"x","extra":true}`:           "extra is not a known field",
		`[]`:                                  "an event must be a JSON object",
	} {
		got := decodeEvent([]byte(raw), false).Rejected
		if got != want {
			t.Errorf("%s: rejected with %q, want %q", raw, got, want)
		}
		for _, internal := range []string{"json:", "Go struct", "unmarshal"} {
			if strings.Contains(got, internal) {
				t.Errorf("%s: %q shows Go internals", raw, got)
			}
		}
	}
}
