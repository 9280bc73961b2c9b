package httpapi

import (
	"net/http"
	"unicode"
	"unicode/utf8"
)

// UserHeader carries the end user's id. It is the one place the id comes from
// until verified sessions land; only EndUser reads it, so replacing it with a
// verified identity changes no handler.
const UserHeader = "x-user-id"

// MaxUserIDLen bounds user ids (bytes): they are part of DynamoDB keys.
const MaxUserIDLen = 256

// EndUser returns the id of the end user a client call acts for.
func EndUser(req Request) (string, error) {
	id := header(req, UserHeader)
	if id == "" {
		return "", NewError(http.StatusUnauthorized, CodeUnauthenticated, "missing end-user identity ("+UserHeader+" header)")
	}
	if !ValidUserID(id) {
		return "", NewError(http.StatusUnauthorized, CodeUnauthenticated, "end-user id must be 1-256 bytes of printable UTF-8")
	}
	return id, nil
}

// ValidUserID reports whether id can be stored as a user id.
func ValidUserID(id string) bool {
	if id == "" || len(id) > MaxUserIDLen || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// header reads a header by its lower-case name: API Gateway v2 lower-cases
// header names and the local gateway does the same.
func header(req Request, name string) string {
	return req.Headers[name]
}

// AdminHeader names the admin making a change (recorded in the audit trail).
// Like UserHeader it is read only by Admin, so verified admin keys replace it
// without touching handlers.
const AdminHeader = "x-admin-id"

// Admin returns who is calling an admin route.
func Admin(req Request) (string, error) {
	id := header(req, AdminHeader)
	if id == "" || !ValidUserID(id) {
		return "", NewError(http.StatusUnauthorized, CodeUnauthenticated, "missing or malformed admin identity ("+AdminHeader+" header)")
	}
	return id, nil
}
