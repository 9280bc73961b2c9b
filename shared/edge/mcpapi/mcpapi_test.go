package mcpapi_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/abtest/abtest/shared/dynamolocal/dltest"
	"github.com/abtest/abtest/shared/edge/mcpapi/mcpapitest"
	"github.com/abtest/abtest/shared/edge/routes"
	"github.com/abtest/abtest/shared/edge/stacktest"
)

func TestMain(m *testing.M) { os.Exit(dltest.Main(m)) }

// withKey adds the API key header to every request, as an agent's MCP
// configuration does.
type withKey struct{ key string }

func (k withKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Api-Key", k.key)
	return http.DefaultTransport.RoundTrip(r)
}

func connect(ctx context.Context, st *stacktest.Stack, key string) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpapi-test", Version: "1"}, nil)
	return client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: st.URL + routes.MCP.Path, HTTPClient: &http.Client{Transport: withKey{key}, Timeout: 30 * time.Second},
	}, nil)
}

// TestStreamableHTTP drives the /mcp route (the function's handler behind
// the local gateway and the authorizer) with the SDK's own client.
func TestStreamableHTTP(t *testing.T) {
	st := stacktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := connect(ctx, st, st.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mcpapitest.Exercise(t, ctx, s, st, "mcp_http")
}

// TestRefusesOtherKeys: the route is the admin key's, like every admin route.
func TestRefusesOtherKeys(t *testing.T) {
	st := stacktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, key := range []string{st.ClientKey, "abk_nope_nope"} {
		if s, err := connect(ctx, st, key); err == nil {
			s.Close()
			t.Errorf("connected with key %q", key)
		}
	}
}
