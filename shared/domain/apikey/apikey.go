// Package apikey is the domain of API keys: their roles, their format, and
// how a presented key is checked against the stored hash. Pure: issuing,
// storing and revoking keys is shared/usecase/keys.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Role is what a key's holder may do.
type Role string

const (
	// RoleClient acts for one end user of an app: the client API.
	RoleClient Role = "client"
	// RoleAdmin manages experiments and keys: the admin API.
	RoleAdmin Role = "admin"
	// RoleServer is an app's backend: it may act for any unit of the app
	// (server-side rendering, emails, jobs) on the server API, without a
	// session. It cannot manage anything.
	RoleServer Role = "server"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleClient || r == RoleAdmin || r == RoleServer }

// Key format: "abk_" + id (16 base32 characters, 80 bits, public: it names
// the key in listings and revocations) + "_" + secret (32 base64url
// characters, 192 bits). Only the SHA-256 of the whole key is stored; a plain
// hash suffices because the key is random, not a password.
const keyPrefix = "abk_"

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey returns a new random key, its id and its hash.
func NewKey() (key, id, hash string, err error) {
	var idBytes [10]byte
	var secret [24]byte
	if _, err := rand.Read(idBytes[:]); err != nil {
		return "", "", "", fmt.Errorf("new key: %w", err)
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", "", "", fmt.Errorf("new key: %w", err)
	}
	id = strings.ToLower(idEncoding.EncodeToString(idBytes[:]))
	key = keyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	return key, id, HashKey(key), nil
}

// ParseKeyID returns the id inside a key, or false if it is not a key of
// this service's shape.
func ParseKeyID(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || !ValidKeyID(id) || len(secret) != 32 {
		return "", false
	}
	return id, true
}

// ValidKeyID reports whether id has the shape of a key id.
func ValidKeyID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// HashKey is the stored form of a key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Matches reports whether key hashes to stored, in constant time.
func Matches(key, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(HashKey(key)), []byte(stored)) == 1
}
