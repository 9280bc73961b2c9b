package httpapi

import (
	"strings"

	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Caller is who is calling, as the authorizer established it before the
// handler runs (the Lambda authorizer on AWS, the same code in the local
// gateway). Handlers never read credentials themselves.
type Caller struct {
	Role   apikey.Role
	KeyID  string // the API key used
	UserID string // the end user (client role only)
	// Subject is the admin token's subject (admin role, without a key).
	Subject string
}

// Actor is who the audit trail names for the caller: the API key's id, or
// the admin token's subject.
func (c Caller) Actor() string {
	if c.KeyID != "" {
		return c.KeyID
	}
	return c.Subject
}

// Keys of the authorizer context (requestContext.authorizer.lambda).
const (
	CtxRole    = "role"
	CtxKeyID   = "key_id"
	CtxUserID  = "user_id"
	CtxSubject = "subject" // an admin token's subject, instead of a key id
	CtxError   = "error"   // set instead of an identity when credentials are bad
	CtxMessage = "message" // says which credential, never why a signature failed
)

// MaxUserIDLen bounds user ids (bytes): they are part of DynamoDB keys.
const MaxUserIDLen = experiment.MaxUnitIDLen

// Authorize returns the caller of req if it may act in role; otherwise 401
// UNAUTHENTICATED (no or bad credentials) or 403 FORBIDDEN (wrong role).
func Authorize(req Request, role apikey.Role) (Caller, error) {
	var lambda map[string]any
	if a := req.RequestContext.Authorizer; a != nil {
		lambda = a.Lambda
	}
	get := func(k string) string { s, _ := lambda[k].(string); return s }
	if code := get(CtxError); code != "" || lambda == nil {
		msg := get(CtxMessage)
		if msg == "" {
			msg = "missing credentials"
		}
		if code == fault.CodeForbidden {
			return Caller{}, fault.New(fault.Forbidden, fault.CodeForbidden, msg)
		}
		return Caller{}, fault.New(fault.Unauthenticated, fault.CodeUnauthenticated, msg)
	}
	c := Caller{Role: apikey.Role(get(CtxRole)), KeyID: get(CtxKeyID), UserID: get(CtxUserID), Subject: get(CtxSubject)}
	if c.Role != role {
		return Caller{}, fault.New(fault.Forbidden, fault.CodeForbidden, WrongRoleMessage(role))
	}
	// Only an admin may be a token's subject instead of a key.
	byToken := role == apikey.RoleAdmin && c.KeyID == "" && ValidUserID(c.Subject)
	if (c.KeyID == "" && !byToken) || (role == apikey.RoleClient && !ValidUserID(c.UserID)) {
		return Caller{}, fault.New(fault.Unauthenticated, fault.CodeUnauthenticated, "missing credentials")
	}
	return c, nil
}

// WrongRoleMessage is the FORBIDDEN message for a key whose role is not the
// route's: "this route needs an admin key", "this route needs a client key".
func WrongRoleMessage(role apikey.Role) string {
	article := "a"
	if role != "" && strings.ContainsRune("aeiouAEIOU", rune(role[0])) {
		article = "an"
	}
	return "this route needs " + article + " " + string(role) + " key"
}

// ValidUserID is the one rule for user ids (the session's subject):
// experiment.ValidUnitID.
func ValidUserID(id string) bool { return experiment.ValidUnitID(id) }

// HeaderDeviceID carries the device id an app names on client routes
// (lower case: API Gateway v2 and the local gateway lower header names).
// Experiments whose unit is device_id bucket by it; it is the app's own
// identifier for the browser or install, as in GrowthBook's and Amplitude's
// SDKs, so it is not authenticated: a caller can only name devices, never
// act as another user.
const HeaderDeviceID = "x-device-id"

// CodeInvalidDeviceID refuses a malformed X-Device-Id header.
const CodeInvalidDeviceID = "INVALID_DEVICE_ID"

// Identity is who a client call is about: the caller's user and the device
// named in X-Device-Id, if any.
func Identity(req Request, c Caller) (experiment.Identity, error) {
	id := experiment.Identity{UserID: c.UserID}
	d, ok := req.Headers[HeaderDeviceID]
	if !ok {
		return id, nil
	}
	if !experiment.ValidUnitID(d) {
		return experiment.Identity{}, fault.New(fault.Invalid, CodeInvalidDeviceID,
			"X-Device-Id must be 1-256 bytes of UTF-8 without control or format characters")
	}
	id.DeviceID = d
	return id, nil
}
