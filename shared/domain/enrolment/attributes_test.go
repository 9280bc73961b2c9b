package enrolment

import (
	"maps"
	"testing"
)

func TestAttributes(t *testing.T) {
	nested := map[string]any{"city": "Montréal"}
	caller := map[string]any{
		"country": "CA", "age": 31.0, "address": nested,
		// The service's own names: dropped, whatever the caller says.
		"id": "someone-else", "user_id": "someone-else", "device_id": "someone-else",
	}
	before := maps.Clone(caller)
	tests := []struct {
		name                 string
		unit, user, device   string
		wantUser, wantDevice any
		hasUser, hasDevice   bool
	}{
		{"user unit", "u-1", "u-1", "", "u-1", nil, true, false},
		{"device unit, signed in", "d-1", "u-1", "d-1", "u-1", "d-1", true, true},
		{"device unit, signed out", "d-1", "", "d-1", nil, "d-1", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Attributes(caller, tt.unit, tt.user, tt.device)
			if got["id"] != tt.unit || got["country"] != "CA" || got["age"] != 31.0 {
				t.Errorf("Attributes = %v", got)
			}
			if u, ok := got["user_id"]; ok != tt.hasUser || u != tt.wantUser {
				t.Errorf("user_id = %v (present %v), want %v (present %v)", u, ok, tt.wantUser, tt.hasUser)
			}
			if d, ok := got["device_id"]; ok != tt.hasDevice || d != tt.wantDevice {
				t.Errorf("device_id = %v (present %v), want %v (present %v)", d, ok, tt.wantDevice, tt.hasDevice)
			}
			if want := len(caller) - 3 + 1 + btoi(tt.hasUser) + btoi(tt.hasDevice); len(got) != want {
				t.Errorf("%d attributes, want %d: %v", len(got), want, got)
			}
		})
	}
	if len(caller) != len(before) || caller["id"] != "someone-else" || caller["user_id"] != "someone-else" {
		t.Errorf("the caller's attributes changed: %v", caller)
	}
	if got := Attributes(nil, "u-1", "", ""); len(got) != 1 || got["id"] != "u-1" {
		t.Errorf("Attributes(nil) = %v, want only the id", got)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
