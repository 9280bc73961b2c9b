package keys

import (
	"testing"

	"github.com/abtest/abtest/shared/data/store"
	"github.com/abtest/abtest/shared/domain/apikey"
)

// TestSigningToken: a server key's token is derived from its id under the
// deployment's secret; other roles, and a deployment without a secret, have
// none.
func TestSigningToken(t *testing.T) {
	s := New(nil, nil).WithSigning("deployment-secret")
	server := &store.APIKey{ID: "ABCDEFGHIJKLMNOP", Role: string(apikey.RoleServer)}
	if got, want := s.SigningToken(server), apikey.SigningToken("deployment-secret", server.ID); got != want || len(got) != 64 {
		t.Fatalf("server key token %q, want %q", got, want)
	}
	for _, role := range []apikey.Role{apikey.RoleClient, apikey.RoleAdmin} {
		if got := s.SigningToken(&store.APIKey{ID: server.ID, Role: string(role)}); got != "" {
			t.Errorf("%s key has a token %q", role, got)
		}
	}
	if got := New(nil, nil).SigningToken(server); got != "" {
		t.Errorf("no signing secret, token %q", got)
	}
}
