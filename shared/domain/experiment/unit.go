package experiment

import (
	"fmt"

	"github.com/abtest/abtest/shared/domain/fault"
)

// CodeDeviceIDRequired refuses a call about a device-unit experiment that
// names no device.
const CodeDeviceIDRequired = "DEVICE_ID_REQUIRED"

// UnitRef names one unit: a user or a device, by id. A unit's items
// (assignments, exposures, events, holdout memberships) live in its own
// partition, so a user and a device with the same id never meet.
type UnitRef struct {
	Kind Unit // UnitUser or UnitDevice
	ID   string
}

// UserUnit is the user id.
func UserUnit(id string) UnitRef { return UnitRef{Kind: UnitUser, ID: id} }

// DeviceUnit is the device id.
func DeviceUnit(id string) UnitRef { return UnitRef{Kind: UnitDevice, ID: id} }

// IsDevice reports whether u is a device.
func (u UnitRef) IsDevice() bool { return u.Kind == UnitDevice }

// String is "user_id:<id>" or "device_id:<id>", for logs and errors.
func (u UnitRef) String() string {
	if u.IsDevice() {
		return string(UnitDevice) + ":" + u.ID
	}
	return string(UnitUser) + ":" + u.ID
}

// Identity is who a client call is about: the signed-in user (the
// session's subject) and the device the app names, when it names one.
type Identity struct {
	UserID   string
	DeviceID string // "" when the app sent none
}

// UnitFor is the unit e buckets for id: the device for a device-unit
// experiment (which then needs one), the user otherwise.
func (e *Experiment) UnitFor(id Identity) (UnitRef, error) {
	if e.UnitOf() != UnitDevice {
		return UserUnit(id.UserID), nil
	}
	if id.DeviceID == "" {
		return UnitRef{}, fault.New(fault.Invalid, CodeDeviceIDRequired,
			"experiment "+e.Key+" buckets by device: send the device id in the X-Device-Id header")
	}
	return DeviceUnit(id.DeviceID), nil
}

// Problem says what is wrong with id as the unit of a backend's call ("":
// nothing): at least one id, each a valid unit id.
func (id Identity) Problem() string {
	if id.UserID == "" && id.DeviceID == "" {
		return "user_id or device_id is required"
	}
	for _, v := range []string{id.UserID, id.DeviceID} {
		if v != "" && !ValidUnitID(v) {
			return fmt.Sprintf("user_id and device_id must be 1-%d bytes of UTF-8 without control or format characters", MaxUnitIDLen)
		}
	}
	return ""
}
