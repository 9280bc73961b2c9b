package main

import (
	"context"
	"fmt"
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
	AliceToken string
	BobToken   string
	Secret     string
}

// issueCredentials creates an admin and a client key, and session tokens
// for two demo users when the service is the token issuer (HS256).
func issueCredentials(ctx context.Context, st *store.Store, s settings) (localCreds, error) {
	now := time.Now()
	c := localCreds{Secret: s.Session.HS256Secret}
	var err error
	if c.AdminKey, _, err = keys.Issue(ctx, st, "local admin", apikey.RoleAdmin, "make run", now); err != nil {
		return c, err
	}
	if c.ClientKey, _, err = keys.Issue(ctx, st, "local client", apikey.RoleClient, "make run", now); err != nil {
		return c, err
	}
	if c.Secret == "" {
		return c, nil // tokens come from the configured identity provider
	}
	if c.AliceToken, err = auth.MintHS256(c.Secret, "alice", 24*time.Hour, now); err != nil {
		return c, err
	}
	c.BobToken, err = auth.MintHS256(c.Secret, "bob", 24*time.Hour, now)
	return c, err
}

// write saves the credentials as shell variables, readable only by the user.
func (c localCreds) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	body := fmt.Sprintf("# Written by make run; valid while it runs (tokens for 24 h).\n"+
		"ABTEST_URL=%s\nABTEST_ADMIN_KEY=%s\nABTEST_CLIENT_KEY=%s\nABTEST_SESSION_ALICE=%s\nABTEST_SESSION_BOB=%s\nSESSION_HS256_SECRET=%s\n",
		c.URL, c.AdminKey, c.ClientKey, c.AliceToken, c.BobToken, c.Secret)
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
		URL: vars["ABTEST_URL"], AdminKey: vars["ABTEST_ADMIN_KEY"], ClientKey: vars["ABTEST_CLIENT_KEY"],
		AliceToken: vars["ABTEST_SESSION_ALICE"], BobToken: vars["ABTEST_SESSION_BOB"], Secret: vars["SESSION_HS256_SECRET"],
	}, nil
}
