package auth

import (
	"context"
	"sync"
	"time"

	"github.com/abtest/abtest/shared/data/store"
)

// KeyCacheTTL is how long an authorizer instance reuses a key it read.
// A new session on a known key then costs no DynamoDB read: without it,
// every user's first request (a new token, so a miss in API Gateway's
// answer cache) reads the key, a third of a first assignment's calls.
// It adds nothing to the revocation delay API Gateway's answer cache
// already allows (60 s, infra's authorizerCacheSeconds), because it is
// shorter.
const KeyCacheTTL = 30 * time.Second

// keyCache keeps the keys an authorizer instance read, for KeyCacheTTL.
// Only keys found are kept (a revoked one too, so it stays refused
// without a read); unknown ids are read every time, so a key created a
// moment ago works at once.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey
	ttl  time.Duration
}

type cachedKey struct {
	key  store.APIKey
	read time.Time
}

// maxCachedKeys bounds the cache; a deployment has a handful of keys, so
// reaching it means ids are being made up, and the cache starts over.
const maxCachedKeys = 1024

// WithKeyCache returns a with its key cache kept for ttl (0: every call
// reads the key): the local gateway, whose answers are not cached unless
// asked, makes revocations immediate so.
func (a *Authorizer) WithKeyCache(ttl time.Duration) *Authorizer {
	c := *a
	c.cache = newKeyCache(ttl)
	return &c
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{keys: map[string]cachedKey{}, ttl: ttl}
}

// get returns the key with id, from memory when it was read less than
// the TTL ago.
func (c *keyCache) get(ctx context.Context, keys KeyStore, id string, now time.Time) (*store.APIKey, error) {
	c.mu.Lock()
	e, ok := c.keys[id]
	c.mu.Unlock()
	if ok && now.Sub(e.read) < c.ttl {
		k := e.key
		return &k, nil
	}
	key, err := keys.GetAPIKey(ctx, id)
	if err != nil {
		return nil, err
	}
	c.put(*key, now)
	return key, nil
}

// put remembers key as read at now.
func (c *keyCache) put(key store.APIKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= maxCachedKeys {
		clear(c.keys)
	}
	c.keys[key.ID] = cachedKey{key: key, read: now}
}

// touched records a last-used write, so the cached copy does not ask for
// another one within TouchInterval.
func (c *keyCache) touched(id string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys[id]; ok {
		e.key.LastUsedAt = at
		c.keys[id] = e
	}
}
