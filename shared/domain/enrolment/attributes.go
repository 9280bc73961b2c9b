package enrolment

import (
	"maps"

	"github.com/abtest/abtest/shared/domain/experiment"
)

// The attributes the service sets itself. "id" is GrowthBook's default
// hash attribute: the bucketed unit.
const (
	attrID       = "id"
	attrUserID   = string(experiment.UnitUser)
	attrDeviceID = string(experiment.UnitDevice)
)

// Attributes returns the attributes a condition is evaluated against: a
// copy of the caller's (decoded JSON), with "id" set to unitID and
// "user_id" and "device_id" to the ids the service knows, absent when
// empty. What the caller sent under those three names is dropped, so a
// caller can never target as another unit. The copy is shallow: nested
// values are shared, and nothing here or in conditions modifies them.
func Attributes(userAttrs map[string]any, unitID, userID, deviceID string) map[string]any {
	// Cloning and deleting is twice as fast as copying key by key.
	attrs := maps.Clone(userAttrs)
	if attrs == nil {
		attrs = make(map[string]any, 3)
	}
	delete(attrs, attrID)
	delete(attrs, attrUserID)
	delete(attrs, attrDeviceID)
	attrs[attrID] = unitID
	if userID != "" {
		attrs[attrUserID] = userID
	}
	if deviceID != "" {
		attrs[attrDeviceID] = deviceID
	}
	return attrs
}
