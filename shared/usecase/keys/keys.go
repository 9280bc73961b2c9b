// Package keys is the use case of managing API keys: issue one (its secret is
// shown once and only its hash stored), list them, revoke one.
package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/domain/experiment"
	"github.com/abtest/abtest/shared/domain/fault"
)

// Codes of this use case.
const (
	CodeKeyNotFound = "API_KEY_NOT_FOUND"
	CodeFailed      = "ADMIN_FAILED"
)

// Creator stores new keys: all that issuing needs.
type Creator interface {
	CreateAPIKey(ctx context.Context, k *store.APIKey) error
}

// Store is what managing keys needs from the data layer.
type Store interface {
	Creator
	ListAPIKeys(ctx context.Context, limit int, cursor string) (store.Page[*store.APIKey], error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (*store.APIKey, error)
}

// Service manages API keys.
type Service struct {
	store   Store
	now     func() time.Time
	signing string // the deployment's signing secret ("": none)
}

// New returns the use case; now is the clock.
func New(st Store, now func() time.Time) *Service {
	return &Service{store: st, now: func() time.Time { return now().UTC() }}
}

// WithSigning returns a copy of s that derives server keys' signing tokens
// from the deployment's signing secret.
func (s *Service) WithSigning(secret string) *Service {
	c := *s
	c.signing = secret
	return &c
}

// SigningToken is k's signing token for signed requests (ABetterChoice's
// scheme): derived, never stored, so shown once, when the key is issued.
// "" for a key that is not a server key or without a signing secret.
func (s *Service) SigningToken(k *store.APIKey) string {
	if s.signing == "" || apikey.Role(k.Role) != apikey.RoleServer {
		return ""
	}
	return apikey.SigningToken(s.signing, k.ID)
}

// Issue creates a key named name with role, made by the admin key by.
func (s *Service) Issue(ctx context.Context, by, name string, role apikey.Role) (plain string, k *store.APIKey, err error) {
	if p := Problems(name, role); len(p) > 0 {
		return "", nil, fault.Validation(p)
	}
	return Issue(ctx, s.store, name, role, by, s.now())
}

// Problems checks a new key's name and role.
func Problems(name string, role apikey.Role) experiment.Problems {
	p := experiment.Problems{}
	if msg := experiment.NameProblem(name); msg != "" {
		p["name"] = msg
	}
	if !role.Valid() {
		p["role"] = "must be client, admin or server"
	}
	return p
}

// Issue creates and stores a key on st without the checks of the admin API:
// the operator's tools (cmd/apikey, the local stack) call it directly. The
// plaintext is returned once and never stored.
func Issue(ctx context.Context, st Creator, name string, role apikey.Role, by string, now time.Time) (string, *store.APIKey, error) {
	if !role.Valid() {
		return "", nil, fmt.Errorf("issue key: unknown role %q", role)
	}
	plain, id, hash, err := apikey.NewKey()
	if err != nil {
		return "", nil, err
	}
	k := &store.APIKey{ID: id, Name: name, Role: string(role), Hash: hash, CreatedAt: now.UTC(), CreatedBy: by}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return "", nil, fmt.Errorf("issue key: %w", err)
	}
	return plain, k, nil
}

// List returns one page of keys; limit is 1 to 100.
func (s *Service) List(ctx context.Context, limit int, cursor string) (store.Page[*store.APIKey], error) {
	page, err := s.store.ListAPIKeys(ctx, limit, cursor)
	if errors.Is(err, store.ErrBadCursor) {
		return page, fault.InvalidCursor()
	}
	return page, err
}

// Revoke revokes key id; it can never be used again.
func (s *Service) Revoke(ctx context.Context, id string) error {
	notFound := fault.New(fault.NotFound, CodeKeyNotFound, "no such API key")
	if !apikey.ValidKeyID(id) {
		return notFound
	}
	if _, err := s.store.RevokeAPIKey(ctx, id, s.now()); errors.Is(err, store.ErrNotFound) {
		return notFound
	} else if err != nil {
		return err
	}
	return nil
}
