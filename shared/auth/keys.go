// Package auth decides who is calling: API keys (client or admin role) and,
// for client calls, the end user's session token (a JWT from the app's own
// identity provider). The Lambda authorizer runs it on AWS; the local
// gateway runs the same code before each handler.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/abtest/abtest/shared/httpapi"
	"github.com/abtest/abtest/shared/store"
)

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

// hashMatches compares in constant time.
func hashMatches(key, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(HashKey(key)), []byte(stored)) == 1
}

// KeyCreator stores new keys.
type KeyCreator interface {
	CreateAPIKey(ctx context.Context, k *store.APIKey) error
}

// IssueKey creates and stores a key; the plaintext is returned once and
// never stored.
func IssueKey(ctx context.Context, st KeyCreator, name string, role httpapi.Role, by string, now time.Time) (string, *store.APIKey, error) {
	if role != httpapi.RoleClient && role != httpapi.RoleAdmin {
		return "", nil, fmt.Errorf("issue key: unknown role %q", role)
	}
	plain, id, hash, err := NewKey()
	if err != nil {
		return "", nil, err
	}
	k := &store.APIKey{ID: id, Name: name, Role: string(role), Hash: hash, CreatedAt: now.UTC(), CreatedBy: by}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", nil, fmt.Errorf("issue key: %w", err)
	}
	return plain, k, nil
}
