package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
	"github.com/abtest/abtest/shared/edge/auth"
	"github.com/abtest/abtest/shared/usecase/keys"
)

// localCreds are what a local run hands to people and scripts.
type localCreds struct {
	URL        string
	AdminKey   string
	ClientKey  string
	ServerKey  string
	AliceToken string
	BobToken   string
	// AdminToken is an admin's token (subject "local-admin", the admin role
	// claim): the classic Experiments API, and the admin routes without a key.
	AdminToken string
	Secret     string
	// Signing is the deployment's signing secret; ServerKeyID and
	// SigningToken sign requests with the server key (X-Ak, the token).
	Signing      string
	ServerKeyID  string
	SigningToken string
}

// loadOrIssueCredentials reuses the keys of the credentials file a
// previous run wrote when all are still in the table, unrevoked and of
// their role (a table kept with LOCAL_DB_PATH, or in a DynamoDB Local the
// user runs), and then also its session secret unless SESSION_* settings
// name one: tokens minted before keep working. Otherwise it creates an admin,
// a client and a server key (and uses the run's secret). Either way it mints fresh
// session tokens for two demo users when the service is the token issuer
// (HS256). reused reports which.
func loadOrIssueCredentials(ctx context.Context, st *store.Store, s settings) (c localCreds, reused bool, err error) {
	now := time.Now()
	c = localCreds{Secret: s.Session.HS256Secret, Signing: s.Session.SigningSecret}
	prev, err := readCredentials(s.Credentials)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return c, false, err
	default:
		if reused, err = keysStillWork(ctx, st, prev); err != nil {
			return c, false, err
		}
	}
	if reused {
		c.AdminKey, c.ClientKey, c.ServerKey = prev.AdminKey, prev.ClientKey, prev.ServerKey
		if s.SecretGenerated && prev.Secret != "" {
			c.Secret = prev.Secret
		}
		if s.SigningGenerated && prev.Signing != "" {
			c.Signing = prev.Signing
		}
	} else {
		if c.AdminKey, _, err = keys.Issue(ctx, st, "local admin", apikey.RoleAdmin, "make run", now); err != nil {
			return c, false, err
		}
		if c.ClientKey, _, err = keys.Issue(ctx, st, "local client", apikey.RoleClient, "make run", now); err != nil {
			return c, false, err
		}
		if c.ServerKey, _, err = keys.Issue(ctx, st, "local server", apikey.RoleServer, "make run", now); err != nil {
			return c, false, err
		}
	}
	if id, ok := apikey.ParseKeyID(c.ServerKey); ok && c.Signing != "" {
		c.ServerKeyID, c.SigningToken = id, apikey.SigningToken(c.Signing, id)
	}
	if c.Secret == "" {
		return c, reused, nil // tokens come from the configured identity provider
	}
	if c.AliceToken, err = auth.MintHS256(c.Secret, "alice", 24*time.Hour, now); err != nil {
		return c, false, err
	}
	if c.BobToken, err = auth.MintHS256(c.Secret, "bob", 24*time.Hour, now); err != nil {
		return c, false, err
	}
	claim, value := s.Session.AdminRoleClaim, s.Session.AdminRoleValue
	if claim == "" {
		claim = auth.DefaultAdminRoleClaim
	}
	if value == "" {
		value = auth.DefaultAdminRoleValue
	}
	c.AdminToken, err = auth.MintAdminHS256(c.Secret, LocalAdmin, claim, value, 24*time.Hour, now)
	return c, reused, err
}

// LocalAdmin is the subject of the admin token make run mints.
const LocalAdmin = "local-admin"

// keysStillWork reports whether c's admin, client and server keys are in the table,
// match their stored hashes, are not revoked and have their roles.
func keysStillWork(ctx context.Context, st *store.Store, c localCreds) (bool, error) {
	for _, k := range []struct {
		key  string
		role apikey.Role
	}{{c.AdminKey, apikey.RoleAdmin}, {c.ClientKey, apikey.RoleClient}, {c.ServerKey, apikey.RoleServer}} {
		id, ok := apikey.ParseKeyID(k.key)
		if !ok {
			return false, nil
		}
		stored, err := st.GetAPIKey(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("check the keys of the credentials file: %w", err)
		}
		if !apikey.Matches(k.key, stored.Hash) || stored.Revoked() || apikey.Role(stored.Role) != k.role {
			return false, nil
		}
	}
	return true, nil
}

// write saves the credentials as shell variables, readable only by the user.
func (c localCreds) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	body := fmt.Sprintf("# Written by make run: keys valid while the table keeps them (across runs with\n"+
		"# LOCAL_DB_PATH, which then reuses them and the secret), tokens for 24 h.\n"+
		"ABTEST_URL=%s\nABTEST_ADMIN_KEY=%s\nABTEST_CLIENT_KEY=%s\nABTEST_SERVER_KEY=%s\nABTEST_SESSION_ALICE=%s\nABTEST_SESSION_BOB=%s\nABTEST_ADMIN_TOKEN=%s\nSESSION_HS256_SECRET=%s\n"+
		"ABTEST_SERVER_KEY_ID=%s\nABTEST_SIGNING_TOKEN=%s\nSIGNING_SECRET=%s\n",
		c.URL, c.AdminKey, c.ClientKey, c.ServerKey, c.AliceToken, c.BobToken, c.AdminToken, c.Secret, c.ServerKeyID, c.SigningToken, c.Signing)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// readCredentials parses a file written by write.
func readCredentials(path string) (localCreds, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return localCreds{}, err
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = v
		}
	}
	return localCreds{
		URL: vars["ABTEST_URL"], AdminKey: vars["ABTEST_ADMIN_KEY"], ClientKey: vars["ABTEST_CLIENT_KEY"], ServerKey: vars["ABTEST_SERVER_KEY"],
		AliceToken: vars["ABTEST_SESSION_ALICE"], BobToken: vars["ABTEST_SESSION_BOB"], AdminToken: vars["ABTEST_ADMIN_TOKEN"], Secret: vars["SESSION_HS256_SECRET"],
		ServerKeyID: vars["ABTEST_SERVER_KEY_ID"], SigningToken: vars["ABTEST_SIGNING_TOKEN"], Signing: vars["SIGNING_SECRET"],
	}, nil
}
